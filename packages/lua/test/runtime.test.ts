import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessage, isSternaError } from '@sterna/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  envelopeAddress,
  isLuaRejection,
  LuaRejection,
  PolicyRuntime,
  parseQueueConfig,
  type RuntimeHost,
} from '../src/index.js';
import { fixture } from './helpers.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('the seed examples', () => {
  it('smarthost: mx_list for one domain, defaults otherwise', async () => {
    const runtime = await PolicyRuntime.start({
      policy: fixture('seed-smarthost.lua'),
      poolSize: 1,
      spare: false,
    });
    try {
      const hit = await runtime.call('get_queue_config', [
        'smarthost.example.com',
        null,
        null,
        null,
      ]);
      expect(hit.value).toEqual({
        protocol: {
          smtp: { mx_list: ['smart.host.local', { name: 'mx.example.com', addr: '10.0.0.1' }] },
        },
      });
      expect(parseQueueConfig(hit.value)).toMatchObject({ retry_interval: 1200, max_age: 604_800 });
      const other = await runtime.call('get_queue_config', ['other.example', null, null, null]);
      expect(parseQueueConfig(other.value).protocol).toEqual({ smtp: {} });
    } finally {
      await runtime.close();
    }
  });

  it('maildir: maildir_path for one domain', async () => {
    const runtime = await PolicyRuntime.start({
      policy: fixture('seed-maildir.lua'),
      poolSize: 1,
      spare: false,
    });
    try {
      const hit = await runtime.call('get_queue_config', ['maildir.example.com']);
      expect(hit.value).toEqual({ protocol: { maildir_path: '/var/tmp/kumo-maildir' } });
      expect(runtime.hasEvent('get_queue_config')).toBe(true);
      expect(runtime.hasEvent('init')).toBe(false);
    } finally {
      await runtime.close();
    }
  });

  it('webhook: custom_lua constructor whose send prints the message and returns OK', async () => {
    const printed: string[] = [];
    const runtime = await PolicyRuntime.start({
      policy: fixture('seed-webhook.lua'),
      poolSize: 1,
      spare: false,
      host: { print: (text) => printed.push(text) },
    });
    try {
      const config = await runtime.call('get_queue_config', ['webhook']);
      expect(config.value).toEqual({ protocol: { custom_lua: { constructor: 'make.webhook' } } });
      expect(runtime.hasEvent('make.webhook')).toBe(true);
      const connection = await runtime.construct('make.webhook', ['webhook', undefined, undefined]);
      expect(connection.has('send')).toBe(true);
      expect(connection.has('close')).toBe(false);
      const message = createMessage({
        sender: 's@example.com',
        recipients: ['r@webhook'],
        data: 'Subject: hi\r\n\r\nhello\r\n',
      });
      expect(await connection.call('send', [message])).toBe('OK');
      expect(printed).toEqual(['Subject: hi\r\n\r\nhello\r\n']);
      await connection.release();
      await connection.release();
    } finally {
      await runtime.close();
    }
  });
});

