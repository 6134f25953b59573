import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A server from Debian's packages, run by a test on loopback: started on a free port with its
 * data in a directory of its own, stopped (or killed, or restarted on the same port and data)
 * by the test.
 */
export interface LoopbackService {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The server's data directory (kept across {@link restart}, removed by {@link close}). */
  readonly dir: string;
  /** True while the server process runs. */
  readonly running: boolean;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s); its port and data stay for {@link start}. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data after {@link stop}. */
  start(): Promise<void>;
  /** Stops it and removes its data directory. */
  close(): Promise<void>;
  /** What the server printed (for a failing test's message). */
  output(): string;
}

/** How one kind of server is found, started and known to be ready. */
export interface ServiceRecipe {
  /** For messages: `redis-server`. */
  readonly name: string;
  /** The Debian package that provides it. */
  readonly debianPackage: string;
  /** The executable to run (absolute path or found on PATH). */
  readonly command: string;
  /** Its arguments for this port and data directory. */
  args(port: number, dir: string): string[];
  /** Extra environment (merged over the test's). */
  env?(port: number, dir: string): Record<string, string>;
  /** Prepares the data directory before the first start. */
  prepare?(port: number, dir: string): Promise<void>;
  /** Resolves once the server takes connections on `port`. */
  ready(port: number, output: () => string): Promise<void>;
  /** How long a start may take. @default 30_000 */
  readonly startMs?: number;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port was assigned');
  return address.port;
}

/** Resolves once a TCP connection to 127.0.0.1:`port` succeeds, or rejects after `ms`. */
export async function waitForPort(port: number, ms: number, output: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    if (Date.now() > deadline)
      throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Throws a clear message when the server's executable is not installed. */
export function requireInstalled(recipe: ServiceRecipe): void {
  if (recipe.command.startsWith('/') && !existsSync(recipe.command)) {
    throw new Error(
      `${recipe.name} is not installed (${recipe.command} is missing): install Debian's ` +
        `${recipe.debianPackage} package (the test command's tools/services/ensure-services.mjs does so when run as root)`,
    );
  }
}

/**
 * Starts a server from `recipe` on a free loopback port with a fresh data directory. A start
 * that loses the race for its port (another process took it between the choice and the bind)
 * is tried again on another port.
 */
export async function startService(recipe: ServiceRecipe): Promise<LoopbackService> {
  requireInstalled(recipe);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), `sterna-${recipe.name}-`));
    const port = await freePort();
    const service = new RunningService(recipe, port, dir);
    try {
      await recipe.prepare?.(port, dir);
      await service.start();
      return service;
    } catch (error) {
      lastError = error;
      await service.close();
    }
  }
  throw lastError;
}

class RunningService implements LoopbackService {
  readonly host = '127.0.0.1' as const;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #output = '';

  constructor(
    readonly recipe: ServiceRecipe,
    readonly port: number,
    readonly dir: string,
  ) {}

  get running(): boolean {
    return this.#child !== undefined;
  }

  output(): string {
    return this.#output.slice(-4000);
  }

  async start(): Promise<void> {
    if (this.#child) return;
    const { recipe, port, dir } = this;
    const child = spawn(recipe.command, recipe.args(port, dir), {
      env: { ...process.env, ...recipe.env?.(port, dir) },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that stop() reaches every process it starts.
      detached: true,
    });
    this.#child = child;
    const collect = (chunk: Buffer) => {
      this.#output = (this.#output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let failed: Error | undefined;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        failed = new Error(
          `${recipe.name} exited (${signal ?? `code ${code}`}) on 127.0.0.1:${port}\n${this.output()}`,
        );
        if (this.#child === child) this.#child = undefined;
        resolve();
      });
      child.once('error', (error) => {
        failed = new Error(`${recipe.name} could not start: ${error.message}`);
        if (this.#child === child) this.#child = undefined;
        resolve();
      });
    });
    const ms = recipe.startMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${recipe.name} was not ready after ${ms} ms\n${this.output()}`)),
        ms,
      );
    });
    const exited = this.#exited.then(() => {
      throw failed;
    });
    try {
      await Promise.race([recipe.ready(port, () => this.output()), exited, late]);
    } catch (error) {
      await this.stop();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child?.pid) return;
    const group = -child.pid;
    try {
      process.kill(group, 'SIGTERM');
    } catch {
      // Already gone.
    }
    const killer = setTimeout(() => {
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, 10_000);
    await this.#exited;
    clearTimeout(killer);
    // Helpers the server left in its group (Erlang's port programs) go too.
    try {
      process.kill(group, 'SIGKILL');
    } catch {
      // None left.
    }
  }

  async close(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
