import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LogRecord } from '@sterna/core/engine';
import { readLogRecords } from '../../src/logs/index.js';
import { runSterna } from '../support/daemon-process.js';
import { eventually } from '../support/mail.js';

const appDir = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `sterna <args> --endpoint <endpoint>` and expects exit 0; resolves with its output. */
export async function sterna(endpoint: string, ...args: string[]): Promise<string> {
  const { code, output } = await runSterna([...args, '--endpoint', endpoint]);
  if (code !== 0) throw new Error(`sterna ${args.join(' ')} exited ${code}:\n${output}`);
  return output;
}

/** Injects one message per recipient through the HTTP API; resolves when they are spooled. */
export async function inject(
  endpoint: string,
  recipients: string[],
  subject = 'cli test',
): Promise<void> {
  const response = await fetch(`${endpoint}/api/inject/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      envelope_sender: 'tests@example.org',
      content: `Subject: ${subject}\r\n\r\nhello\r\n`,
      recipients: recipients.map((email) => ({ email })),
    }),
  });
  const reply = (await response.json()) as { success_count: number };
  if (reply.success_count !== recipients.length)
    throw new Error(`inject: ${JSON.stringify(reply)}`);
}

/** Waits until the log directory holds records passing `pick`, at least `count` of them. */
export function recordsEventually(
  dir: string,
  pick: (record: LogRecord) => boolean,
  count: number,
  what: string,
): Promise<LogRecord[]> {
  return eventually(
    async () => {
      const found = (await readLogRecords(dir).catch(() => [])).filter(pick);
      return found.length >= count ? found : undefined;
    },
    60_000,
    what,
  );
}

/** Runs `sterna queue-summary` until its output satisfies `check` (queues settle asynchronously). */
export function summaryEventually(
  endpoint: string,
  check: (text: string) => boolean,
  what: string,
): Promise<string> {
  return eventually(
    async () => {
      const text = await sterna(endpoint, 'queue-summary');
      return check(text) ? text : undefined;
    },
    60_000,
    what,
  );
}

/** The count the scheduled-queue section of queue-summary shows for `queue`, if listed. */
export function scheduledCount(summary: string, queue: string): number | undefined {
  const section = summary.slice(summary.indexOf('SCHEDULED QUEUE'));
  const row = section.split('\n').find((line) => line.split(/\s+/)[0] === queue);
  return row === undefined ? undefined : Number(row.trim().split(/\s+/).at(-1));
}

/** A `sterna` process left running (a following `tail`), its output read as it comes. */
export interface RunningSterna {
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  kill(): void;
}

/** Starts `sterna <args>` from source, as runSterna does, without waiting for it to end. */
export function startSterna(args: string[]): RunningSterna {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@sterna/source', 'src/cli/main.ts', ...args],
    { cwd: appDir, env: { ...process.env, STERNA_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => resolve(code)),
  );
  return { stdout: () => out, stderr: () => err, exited, kill: () => child.kill('SIGKILL') };
}
