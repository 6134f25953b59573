import { readdir, readFile, readlink } from 'node:fs/promises';
import { type AddressInfo, createServer, connect as netConnect, type Socket } from 'node:net';
import { type PolicyDir, writePolicy } from '../support/policy.js';

/** A count or duration from the environment (for longer local runs), else the CI default. */
export function knob(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? Number.NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

/** Prints a suite's findings as one block, so a run's output reads as a report. */
export function report(suite: string, facts: Record<string, unknown>): void {
  const lines = Object.entries(facts).map(
    ([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`,
  );
  console.log(`[reliability:${suite}]\n${lines.join('\n')}`);
}

/** The resident set size of a process, in MiB, from /proc (undefined once it is gone). */
export async function rssMiB(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kb = status && /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : undefined;
}

/** How many sockets a process holds open (its /proc/<pid>/fd entries that are sockets). */
export async function socketCount(pid: number): Promise<number> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  let count = 0;
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (target.startsWith('socket:')) count++;
  }
  return count;
}

/** Samples a process's RSS and socket count every `everyMs` until stopped. */
export function sampler(pid: () => number | undefined, everyMs = 500) {
  const rss: number[] = [];
  const sockets: number[] = [];
  const timer = setInterval(() => {
    const p = pid();
    if (p === undefined) return;
    void rssMiB(p).then((v) => v !== undefined && rss.push(v));
    void socketCount(p).then((v) => sockets.push(v));
  }, everyMs);
  return {
    rss,
    sockets,
    stop: () => clearInterval(timer),
    maxRss: () => Math.max(0, ...rss),
    maxSockets: () => Math.max(0, ...sockets),
  };
}

/** A loopback TCP port that was free a moment ago (for a daemon that restarts on the same port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A raw SMTP client: writes exactly the bytes it is given and reads whole replies, so hostile
 * input reaches the server unaltered.
 */
export class RawSmtp {
  private buffer = '';
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Connects; does not read the greeting. */
  static async open(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<RawSmtp> {
    const socket = netConnect({ port, host });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connect timed out')), timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    return new RawSmtp(socket);
  }

  write(data: string | Buffer): Promise<void> {
    if (this.closed || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.write(data, () => resolve()));
  }

  /**
   * The next whole reply (`250-…` lines up to `250 …`), or `undefined` if the server closed
   * the connection or said nothing within `timeoutMs`.
   */
  async reply(timeoutMs = 10_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\r?\n/.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice(m[0].length);
        return m[0];
      }
      if (this.closed || Date.now() > deadline) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Writes one command line and returns the reply's code (0 when there was none). */
  async command(line: string | Buffer, timeoutMs = 10_000): Promise<number> {
    await this.write(typeof line === 'string' ? `${line}\r\n` : line);
    return codeOf(await this.reply(timeoutMs));
  }

  /** Waits (bounded) for the server to close the connection; true if it did. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The code of a reply, 0 for none. */
export function codeOf(reply: string | undefined): number {
  return reply ? Number(reply.slice(0, 3)) : 0;
}

/** Runs `tasks` with at most `limit` at a time. */
export async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

/** Sleeps. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A policy for load under failure: SMTP listener on `listenPort` (a fixed port, so a restarted
 * daemon is found where clients left it), every queue relayed to the sink at `sinkPort` with
 * short retries. writePolicy's listener names port 0 first; the later key wins in the Lua table.
 */
export function writeRelayPolicy(sinkPort: number, listenPort: number): Promise<PolicyDir> {
  return writePolicy(
    `
kumo.on('get_egress_path_config', function()
  return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled', connection_limit = 8 }
end)
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { retry_interval = '1s', max_retry_interval = '2s',
    protocol = { smtp = { mx_list = { '127.0.0.1:${sinkPort}' } } } }
end)
`,
    '',
    `max_messages_per_connection = 1000000, listen = '127.0.0.1:${listenPort}'`,
  );
}
