import { readFile, stat } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';

/** The addresses a hosts file gives each name, by family. */
interface HostsTable {
  readonly v4: Map<string, string[]>;
  readonly v6: Map<string, string[]>;
}

/** Where the daemon reads the hosts file: `STERNA_HOSTS_FILE` (tests), else `/etc/hosts`. */
export function hostsFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.STERNA_HOSTS_FILE || '/etc/hosts';
}

const nameKey = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** Parses hosts-file text: `address name [alias…]`, `#` to the end of a line is a comment. */
export function parseHosts(text: string): HostsTable {
  const table: HostsTable = { v4: new Map(), v6: new Map() };
  for (const raw of text.split('\n')) {
    const [address, ...names] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (!address || names.length === 0) continue;
    // A scoped IPv6 address (fe80::1%eth0) names an interface, not a destination.
    const family = isIPv4(address)
      ? table.v4
      : isIPv6(address) && !address.includes('%')
        ? table.v6
        : undefined;
    if (!family) continue;
    for (const name of names) {
      const key = nameKey(name);
      const list = family.get(key) ?? [];
      if (!list.includes(address)) list.push(address);
      family.set(key, list);
    }
  }
  return table;
}

/**
 * The machine's hosts file, consulted before DNS as KumoMTA's resolver does by default
 * (`use_hosts_file = 'Auto'`). Its modification time is checked at most once per `recheck`
 * (a burst of look-ups shares one check) and the file read again when it changed; a missing
 * file is an empty one.
 */
export class HostsFile {
  readonly #path: string;
  readonly #now: () => number;
  readonly #recheckMs: number;
  #table: HostsTable = { v4: new Map(), v6: new Map() };
  #version = '';
  #checked = Number.NEGATIVE_INFINITY;
  #checking: Promise<HostsTable> | undefined;

  /**
   * @param recheckMs how long a check of the file's modification time holds; new look-ups
   *   within it use the table as it was. @default 1000
   * @param now the clock (tests pass their own)
   */
  constructor(path: string = hostsFilePath(), recheckMs = 1000, now: () => number = Date.now) {
    this.#path = path;
    this.#recheckMs = recheckMs;
    this.#now = now;
  }

  /** The file's addresses of `name` in the family asked, or undefined when it names none. */
  async lookup(name: string, family: 4 | 6): Promise<string[] | undefined> {
    const table =
      this.#now() - this.#checked < this.#recheckMs ? this.#table : await this.#current();
    const found = (family === 4 ? table.v4 : table.v6).get(nameKey(name));
    return found && found.length > 0 ? [...found] : undefined;
  }

  #current(): Promise<HostsTable> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #check(): Promise<HostsTable> {
    const version = await stat(this.#path).then(
      (s) => `${s.mtimeMs}:${s.size}`,
      () => 'missing',
    );
    if (version !== this.#version) {
      const text = version === 'missing' ? '' : await readFile(this.#path, 'utf8').catch(() => '');
      this.#table = parseHosts(text);
      this.#version = version;
    }
    this.#checked = this.#now();
    return this.#table;
  }
}
