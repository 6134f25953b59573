import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PolicyRuntime } from '@sterna/lua';
import { describeProtocolDriver } from '@sterna/protocol-testkit';
import { afterAll } from 'vitest';
import { customLuaDriver } from '../src/index.js';

// One Lua runtime for the whole suite; each test gets its own delivery directory, named by the
// queue's domain, which the constructor receives.
let base: string | undefined;
let runtime: Promise<PolicyRuntime> | undefined;

async function shared(): Promise<{ base: string; runtime: PolicyRuntime }> {
  base ??= await mkdtemp(join(tmpdir(), 'sterna-lua-conformance-'));
  process.env.STERNA_LUA_CONFORMANCE_DIR = base;
  runtime ??= PolicyRuntime.start({
    policy: fileURLToPath(new URL('./fixtures/conformance.lua', import.meta.url)),
    poolSize: 1,
    spare: false,
  });
  return { base, runtime: await runtime };
}

afterAll(async () => {
  await (await runtime)?.close();
  if (base) await rm(base, { recursive: true, force: true });
});

describeProtocolDriver({
  driver: customLuaDriver,
  async setup() {
    const { base: root, runtime: policy } = await shared();
    const domain = `box-${randomUUID()}`;
    const dir = join(root, domain);
    await mkdir(dir);
    return {
      options: { custom_lua: { constructor: 'make.conformance' } },
      target: { queue: domain, domain },
      context: { policy },
      recipients: {
        accept: ['one@example.com', 'two@example.com'],
        transient: 'tempfail@example.com',
        permanent: 'permfail@example.com',
      },
      async delivered() {
        const names = (await readdir(dir)).filter((n) => n.endsWith('.eml'));
        return Promise.all(
          names.map(async (name) => ({
            data: await readFile(join(dir, name)),
            recipients: (await readFile(join(dir, name.replace(/\.eml$/, '.rcpt')), 'utf8')).split(
              '\n',
            ),
          })),
        );
      },
    };
  },
  invalidOptions: [
    { table: { custom_lua: {} }, path: 'protocol.custom_lua.constructor' },
    { table: { custom_lua: { constructor: 'init' } }, path: 'protocol.custom_lua.constructor' },
    {
      table: { custom_lua: { constructor: 'make.x', batch_size: 0 } },
      path: 'protocol.custom_lua.batch_size',
    },
    {
      table: { custom_lua: { constructor: 'make.x', max_batch_latency: 'soon' } },
      path: 'protocol.custom_lua.max_batch_latency',
    },
    {
      table: { custom_lua: { constructor: 'make.x', batch_size: 2, min_batch_size: 5 } },
      path: 'protocol.custom_lua.min_batch_size',
    },
    {
      table: { custom_lua: { constructor: 'make.x', colour: 'red' } },
      path: 'protocol.custom_lua',
    },
  ],
});
