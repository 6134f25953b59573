import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, inMs, loadedContext, recordingHost } from '../../test/helpers.js';
import { envelopeAddress } from '../message/message-snapshot.js';
import { LuaContext, policyDirOf } from './lua-context.js';

describe('loading', () => {
  it('a syntax error names the file and line', async () => {
    const context = await LuaContext.create(recordingHost().host);
    const outcome = await context.load(fixture('syntax-error.lua'), inMs(2000));
    expect(outcome.status).toBe('error');
    expect(outcome.status === 'error' && outcome.message).toMatch(/syntax-error\.lua:2:/);
  });

  it('an error in a required file names that file and line', async () => {
    const path = fixture('split-bad/init.lua');
    const context = await LuaContext.create(recordingHost().host, { policyDir: policyDirOf(path) });
    const outcome = await context.load(path, inMs(2000));
    expect(outcome.status === 'error' && outcome.message).toMatch(/helper\.lua:3:/);
  });

  it('a second handler for a single event is refused with KumoMTA’s text', async () => {
    const context = await LuaContext.create(recordingHost().host);
    const outcome = await context.load(fixture('duplicate.lua'), inMs(2000));
    expect(outcome.status === 'error' && outcome.message).toMatch(
      /init event already has a handler defined at .*duplicate\.lua:1/,
    );
  });

  it('lists the events the policy handles', async () => {
    const context = await loadedContext('seed-webhook.lua');
    expect((await context.events()).sort()).toEqual(['get_queue_config', 'make.webhook']);
  });
});

describe('events', () => {
  it('calls multiple handlers in order; the first non-nil result wins', async () => {
    const context = await loadedContext('events.lua');
    const first = await context.call('get_queue_config', ['first.example'], inMs(1000));
    expect(first).toMatchObject({ status: 'ok', values: [{ retry_interval: '5m' }] });
    const second = await context.call('get_queue_config', ['second.example', 'acme'], inMs(1000));
    expect(second).toMatchObject({
      status: 'ok',
      values: [{ max_retry_interval: '2h', egress_pool: 'acme' }],
    });
    const none = await context.call('get_queue_config', ['other.example'], inMs(1000));
    expect(none).toMatchObject({ status: 'ok', values: [] });
  });

  it('keeps the code and text of kumo.reject', async () => {
    const context = await loadedContext('events.lua');
    expect(await context.call('later', [], inMs(1000))).toEqual({
      status: 'reject',
      code: 400,
      text: 'later',
    });
    const from = await context.call(
      'smtp_server_mail_from',
      [envelopeAddress('x@blocked.example'), {}],
      inMs(1000),
    );
    expect(from).toEqual({ status: 'reject', code: 550, text: '5.7.1 go away' });
    const allowed = await context.call(
      'smtp_server_mail_from',
      [envelopeAddress('Someone@Fine.Example'), {}],
      inMs(1000),
    );
    expect(allowed).toEqual({
      status: 'ok',
      values: ['Someone|Fine.Example|Someone@Fine.Example'],
      messages: [],
    });
  });

  it('kumo.disconnect is a rejection that asks for a disconnect', async () => {
    const context = await loadedContext('events.lua');
    expect(await context.call('hang_up', [], inMs(1000))).toEqual({
      status: 'reject',
      code: 421,
      text: '4.3.2 bye',
      disconnect: 'ForceDisconnect',
    });
    expect(await context.call('hang_up', ['If421'], inMs(1000))).toMatchObject({
      disconnect: 'If421',
    });
    const bad = await context.call('hang_up', ['Sometimes'], inMs(1000));
    expect(bad.status === 'error' && bad.message).toMatch(/kumo.disconnect: expected/);
  });

  it('reports plain errors with their text, and a table error without losing it', async () => {
    const context = await loadedContext('events.lua');
    const plain = await context.call('plain_error', [], inMs(1000));
    expect(plain.status === 'error' && plain.message).toMatch(/events\.lua:\d+: something broke/);
    const table = await context.call('table_error', [], inMs(1000));
    expect(table.status).toBe('error');
  });

  it('an event without handler reports none', async () => {
    const context = await loadedContext('events.lua');
    expect(await context.call('no_such_event', [], inMs(1000))).toEqual({ status: 'none' });
  });

  it('refuses kumo.on from inside an event handler', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call('register_late', [], inMs(1000));
    expect(outcome.status === 'error' && outcome.message).toMatch(/from inside an event handler/);
  });
});

