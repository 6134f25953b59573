import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const appDir = fileURLToPath(new URL('../..', import.meta.url));

/** A daemon started as its own process, from source, as an operator would run it. */
export interface DaemonProcess {
  readonly child: ChildProcess;
  /** `host:port` of the first SMTP listener. */
  readonly smtp: { host: string; port: number };
  /** `http://host:port` of the first HTTP listener, if any. */
  readonly http?: string | undefined;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then wait for exit. */
  kill(): Promise<void>;
}

/**
 * Starts `sterna --policy <file>` and waits for `initialization complete` (or failure). The wait
 * is bounded generously (2 minutes by default): starting compiles the sources and a Lua VM per
 * context, which took 20-30 s on a heavily loaded 2-core machine.
 */
export async function startDaemon(
  policy: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; args?: string[] } = {},
): Promise<DaemonProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@sterna/source',
      'src/cli/main.ts',
      '--policy',
      policy,
      ...(options.args ?? []),
    ],
    {
      cwd: appDir,
      env: { ...process.env, STERNA_LOG: 'warn', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );

  const timeoutMs = options.timeoutMs ?? 120_000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // not left running beside the tests that follow
      reject(new Error(`daemon did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const check = () => {
      if (out.includes('initialization complete')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before it was ready:\n${out}`));
    });
  });
  const smtpMatch = /smtp listener on (\S+):(\d+)/.exec(out);
  const httpMatch = /http listener on (\S+)/.exec(out);
  return {
    child,
    smtp: { host: smtpMatch?.[1] ?? '127.0.0.1', port: Number(smtpMatch?.[2] ?? 0) },
    http: httpMatch ? `http://${httpMatch[1]}` : undefined,
    output: () => out,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Runs `sterna` to completion (e.g. `--validate`); resolves with its exit code and output. */
export function runSterna(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=@sterna/source', 'src/cli/main.ts', ...args],
      {
        cwd: appDir,
        env: { ...process.env, STERNA_LOG: 'warn', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('close', (code) => resolve({ code, output: out }));
  });
}
