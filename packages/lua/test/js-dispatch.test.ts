import { createMessage, isSternaError } from '@sterna/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  connectionMetaArg,
  envelopeAddress,
  isLuaRejection,
  type PolicyRuntime,
} from '../src/index.js';
import { ESM_PRELUDE, failure, startPolicy } from './js-support.js';

// One TypeScript policy (an ES module in a temp folder with no node_modules: '@sterna/lua' and
// '@sterna/core' come through the import fallback), run by the real pool in a worker thread.
const POLICY = `${ESM_PRELUDE}
import { domainOf } from '@sterna/core';

on('get_queue_config', (domain: string) =>
  domain === 'first.example' ? { retry_interval: 60 } : undefined);
on('get_queue_config', (domain: string) =>
  domain === 'none.example' ? null : { retry_interval: 120, site: domainOf('x@' + domain) });

on('smtp_server_mail_from', (sender: { domain: string; email: string; user: string },
    conn: { getMeta(k: string): unknown; setMeta(k: string, v: unknown): void }) => {
  if (sender.domain === 'spam.example') reject(550, '5.7.1 go away');
  if (sender.domain === 'bye.example') disconnect(421, 'closing', 'If421');
  if (sender.domain === 'quiet.example') return \`\${conn.getMeta('received_from')}\`;
  conn.setMeta('tagged', sender.domain);
  conn.setMeta('hostname', undefined);
  return \`\${sender.user}|\${sender.domain}|\${String(sender)}\`;
});

on('boom', () => { throw new Error('it broke'); });
on('boom_later', async () => { await null; throw new Error('it broke later'); });
on('refuse_later', async () => { await null; reject(451, '4.3.0 try later'); });
on('throw_text', () => { throw 'plain text'; });
on('sleep', async (ms: number) => { await new Promise((r) => setTimeout(r, ms)); return 'slept'; });
on('never', () => new Promise(() => {}));
on('a_function', () => () => 1);
on('depth', () => policyBridge().depth);
on('echo', (...args: unknown[]) => args);
on('stray_rejection', () => { Promise.reject(new Error('nobody listens')); return 'fine'; });
on('ask_host', async (name: string) => {
  policyBridge().host!.tell('print', [\`configuring \${name}\`]);
  await policyBridge().host!.ask('configure', ['spool', { name, path: '/tmp/' + name }]);
  try {
    await policyBridge().host!.ask('dns_lookup_mx', ['example.com']);
  } catch (error) {
    return 'configured; ' + (error as Error).message;
  }
});

class Connection {
  sent = 0;
  constructor(private readonly params: { name: string }) {}
  send(msg: { setMeta(k: string, v: unknown): void; id(): string }) {
    this.sent++;
    msg.setMeta('sent_by', this.params.name);
    return \`\${this.params.name} sent \${msg.id()} #\${this.sent}\`;
  }
  close() { return 'closed'; }
  get notAMethod() { return 1; }
}
on('make.conn', (params: { name: string }) => new Connection(params));
on('make.plain', () => ({ ping: () => 'pong', value: 3 }));
on('make.nothing', () => undefined);
`;

let runtime: PolicyRuntime;
const printed: string[] = [];
const configured: [string, unknown][] = [];
const logged: string[] = [];
beforeAll(async () => {
  ({ runtime } = await startPolicy('policy.mts', POLICY, {
    host: {
      print: (text) => printed.push(text),
      log: (level, text) => logged.push(`${level} ${text}`),
      configure: async (kind, params) => {
        configured.push([kind, params]);
      },
    },
  }));
});
afterAll(() => runtime?.close());