describe('make_* validation', () => {
  it('an unknown key is an error naming the key', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call('bad_make', [], inMs(1000));
    expect(outcome.status === 'error' && outcome.message).toMatch(
      /make_queue_config: unknown field 'colour'/,
    );
  });

  it('a bad duration and a bad enum value are errors naming the field', async () => {
    const context = await loadedContext('events.lua');
    const duration = await context.call('bad_duration', [], inMs(1000));
    expect(duration.status === 'error' && duration.message).toMatch(/max_age: .*soon/);
    const path = await context.call('bad_path', [], inMs(1000));
    expect(path.status === 'error' && path.message).toMatch(/enable_tls/);
  });
});

describe('host bridges', () => {
  it('os.getenv reads the real environment', async () => {
    process.env.STERNA_LUA_TEST_GREETING = 'hello from env';
    const context = await loadedContext('split/init.lua');
    expect(await context.call('greeting', [], inMs(1000))).toMatchObject({
      values: ['hello from env'],
    });
  });

  it('require loads split policy files relative to the policy folder', async () => {
    const context = await loadedContext('split/init.lua');
    const slow = await context.call('get_queue_config', ['slow.example'], inMs(1000));
    expect(slow).toMatchObject({ values: [{ retry_interval: '1 hour', max_age: '2 days' }] });
    const path = await context.call('get_egress_path_config', ['gmail.com'], inMs(1000));
    expect(path).toMatchObject({ values: [{ connection_limit: 5, enable_tls: 'Required' }] });
    const data = await context.call('load_data', [], inMs(1000));
    expect(data).toMatchObject({ values: [{ answer: 42, list: ['a', 'b'] }] });
  });

  it('io.open reads and writes the real file system', async () => {
    const context = await loadedContext('split/init.lua');
    const read = await context.call('read_file', [fixture('split/data.lua')], inMs(1000));
    expect(read).toMatchObject({
      values: [{ first: "return { answer = 42, list = { 'a', 'b' } }" }],
    });
    const missing = await context.call('read_file', ['/nonexistent/file'], inMs(1000));
    expect(missing).toMatchObject({
      values: ['error: /nonexistent/file: No such file or directory'],
    });
    const dir = mkdtempSync(join(tmpdir(), 'sterna-lua-'));
    const target = join(dir, 'out.txt');
    const wrote = await context.call('write_file', [target, 'written by lua'], inMs(1000));
    expect(wrote).toMatchObject({ values: ['written by lua'] });
    expect(readFileSync(target, 'utf8')).toBe('written by lua\n');
  });

  it('print and kumo.log_* reach the host', async () => {
    const recorded = recordingHost();
    const context = await loadedContext('events.lua', recorded.host);
    await context.call('logs', [], inMs(1000));
    expect(recorded.printed).toEqual(['hello\t42\tnil']);
    expect(recorded.logged).toEqual([
      ['info', 'info line 1'],
      ['error', 'error line'],
    ]);
  });

  it('configuration calls reach the host validated, with defaults', async () => {
    const recorded = recordingHost();
    const context = await loadedContext('events.lua', recorded.host);
    expect((await context.call('init', [], inMs(1000))).status).toBe('ok');
    const kinds = recorded.configured.map(([kind]) => kind);
    expect(kinds).toEqual([
      'esmtp_listener',
      'http_listener',
      'spool',
      'local_logs',
      'dns_resolver',
    ]);
    expect(recorded.configured[0]![1]).toMatchObject({
      listen: '127.0.0.1:2525',
      relay_hosts: ['10.0.0.0/8'],
      banner: 'KumoMTA',
      max_message_size: 20 * 1024 * 1024,
      client_timeout: 60,
    });
    expect(recorded.configured[3]![1]).toMatchObject({ max_segment_duration: 10 });
    const bad = await context.call('bad_listener', [], inMs(1000));
    expect(bad.status === 'error' && bad.message).toMatch(
      /kumo.start_esmtp_listener: unknown field 'bogus'/,
    );
  });

  it('json, strings and uuid helpers', async () => {
    const context = await loadedContext('events.lua');
    const json = await context.call(
      'json',
      ['{ "a": [1, 2, {"b": null}], // comment\n "c": "x" }'],
      inMs(1000),
    );
    expect(json.status).toBe('ok');
    const values = json.status === 'ok' ? json.values : [];
    expect(JSON.parse(String(values[0]))).toEqual({ a: [1, 2, {}], c: 'x' });
    expect(values[1]).toBe('{\n  "a": 1\n}');
    const strings = await context.call('strings', [], inMs(1000));
    expect(strings).toMatchObject({
      values: [
        {
          split: ['a', 'b', '', 'c'],
          trim: 'x y',
          starts: true,
          ends: true,
          replace: 'a-b-c',
          splitn: ['a', 'b:c'],
        },
      ],
    });
    const uuid = await context.call('uuid', [], inMs(1000));
    if (uuid.status !== 'ok') throw new Error(JSON.stringify(uuid));
    expect(uuid.values[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4/);
    expect(uuid.values[1]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab]/);
    expect(uuid.values[2]).toBe(16);
    expect(uuid.values[3]).toBe(`{${uuid.values[1]}}`);
  });

  it('kumo.sleep awaits without blocking other calls', async () => {
    const context = await loadedContext('events.lua');
    const started = Date.now();
    const [slept, quick] = await Promise.all([
      context.call('sleepy', [0.2], inMs(2000)),
      context.call('later', [], inMs(2000)),
    ]);
    expect(slept).toMatchObject({ values: ['woke'] });
    expect(quick.status).toBe('reject');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });
});

