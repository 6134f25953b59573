import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRuntime } from '../src/index.js';
import { fixture } from './helpers.js';

// Regression test for both wasmoon leaks of libraries.md: a stack slot per evaluated chunk
// (the engine dies after ~55) and a wasm table slot per run with a timeout. 100,000 calls
// with deadlines must leave the Lua heap, the wasm memory, the Lua stack and the worker's V8
// heap where they were.
const CALLS = 100_000;

describe('memory stays flat over 100,000 calls', () => {
  let runtime: PolicyRuntime;
  beforeAll(async () => {
    runtime = await PolicyRuntime.start({ policy: fixture('leak.lua'), poolSize: 1, spare: false });
  });
  afterAll(() => runtime.close());

  const data = new TextEncoder().encode('Subject: =?UTF-8?Q?h=C3=A9?=\r\n\r\nbody\r\n');
  const message = {
    id: '0'.repeat(32),
    sender: 'a@b.example',
    recipients: ['c@d.example'],
    meta: {},
    data,
  };

  async function run(count: number): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < count) {
        const k = next++;
        if (k % 20 === 0) await runtime.call('message', [message]);
        else if (k % 20 === 1) await runtime.call('later').catch(() => {});
        else
          await runtime.call('get_queue_config', [k % 2 ? 'smarthost.example.com' : 'x.example']);
      }
    };
    await Promise.all(Array.from({ length: 32 }, lane));
  }

  it('Lua heap, wasm memory, Lua stack and V8 heap', { timeout: 60_000 }, async () => {
    await run(5_000);
    const [before] = await runtime.stats({ collect: true });
    await run(CALLS);
    const [after] = await runtime.stats({ collect: true });
    expect(after!.stackTop).toBe(0);
    expect(after!.messages).toBe(0);
    expect(after!.wasmBytes).toBe(before!.wasmBytes);
    expect(Math.abs(after!.luaBytes - before!.luaBytes)).toBeLessThan(16 * 1024);
    // 40 bytes kept per call would be 4 MB.
    expect(after!.jsHeapBytes - before!.jsHeapBytes).toBeLessThan(4 * 1024 * 1024);
    // And the context still works.
    expect((await runtime.call('message', [message])).value).toBe('hé');
  });
});
