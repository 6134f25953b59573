import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorText, silentLogger } from '@sterna/core';
import { PolicyRuntime } from '@sterna/lua';
import { PolicyServices } from '../../src/cluster/policy-services.js';

// A policy that runs the Lua chunks a test gives it (`CLIENTS` keeps what one chunk opens for
// the next), so each test reads as the policy code it exercises.
const POLICY = `
local kumo = require 'kumo'
CLIENTS = {}
kumo.on('run', function(code, ...) return assert(load(code))(...) end)
`;

/** A real policy runtime (worker threads) whose daemon calls the daemon's PolicyServices answer. */
export interface ChunkRuntime {
  readonly runtime: PolicyRuntime;
  readonly services: PolicyServices;
  /** Runs `code` as a Lua chunk in a context, with `args` as `...`; resolves with what it returns. */
  run(code: string, ...args: unknown[]): Promise<unknown>;
  /** Runs `code` and resolves with the text of the error it raised (rejects if it did not). */
  failure(code: string, ...args: unknown[]): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts {@link ChunkRuntime}: `contexts` Lua contexts (several show that every context reaches
 * the same daemon-side connection), each event bounded by `deadlineMs`.
 */
export async function startChunkRuntime(
  options: { contexts?: number; deadlineMs?: number } = {},
): Promise<ChunkRuntime> {
  const dir = await mkdtemp(join(tmpdir(), 'sterna-policy-chunks-'));
  await writeFile(join(dir, 'policy.lua'), POLICY);
  const services = new PolicyServices(silentLogger);
  const deadlineMs = options.deadlineMs ?? 60_000;
  const runtime = await PolicyRuntime.start({
    policy: join(dir, 'policy.lua'),
    poolSize: options.contexts ?? 1,
    spare: false,
    deadlineMs,
    host: { calls: services.calls },
  });
  const run = async (code: string, ...args: unknown[]) =>
    (await runtime.call('run', [code, ...args], { deadlineMs })).value;
  return {
    runtime,
    services,
    run,
    async failure(code, ...args) {
      try {
        await run(code, ...args);
      } catch (error) {
        return errorText(error);
      }
      throw new Error('the chunk did not raise');
    },
    async close() {
      await runtime.close();
      await services.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
