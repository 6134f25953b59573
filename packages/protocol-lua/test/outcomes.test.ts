import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Connection,
  createMessage,
  isDeliveryFailure,
  type Outcome,
  type Site,
} from '@sterna/core';
import { DriverRegistry } from '@sterna/core/engine';
import { PolicyRuntime } from '@sterna/lua';
import { testContext } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CustomLuaOptions, customLuaDriver } from '../src/index.js';

let runtime: PolicyRuntime;
let dir: string;
const registry = new DriverRegistry([customLuaDriver]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sterna-lua-outcomes-'));
  process.env.STERNA_LUA_CLOSE_FILE = join(dir, 'closed.txt');
  runtime = await PolicyRuntime.start({
    policy: fileURLToPath(new URL('./fixtures/outcomes.lua', import.meta.url)),
    poolSize: 1,
    methodDeadlineMs: 1500,
  });
});
afterAll(async () => {
  await runtime.close();
  await rm(dir, { recursive: true, force: true });
});

async function open(
  event = 'make.rows',
  domain = 'webhook',
): Promise<{ connection: Connection; site: Site }> {
  const ctx = testContext({ policy: runtime });
  const { options } = await registry.resolve<CustomLuaOptions>({
    custom_lua: { constructor: event },
  });
  const resolution = await customLuaDriver.site(options, { queue: domain, domain }, ctx);
  if ('failure' in resolution) throw new Error(resolution.failure.response.content);
  const connection = await customLuaDriver.connect(
    resolution.site,
    options,
    ctx,
    undefined as never,
  );
  if (isDeliveryFailure(connection)) throw new Error(connection.response.content);
  return { connection, site: resolution.site };
}

function send(connection: Connection, localPart: string): Promise<Outcome[]> {
  const message = createMessage({
    sender: 's@example.org',
    recipients: [`${localPart}@webhook`],
    data: 'Subject: x\r\n\r\nx\r\n',
  });
  return connection.send(message, { signal: new AbortController().signal });
}

describe('custom_lua outcomes (KumoMTA §3)', () => {
  it('a returned string is a Delivery with code 200 and that content', async () => {
    const { connection, site } = await open();
    expect(site).toMatchObject({ name: 'webhook', service: 'lua:make.rows' });
    const [outcome] = await send(connection, 'ok');
    expect(outcome).toEqual({
      recipient: 'ok@webhook',
      kind: 'delivered',
      response: { code: 200, enhanced_code: null, content: 'OK 1', command: null },
      peer: { name: 'Lua via make.rows', addr: '0.0.0.0' },
    });
    await connection.close();
  });

  it('reuses one constructed object for the session, and calls close once', async () => {
    const { connection } = await open('make.rows', 'reuse.example');
    const contents = [];
    for (let i = 0; i < 3; i++) contents.push((await send(connection, 'ok'))[0]!.response.content);
    expect(contents).toEqual(['OK 1', 'OK 2', 'OK 3']);
    await Promise.all([connection.close(), connection.close()]);
    expect(await readFile(process.env.STERNA_LUA_CLOSE_FILE!, 'utf8')).toContain(
      'reuse.example closed after 3\n',
    );
  });

  it('kumo.reject(4xx) is a TransientFailure with that code and text, the enhanced code not parsed', async () => {
    const { connection } = await open();
    const [outcome] = await send(connection, 'later');
    expect(outcome).toMatchObject({
      kind: 'transient',
      response: { code: 400, enhanced_code: null, content: 'later' },
    });
    expect(connection.isUsable?.()).toBe(true);
    await connection.close();
  });

  it('kumo.reject(421) is transient and ends the session', async () => {
    const { connection } = await open();
    const [outcome] = await send(connection, 'closing');
    expect(outcome).toMatchObject({
      kind: 'transient',
      response: { code: 421, content: '4.3.2 going away', enhanced_code: null },
    });
    expect(connection.isUsable?.()).toBe(false);
    await connection.close();
  });

  it('kumo.reject with any other code is a Bounce, even 2xx', async () => {
    const { connection } = await open();
    expect((await send(connection, 'never'))[0]).toMatchObject({
      kind: 'permanent',
      response: { code: 500, content: 'never' },
    });
    expect((await send(connection, 'odd'))[0]).toMatchObject({
      kind: 'permanent',
      response: { code: 250 },
    });
    await connection.close();
  });

  it('a Lua error or a non-string result is a transient 400 that ends the session', async () => {
    for (const [row, detail] of [
      ['boom', /^KumoMTA internal: error in deliver_message: sender:send method failed: .*boom/],
      [
        'nothing',
        /^KumoMTA internal: error in deliver_message: sender:send method failed: it returned nil, not a string$/,
      ],
    ] as const) {
      const { connection } = await open();
      const [outcome] = await send(connection, row);
      expect(outcome).toMatchObject({ kind: 'transient', response: { code: 400 }, peer: null });
      expect(outcome!.response.content).toMatch(detail);
      expect(connection.isUsable?.()).toBe(false);
      await connection.close();
    }
  });

  it('a send that never returns is stopped at the deadline, retried, and the runtime keeps working', async () => {
    const { connection } = await open();
    const [outcome] = await send(connection, 'forever');
    expect(outcome).toMatchObject({ kind: 'transient', response: { code: 400 } });
    expect(outcome!.response.content).toMatch(/send method failed: .*(deadline|timed out|within)/i);
    await connection.close();
    const fresh = await open();
    expect((await send(fresh.connection, 'ok'))[0]!.kind).toBe('delivered');
    await fresh.connection.close();
  });

  it('changes the policy makes to the message in send reach the engine', async () => {
    const { connection } = await open('make.rows', 'meta.example');
    const message = createMessage({
      sender: 's@example.org',
      recipients: ['ok@webhook'],
      data: 'Subject: x\r\n\r\nx\r\n',
    });
    await connection.send(message, { signal: new AbortController().signal });
    expect(message.getMeta('x_sent_by')).toBe('meta.example');
    await connection.close();
  });

  it('a constructor that fails, or a missing send, is a transient failure', async () => {
    const ctx = testContext({ policy: runtime });
    const { options } = await registry.resolve<CustomLuaOptions>({
      custom_lua: { constructor: 'make.broken' },
    });
    const resolution = await customLuaDriver.site(options, { queue: 'x', domain: 'x' }, ctx);
    if ('failure' in resolution) throw new Error('expected a site');
    const failure = await customLuaDriver.connect(
      resolution.site,
      options,
      ctx,
      undefined as never,
    );
    expect(isDeliveryFailure(failure) && failure.response.content).toMatch(
      /^KumoMTA internal: failed to connect to any candidate hosts: make\.broken: .*cannot build a connection for x/,
    );
    const { connection } = await open('make.nosend');
    expect((await send(connection, 'ok'))[0]!.response.content).toMatch(/no send method/);
    await connection.close();
  });

  it('names a constructor the policy does not bind', async () => {
    const ctx = testContext({ policy: runtime });
    const { options } = await registry.resolve<CustomLuaOptions>({
      custom_lua: { constructor: 'make.nowhere' },
    });
    const resolution = await customLuaDriver.site(options, { queue: 'x', domain: 'x' }, ctx);
    expect('failure' in resolution && resolution.failure.response.content).toContain(
      "no handler for the constructor event 'make.nowhere'",
    );
  });
});