describe('a policy runtime', () => {
  let runtime: PolicyRuntime;
  const configured: [string, unknown][] = [];
  const host: RuntimeHost = {
    configure: (kind, params) => {
      configured.push([kind, params]);
    },
    print: () => {},
    log: () => {},
  };
  beforeAll(async () => {
    runtime = await PolicyRuntime.start({
      policy: fixture('events.lua'),
      poolSize: 2,
      spare: false,
      host,
    });
  });
  afterAll(() => runtime.close());

  it('kumo.reject(400, "later") reaches TypeScript as code 400 and text later', async () => {
    const error = await rejection(runtime.call('later'));
    expect(error).toBeInstanceOf(LuaRejection);
    expect(isLuaRejection(error) && [error.code, error.text]).toEqual([400, 'later']);
  });

  it('a plain Lua error is STERNA_LUA_ERROR with file and line', async () => {
    const error = await rejection(runtime.call('plain_error'));
    expect(isSternaError(error, 'STERNA_LUA_ERROR')).toBe(true);
    expect((error as Error).message).toMatch(/plain_error: .*events\.lua:\d+: something broke/);
  });

  it('an event without a handler is not handled', async () => {
    expect(await runtime.call('nobody_listens')).toEqual({
      value: undefined,
      values: [],
      handled: false,
      messages: [],
    });
  });

  it('an envelope address argument is an EnvelopeAddress in Lua', async () => {
    const { value } = await runtime.call('smtp_server_mail_from', [
      envelopeAddress('User@Example.COM'),
      { received_from: '127.0.0.1:1' },
    ]);
    expect(value).toBe('User|Example.COM|User@Example.COM');
  });

  it('init hands configuration calls to the host', async () => {
    await runtime.call('init');
    expect(configured.map(([kind]) => kind)).toEqual([
      'esmtp_listener',
      'http_listener',
      'spool',
      'local_logs',
      'dns_resolver',
    ]);
  });

  it('message snapshots come back changed', async () => {
    const data = new TextEncoder().encode('Subject: x\r\nX-Campaign-ID: c1\r\n\r\nbody\r\n');
    const result = await runtime.call('smtp_server_message_received', [
      { id: '0'.repeat(32), sender: 'a@b.example', recipients: ['c@d.example'], meta: {}, data },
      { received_from: '127.0.0.1:1' },
    ]);
    expect(result.messages[0]?.meta).toMatchObject({ tenant: 'acme', x_campaign_id: 'c1' });
  });

  it('kumo.http sends through fetch and awaits the response', async () => {
    let seen: IncomingMessage | undefined;
    const server = createServer((req, res) => {
      seen = req;
      res.writeHead(201, 'Made It', { 'content-type': 'text/plain' });
      res.end('created');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await runtime.call('http_get', [`http://127.0.0.1:${port}/hook`]);
      expect(result.value).toEqual({ code: 201, reason: 'Made It', ok: true, text: 'created' });
      expect(seen?.headers['x-test']).toBe('yes');
      expect(seen?.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    } finally {
      server.close();
    }
  });

  it('custom_lua objects: send, send_batch, reject, error, close, release', async () => {
    const connection = await runtime.construct('make.conn', ['dest.example', 'tenant', undefined]);
    expect(['send', 'send_batch', 'close', 'spin'].every((m) => connection.has(m))).toBe(true);
    const message = (rcpt: string) =>
      createMessage({ sender: 's@x.example', recipients: [rcpt], data: 'Subject: s\r\n\r\nb\r\n' });
    const first = message('ok@dest.example');
    expect(await connection.call('send', [first])).toBe('dest.example sent=1 to ok@dest.example');
    expect(first.getMeta('delivered_by')).toBe('conn');
    expect(await connection.call('send', [message('ok2@dest.example')])).toBe(
      'dest.example sent=2 to ok2@dest.example',
    );
    const rejected = await rejection(connection.call('send', [message('tempfail@dest.example')]));
    expect(isLuaRejection(rejected) && [rejected.code, rejected.text]).toEqual([400, 'try again']);
    const failed = await rejection(connection.call('send', [message('explode@dest.example')]));
    expect(isSternaError(failed, 'STERNA_LUA_ERROR')).toBe(true);
    expect(await connection.call('send_batch', [[message('a@x'), message('b@x')]])).toBe('a@x,b@x');
    const missing = await rejection(connection.call('nope', []));
    expect(isSternaError(missing, 'STERNA_LUA_NO_HANDLER')).toBe(true);
    await connection.call('close', []);
    await connection.release();
    const released = await rejection(connection.call('send', [first]));
    expect(isSternaError(released, 'STERNA_LUA_CONTEXT_LOST')).toBe(true);
  });

  it('os.getenv sees the environment as it is now; kumo.json_load reads real files', async () => {
    process.env.STERNA_LUA_LATE_VARIABLE = 'set after start';
    expect((await runtime.call('env', ['STERNA_LUA_LATE_VARIABLE'])).value).toBe('set after start');
    expect((await runtime.call('env', ['STERNA_LUA_SURELY_UNSET'])).value).toBeUndefined();
    const dir = mkdtempSync(join(tmpdir(), 'sterna-lua-json-'));
    writeFileSync(join(dir, 'data.json'), '{ "routes": ["a", "b"], # comment\n "n": 1 }');
    expect((await runtime.call('json_file', [join(dir, 'data.json')])).value).toEqual({
      routes: ['a', 'b'],
      n: 1,
    });
  });

  it('kumo.http posts a body', async () => {
    let body = '';
    const server = createServer((req, res) => {
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        res.writeHead(500, 'Nope');
        res.end(`got ${req.headers['content-type']}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await runtime.call('http_post', [`http://127.0.0.1:${port}/`, '{"x":1}']);
      expect(result.values).toEqual([500, 'got application/json']);
      expect(body).toBe('{"x":1}');
    } finally {
      server.close();
    }
  });

  it('functions and coroutines in a result are dropped; the worker survives', async () => {
    const { value } = await runtime.call('not_data');
    expect(value).toEqual({ ok: 1, list: [1, undefined, 3] });
    await expect(runtime.call('later')).rejects.toBeInstanceOf(LuaRejection);
  });

  it('a call awaiting a silent HTTP server times out; the context keeps serving', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const server = createServer(() => {
      // Never answers.
    });
    server.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const started = Date.now();
      const error = await rejection(
        runtime.call('http_get', [`http://127.0.0.1:${port}/`], { deadlineMs: 300 }),
      );
      expect(isSternaError(error, 'STERNA_LUA_TIMEOUT')).toBe(true);
      expect(Date.now() - started).toBeLessThan(1500);
      await expect(runtime.call('later')).rejects.toBeInstanceOf(LuaRejection);
      const [stats] = await runtime.stats();
      expect(stats?.stackTop).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  it('an unknown constructor is STERNA_LUA_NO_HANDLER', async () => {
    const error = await rejection(runtime.construct('make.nothing', []));
    expect(isSternaError(error, 'STERNA_LUA_NO_HANDLER')).toBe(true);
  });
});

describe('loading errors', () => {
  it('a syntax error stops startup with STERNA_LUA_LOAD naming file and line', async () => {
    const error = await rejection(
      PolicyRuntime.start({ policy: fixture('syntax-error.lua'), poolSize: 1, spare: false }),
    );
    expect(isSternaError(error, 'STERNA_LUA_LOAD')).toBe(true);
    expect((error as Error).message).toMatch(/syntax-error\.lua:2:/);
  });

  it('a closed runtime refuses calls', async () => {
    const runtime = await PolicyRuntime.start({
      policy: fixture('seed-maildir.lua'),
      poolSize: 1,
      spare: false,
    });
    await runtime.close();
    const error = await rejection(runtime.call('get_queue_config', ['x']));
    expect(isSternaError(error, 'STERNA_LUA_CLOSED')).toBe(true);
  });
});

describe('message data across the worker boundary', () => {
  it('unchanged data is the caller’s own bytes; changed data comes back', async () => {
    const runtime = await PolicyRuntime.start({
      policy: fixture('events.lua'),
      poolSize: 1,
      spare: false,
    });
    try {
      const data = new TextEncoder().encode('Subject: s\r\nReceived: x\r\n\r\nbody\r\n');
      const snapshot = { id: '1'.repeat(32), sender: 'a@b', recipients: ['c@d'], meta: {}, data };
      const metaOnly = await runtime.call('smtp_server_message_received', [
        { ...snapshot, data: new TextEncoder().encode('Subject: s\r\n\r\nbody\r\n') },
        {},
      ]);
      expect(new TextDecoder().decode(metaOnly.messages[0]!.data)).toMatch(
        /^X-Policy: checked\r\n/,
      );
      const rewritten = await runtime.call('rewrite', [snapshot]);
      expect(new TextDecoder().decode(rewritten.messages[0]!.data)).toBe(
        'Subject: s\r\n\r\nbody\r\nappended\r\n',
      );
      // A message that is a slice of a larger buffer crosses as its own bytes only.
      const big = new Uint8Array(1024 * 1024);
      big.set(data, 4096);
      const slice = { ...snapshot, data: big.subarray(4096, 4096 + data.length) };
      const sliced = await runtime.call('meta_only', [slice]);
      expect(new TextDecoder().decode(sliced.messages[0]!.data)).toBe(
        new TextDecoder().decode(data),
      );
      const untouched = await runtime.call('untouched', [snapshot]);
      expect(untouched.messages).toEqual([undefined]);
      const meta = await runtime.call('meta_only', [snapshot]);
      expect(meta.messages[0]?.meta).toEqual({ x_flag: true });
      expect(meta.messages[0]?.data).toBe(data);
      expect(Object.keys(meta.messages[0]!)).not.toContain('sameData');
    } finally {
      await runtime.close();
    }
  });
});

describe('a policy whose top level never finishes', () => {
  it('fails startup with STERNA_LUA_LOAD after the load deadline', async () => {
    // The deadline runs while the policy's top level runs (the fixture prints as it starts),
    // not while the thread starts and the VM compiles, which a busy machine makes slow.
    let loadingAt: number | undefined;
    const error = await rejection(
      PolicyRuntime.start({
        policy: fixture('hang-at-load.lua'),
        poolSize: 1,
        spare: false,
        loadDeadlineMs: 300,
        host: {
          print: () => {
            loadingAt ??= Date.now();
          },
        },
      }),
    );
    expect(isSternaError(error, 'STERNA_LUA_LOAD')).toBe(true);
    expect((error as Error).message).toMatch(/loading did not finish within 300 ms/);
    expect(loadingAt).toBeDefined();
    expect(Date.now() - loadingAt!).toBeLessThan(3000);
  });
});

describe('a pool of contexts', () => {
  it('keeps policy globals per context, as KumoMTA does', async () => {
    const runtime = await PolicyRuntime.start({
      policy: fixture('runaway.lua'),
      poolSize: 2,
      spare: false,
    });
    try {
      // Two calls in flight go to the two contexts: each has its own `counter`.
      const [a, b] = await Promise.all([runtime.call('count'), runtime.call('count')]);
      expect([a.value, b.value]).toEqual([1, 1]);
      const stats = await runtime.stats();
      expect(stats).toHaveLength(2);
    } finally {
      await runtime.close();
    }
  });
});