describe('a TypeScript policy in the pool', () => {
  it('lists its events', () => {
    expect(runtime.hasEvent('get_queue_config')).toBe(true);
    expect(runtime.hasEvent('make.conn')).toBe(true);
    expect(runtime.hasEvent('init')).toBe(false);
  });

  it('returns what a handler returns (a get_queue_config table)', async () => {
    const result = await runtime.call('get_queue_config', ['example.com', null, null, null]);
    expect(result).toEqual({
      value: { retry_interval: 120, site: 'example.com' },
      values: [{ retry_interval: 120, site: 'example.com' }],
      handled: true,
      messages: [],
    });
  });

  it('runs the handlers of a multiple event in order until one returns a value', async () => {
    expect((await runtime.call('get_queue_config', ['first.example'])).value).toEqual({
      retry_interval: 60,
    });
    const none = await runtime.call('get_queue_config', ['none.example']);
    expect(none).toMatchObject({ value: undefined, values: [], handled: true });
  });

  it('reports an event without a handler as not handled', async () => {
    expect(await runtime.call('smtp_server_rcpt_to', ['a@b'])).toEqual({
      value: undefined,
      values: [],
      handled: false,
      messages: [],
    });
  });

  it('passes envelope addresses and connection meta; a setMeta hands the whole meta back', async () => {
    const meta = { received_from: '10.0.0.1:25', hostname: 'mx.example' };
    const result = await runtime.call('smtp_server_mail_from', [
      envelopeAddress('someone@from.example'),
      connectionMetaArg(meta),
    ]);
    expect(result.value).toBe('someone|from.example|someone@from.example');
    expect(result.connMeta).toEqual({ received_from: '10.0.0.1:25', tagged: 'from.example' });
    expect(meta).toEqual({ received_from: '10.0.0.1:25', hostname: 'mx.example' });
    const quiet = await runtime.call('smtp_server_mail_from', [
      envelopeAddress('a@quiet.example'),
      connectionMetaArg(meta),
    ]);
    expect(quiet.value).toBe('10.0.0.1:25');
    expect(quiet.connMeta).toBeUndefined();
  });

  it('turns reject and disconnect into a LuaRejection, sync or async', async () => {
    const meta = connectionMetaArg({});
    const rejected = await failure(
      runtime.call('smtp_server_mail_from', [envelopeAddress('x@spam.example'), meta]),
    );
    expect(isLuaRejection(rejected)).toBe(true);
    expect(rejected).toMatchObject({ code: 550, text: '5.7.1 go away', disconnect: undefined });
    const closed = await failure(
      runtime.call('smtp_server_mail_from', [envelopeAddress('x@bye.example'), meta]),
    );
    expect(closed).toMatchObject({ code: 421, text: 'closing', disconnect: 'If421' });
    const later = await failure(runtime.call('refuse_later'));
    expect(later).toMatchObject({ code: 451, text: '4.3.0 try later' });
  });

  it('turns a thrown error into STERNA_LUA_ERROR with its message, the stack as cause', async () => {
    const error = await failure(runtime.call('boom'));
    expect(isSternaError(error)).toBe(true);
    expect(error.code).toBe('STERNA_LUA_ERROR');
    expect(error.message).toBe('boom: it broke');
    expect(String((error as { cause?: unknown }).cause)).toContain('policy.mts');
    expect((await failure(runtime.call('boom_later'))).message).toBe('boom_later: it broke later');
    expect((await failure(runtime.call('throw_text'))).message).toBe('throw_text: plain text');
  });

  it('fails a call whose value cannot leave the policy, naming the event; the worker lives', async () => {
    const error = await failure(runtime.call('a_function'));
    expect(error.code).toBe('STERNA_LUA_ERROR');
    expect(error.message).toMatch(/^a_function: a_function returned a value that cannot leave/);
    expect((await runtime.call('echo', [1])).value).toEqual([1]);
  });

  it('awaits async handlers and raises depth while they run', async () => {
    expect((await runtime.call('sleep', [5])).value).toBe('slept');
    expect((await runtime.call('depth')).value).toBe(1);
  });

  it('passes plain arguments through unchanged', async () => {
    const args = ['text', 3, true, null, { nested: [1, { a: 'b' }] }];
    expect((await runtime.call('echo', args)).value).toEqual(args);
  });

  it('stops waiting for a handler at its deadline (STERNA_LUA_TIMEOUT); the next call works', async () => {
    const never = await failure(runtime.call('never', [], { deadlineMs: 150 }));
    expect(never.code).toBe('STERNA_LUA_TIMEOUT');
    const slow = await failure(runtime.call('sleep', [60_000], { deadlineMs: 150 }));
    expect(slow.code).toBe('STERNA_LUA_TIMEOUT');
    expect((await runtime.call('sleep', [1])).value).toBe('slept');
  });

  it('logs a promise the policy dropped instead of ending the worker', async () => {
    expect((await runtime.call('stray_rejection')).value).toBe('fine');
    await vi.waitFor(
      () =>
        expect(logged.join('\n')).toMatch(
          /^error .*policy\.mts: unhandled promise rejection: nobody listens$/m,
        ),
      {
        timeout: 10_000,
      },
    );
    expect((await runtime.call('echo', [2])).value).toEqual([2]);
  });

  it('reaches the daemon through the bridge host: tell, ask, and an ask that fails', async () => {
    const result = await runtime.call('ask_host', ['data']);
    expect(result.value).toBe('configured; no DNS resolver was given to the policy runtime');
    expect(printed).toContain('configuring data');
    expect(configured).toEqual([['spool', { name: 'data', path: '/tmp/data' }]]);
  });

  it('keeps a constructed object; its methods get messages and their meta changes come back', async () => {
    const object = await runtime.construct('make.conn', [{ name: 'hook' }]);
    expect(object.has('send')).toBe(true);
    expect(object.has('close')).toBe(true);
    expect(object.has('notAMethod')).toBe(false);
    expect(object.has('constructor')).toBe(false);
    expect(object.has('toString')).toBe(false);
    const message = createMessage({
      sender: 's@x.example',
      recipients: ['r@y.example'],
      data: 'a\r\n',
    });
    expect(await object.call('send', [message])).toBe(`hook sent ${message.id} #1`);
    expect(message.getMeta('sent_by')).toBe('hook');
    expect(await object.call('send', [message])).toBe(`hook sent ${message.id} #2`);
    const missing = await failure(object.call('nope', []));
    expect(missing.code).toBe('STERNA_LUA_NO_HANDLER');
    await object.release();
    expect((await failure(object.call('close', []))).code).toBe('STERNA_LUA_CONTEXT_LOST');
  });

  it('keeps plain objects too, and refuses a constructor that returns nothing', async () => {
    const plain = await runtime.construct('make.plain', []);
    expect(await plain.call('ping', [])).toBe('pong');
    await plain.release();
    const error = await failure(runtime.construct('make.nothing', []));
    expect(error.message).toBe(
      'make.nothing: make.nothing returned nothing instead of a connection object',
    );
    expect((await failure(runtime.construct('make.unknown', []))).code).toBe(
      'STERNA_LUA_NO_HANDLER',
    );
  });

  it('reports JavaScript figures in stats: no Lua heap, no message left open', async () => {
    const [stats] = await runtime.stats({ collect: true });
    expect(stats).toMatchObject({ luaBytes: 0, wasmBytes: 0, stackTop: 0, messages: 0 });
    expect(stats!.jsHeapBytes).toBeGreaterThan(0);
  });
});