describe('kumo.digest and kumo.encode', () => {
  it('match KumoMTA’s documented values', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call('digests', [], inMs(1000));
    expect(outcome).toMatchObject({
      status: 'ok',
      values: [
        {
          hex: 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d',
          text: 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d',
          base32: 'VL2MMHO4YXUKFWV63YHTWSBM3GXKSQ2N',
          base32hex: 'LBQCC7ESONKA5MLURO7JMI1CR6NAIGQD',
          base64: 'qvTGHdzF6KLavt4PO0gs2a6pQ00=',
          base64_nopad: 'qvTGHdzF6KLavt4PO0gs2a6pQ00',
          bytes_len: 20,
          hmac: '87fc1cec5c02f0991ae80f50e98eb2eb5213d07fc40417682a74448ac1deb07c',
          multi: true,
          b64: 'AP9oaQ==',
          round: true,
          b32: 'hello',
          hex_round: 'xyz',
        },
      ],
    });
    const values = outcome.status === 'ok' ? (outcome.values[0] as { bad: string }) : { bad: '' };
    expect(values.bad).toMatch(/base64_decode: invalid base64/);
  });
});

describe('kumo.cidr.make_map', () => {
  it('classifies addresses by block, most specific first', async () => {
    const context = await loadedContext('events.lua');
    const classify = async (ip: string) => {
      const outcome = await context.call('classify', [ip], inMs(1000));
      return outcome.status === 'ok' ? outcome.values[0] : outcome;
    };
    expect(await classify('127.0.0.1:2525')).toBe('loopback');
    expect(await classify('10.1.2.3')).toBe('lan');
    expect(await classify('10.9.8.7')).toEqual({ zone: 'office' });
    expect(await classify('192.0.2.1')).toBeUndefined();
  });
});

describe('kumo.secrets.load', () => {
  it('reads a key source: a file path or inline key_data', async () => {
    const context = await loadedContext('events.lua');
    const dir = mkdtempSync(join(tmpdir(), 'sterna-secret-'));
    writeFileSync(join(dir, 'token'), 's3cret');
    expect(await context.call('secret', [join(dir, 'token')], inMs(1000))).toMatchObject({
      values: ['s3cret'],
    });
    expect(await context.call('secret', [{ key_data: 'inline' }], inMs(1000))).toMatchObject({
      values: ['inline'],
    });
    const missing = await context.call('secret', [join(dir, 'nope')], inMs(1000));
    expect(missing.status === 'error' && missing.message).toMatch(/kumo.secrets.load: .*nope/);
  });
});

describe('kumo.string, KumoMTA’s documented examples', () => {
  it('wrap, rsplitn, replacen', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call('wrap', [], inMs(1000));
    expect(outcome).toMatchObject({
      status: 'ok',
      values: [
        'hello',
        `${'A'.repeat(100)}\r\n\t${'A'.repeat(100)}`,
        'hello there hello there hello there hello there hello there hello there\r\n\thello there hello there hello there hello there',
        '["lamb","little","Mary had a"]',
        'new new 123 foo',
      ],
    });
  });
});

describe('arguments Lua cannot hold', () => {
  it('fail the call and leave the context working', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call('later', [10n], inMs(1000));
    expect(outcome.status === 'error' && outcome.message).toMatch(
      /cannot pass the arguments to Lua/,
    );
    expect(context.broken).toBe(false);
    expect((await context.call('later', [], inMs(1000))).status).toBe('reject');
  });
});
