import { promises as dns, type RecordWithTtl } from 'node:dns';
import type { DnsResolver, MxRecord } from '@sterna/core';
import type { ConfigParams } from '@sterna/lua';
import { HostsFile } from './hosts-file.js';
import { LookupCache, MX_TUNING_DEFAULTS, type MxTuning, Permits } from './lookup-cache.js';

const nameKey = (name: string) => name.toLowerCase().replace(/\.$/, '');
const codeOf = (error: unknown) => (error as { code?: unknown } | null)?.code;
// An address answer is kept at most a day, whatever TTL it came with.
const MAX_ADDRESS_TTL_MS = 86_400_000;

/**
 * A resolver whose target can change once `init` has run `kumo.dns.configure_resolver`. A and
 * AAAA look-ups read the hosts file first (KumoMTA's `use_hosts_file = 'Auto'`: a name the file
 * gives addresses of that family is answered from it, any other goes to DNS), so a policy
 * resolves its own `$HOSTNAME` in a container; MX look-ups always ask DNS, as KumoMTA's do.
 *
 * Look-ups are shared and kept (lookup-cache.ts): one query in flight per name, at most
 * `set_mx_concurrency_limit` MX queries at once, each MX look-up bounded by `set_mx_timeout`,
 * NXDOMAIN kept for `set_mx_negative_cache_ttl`, addresses kept for their DNS TTL. A positive
 * MX answer is not kept here (Node's resolver does not give its TTL): the queue that asked
 * keeps its site for its config's life.
 */
export class SwitchableResolver implements DnsResolver {
  #inner: dns.Resolver = new dns.Resolver();
  #hosts: HostsFile | undefined;
  #tuning: MxTuning = MX_TUNING_DEFAULTS;
  readonly #permits = new Permits(MX_TUNING_DEFAULTS.concurrencyLimit);
  readonly #mx: LookupCache<MxRecord[]>;
  readonly #addresses: LookupCache<RecordWithTtl[]>;

  /**
   * @param hosts the hosts file to consult first; `false`: DNS only. @default /etc/hosts
   * @param now the clock the caches' expiries read (tests). @default Date.now
   */
  constructor(hosts: HostsFile | false = new HostsFile(), now: () => number = Date.now) {
    this.#hosts = hosts || undefined;
    this.#mx = new LookupCache(now);
    this.#addresses = new LookupCache(now);
  }

  /** The MX look-up tuning in force. */
  get mxTuning(): MxTuning {
    return this.#tuning;
  }

  resolveMx(name: string): Promise<MxRecord[]> {
    return this.#mx.get(nameKey(name), () => this.#queryMx(name), {
      value: () => 0,
      error: (error) => (codeOf(error) === 'ENOTFOUND' ? this.#tuning.negativeCacheTtl * 1000 : 0),
    });
  }

  async resolve4(name: string): Promise<string[]> {
    return (await this.#hosts?.lookup(name, 4)) ?? this.#lookupAddresses(4, name);
  }

  async resolve6(name: string): Promise<string[]> {
    return (await this.#hosts?.lookup(name, 6)) ?? this.#lookupAddresses(6, name);
  }

  /** Points look-ups at the servers the policy named (`'ip:port'` or `{ socket_addr = … }`). */
  configure(params: ConfigParams['dns_resolver']): void {
    const servers = params.name_servers.map((entry) => {
      if (typeof entry === 'string') return entry;
      const addr = (entry as { socket_addr?: unknown }).socket_addr;
      if (typeof addr !== 'string')
        throw new Error(
          'kumo.dns.configure_resolver: name_servers entries are "ip:port" or { socket_addr = "ip:port" }',
        );
      return addr;
    });
    const resolver = new dns.Resolver({ timeout: 5000, tries: 2 });
    if (servers.length > 0) resolver.setServers(servers);
    this.#inner = resolver;
    this.#mx.clear();
    this.#addresses.clear();
    // resolver options { use_hosts_file = 'Always' | 'Auto' | 'Never' } (a boolean before 2025.05).
    const useHosts = (params.options as { use_hosts_file?: unknown }).use_hosts_file;
    if (useHosts === 'Never' || useHosts === false) this.#hosts = undefined;
  }

  /** The keys one `kumo.dns.set_mx_*` call set, as the policy runtime hands them over. */
  tuneFrom(params: ConfigParams['mx_resolver']): void {
    this.tune({
      ...(params.timeout !== undefined && { timeout: params.timeout }),
      ...(params.negative_cache_ttl !== undefined && {
        negativeCacheTtl: params.negative_cache_ttl,
      }),
      ...(params.concurrency_limit !== undefined && { concurrencyLimit: params.concurrency_limit }),
    });
  }

  /** `kumo.dns.set_mx_timeout`, `set_mx_negative_cache_ttl`, `set_mx_concurrency_limit`. */
  tune(tuning: Partial<MxTuning>): void {
    const next = { ...this.#tuning, ...tuning };
    this.#permits.resize(next.concurrencyLimit);
    this.#tuning = next;
  }

  // One MX query: waits for a permit, then asks DNS, the whole bounded by the MX timeout.
  async #queryMx(name: string): Promise<MxRecord[]> {
    const { timeout } = this.#tuning;
    const inner = this.#inner;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`MX lookup for ${name} timed out after ${timeout}s`);
        reject(Object.assign(error, { code: 'ETIMEOUT' }));
      }, timeout * 1000);
    });
    deadline.catch(() => {});
    try {
      const permit = this.#permits.wait();
      try {
        await Promise.race([permit.ready, deadline]);
      } catch (error) {
        // Timed out waiting: give the permit back if it came meanwhile.
        if (!this.#permits.abandon(permit.waiter)) this.#permits.release();
        throw error;
      }
      const query = inner.resolveMx(name).finally(() => this.#permits.release());
      query.catch(() => {});
      const records = await Promise.race([query, deadline]);
      // Drivers get `{ exchange, priority }` on every Node (Node 24 adds `type: 'MX'`).
      return records.map(({ exchange, priority }) => ({ exchange, priority }));
    } finally {
      clearTimeout(timer);
    }
  }

  async #lookupAddresses(family: 4 | 6, name: string): Promise<string[]> {
    const inner = this.#inner;
    const records = await this.#addresses.get(
      `${family} ${nameKey(name)}`,
      () =>
        family === 4 ? inner.resolve4(name, { ttl: true }) : inner.resolve6(name, { ttl: true }),
      {
        value: (answer) =>
          Math.min(MAX_ADDRESS_TTL_MS, Math.min(...answer.map((r) => r.ttl)) * 1000),
        error: () => 0,
      },
    );
    return records.map((r) => r.address);
  }
}
