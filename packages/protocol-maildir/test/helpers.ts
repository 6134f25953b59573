import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Connection,
  createMessage,
  type DriverContext,
  isDeliveryFailure,
  type MessageInit,
  type SendOptions,
  silentLogger,
  systemClock,
} from '@sterna/core';
import { DriverRegistry, egressPath } from '@sterna/core/engine';
import { type MaildirOptions, maildirDriver } from '../src/index.js';

/** A fresh directory under the system temp dir; `cleanup()` removes it. */
export async function tempRoot(): Promise<{ root: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'sterna-maildir-'));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** A driver context with no DNS (maildir never resolves names) and the given host name. */
export function context(hostname = 'sterna.test'): DriverContext {
  const noDns = () => Promise.reject(new Error('maildir tests make no DNS look-ups'));
  return {
    logger: silentLogger,
    clock: systemClock,
    signal: new AbortController().signal,
    resolver: { resolveMx: noDns, resolve4: noDns, resolve6: noDns },
    hostname,
  };
}

const registry = new DriverRegistry([maildirDriver]);

/** Validates a protocol table through core's registry and opens a connection with it. */
export async function connect(table: MaildirOptions, ctx = context()): Promise<Connection> {
  const { options } = await registry.resolve<MaildirOptions>(table);
  const resolution = await maildirDriver.site(
    options,
    { queue: 'example.com', domain: 'example.com' },
    ctx,
  );
  if (!('site' in resolution)) throw new Error('maildir site failed');
  const connection = await maildirDriver.connect(resolution.site, options, ctx, egressPath());
  if (isDeliveryFailure(connection)) throw new Error(connection.response.content);
  return connection;
}

/** A message as the listener would queue it: trace header first, CRLF line endings. */
export function message(init: Partial<MessageInit> & { recipients: string[] }) {
  return createMessage({
    sender: 'sender@origin.example',
    data:
      'Received: from client.example (127.0.0.1) by sterna.test; Sat, 1 Jan 2026 00:00:00 +0000\r\n' +
      'From: sender@origin.example\r\nSubject: test\r\n\r\nhello\r\n',
    ...init,
  });
}

export const sendOptions: SendOptions = { signal: new AbortController().signal };

/** The names in a directory, or [] when it does not exist. */
export async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** The file name an outcome's content reports (`… with id=<name>`). */
export function idOf(content: string): string {
  const m = /wrote to maildir with id=(.+)$/.exec(content);
  if (!m) throw new Error(`no id in ${content}`);
  return m[1]!;
}
