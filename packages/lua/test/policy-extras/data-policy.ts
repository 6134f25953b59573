import type { Resolver } from 'node:dns/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigKind } from '../../src/config/config-params.js';
import { LuaContext } from '../../src/context/lua-context.js';
import type { LogLevel } from '../../src/host/host-calls.js';
import type { MessageSnapshot } from '../../src/message/message-snapshot.js';
import { inProcessHost } from '../../src/pool/daemon-handlers.js';
import { inMs } from '../helpers.js';

/**
 * A policy written in a test, with its data files in a fresh folder (`{{dir}}` in the source
 * and the files is replaced by that folder), loaded into an in-process context (the real Lua
 * VM, no worker) whose host records what the policy logs and configures and answers DNS from
 * `resolver` when given.
 */
export async function dataPolicy(
  source: string,
  files: Record<string, string> = {},
  resolver?: Resolver,
) {
  const dir = mkdtempSync(join(tmpdir(), 'sterna-extras-'));
  const fill = (text: string) => text.replaceAll('{{dir}}', dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), fill(text));
  const path = join(dir, 'policy.lua');
  writeFileSync(path, fill(source));
  const logged: [LogLevel, string][] = [];
  const configured: [ConfigKind, unknown][] = [];
  const host = inProcessHost({
    print: () => {},
    log: (level, text) => logged.push([level, text]),
    configure: async (kind, params) => {
      configured.push([kind, params]);
    },
    ...(resolver ? { resolver } : {}),
  });
  const context = await LuaContext.create(host, { policyDir: dir, memoryMax: 64 * 1024 * 1024 });
  const loaded = await context.load(path, inMs(10_000));
  if (loaded.status !== 'ok') throw new Error(`policy failed to load: ${JSON.stringify(loaded)}`);

  /** An event's outcome: its values and the messages it was given, as the handler left them. */
  const run = async (event: string, ...args: unknown[]) => {
    const outcome = await context.call(event, args, inMs(10_000));
    if (outcome.status !== 'ok') throw new Error(`${event}: ${JSON.stringify(outcome)}`);
    return outcome;
  };
  const call = async (event: string, ...args: unknown[]) => (await run(event, ...args)).values[0];
  /** The text of the Lua error (or rejection) an event ends with; throws when it succeeds. */
  const fail = async (event: string, ...args: unknown[]): Promise<string> => {
    const outcome = await context.call(event, args, inMs(10_000));
    if (outcome.status === 'ok') throw new Error(`${event} did not fail`);
    return JSON.stringify(outcome);
  };
  return { context, dir, run, call, fail, logged, configured };
}

/** A message as events receive it. */
export function message(data: string, meta: Record<string, unknown> = {}): MessageSnapshot {
  return {
    id: '0'.repeat(32),
    sender: 'sender@example.com',
    recipients: ['rcpt@example.net'],
    meta: meta as MessageSnapshot['meta'],
    data: new TextEncoder().encode(data),
  };
}
