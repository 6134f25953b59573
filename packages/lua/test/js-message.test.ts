import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type MessageSnapshot,
  newConnectionMeta,
  newEnvelopeAddress,
  newPolicyMessage,
  PolicyRuntime,
} from '../src/index.js';
import { ESM_PRELUDE, FALLBACK, failure, tempPolicyDir } from './js-support.js';

const CRLF = '\r\n';
const RAW = [
  'From: "Sender, The" <s@sender.example>',
  'To: one@dest.example, Two <two@dest.example>',
  'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=',
  'X-Campaign-ID: spring',
  'X-Drop-Me: yes',
  'X-Schedule: {"first_attempt":"2030-01-01T00:00:00Z"}',
  '',
  'Body',
  '',
].join(CRLF);

function snapshot(id = '0123456789abcdef0123456789abcdef'): MessageSnapshot {
  return {
    id,
    sender: 'bounce@sender.example',
    recipients: ['alice@dest.example'],
    meta: { existing: 'yes', keep: 1 },
    data: new TextEncoder().encode(RAW),
    num_attempts: 2,
  };
}

// The same edits, once in Lua and once in TypeScript: what reaches the daemon must be the same.
const LUA = `
kumo.on('edit', function(msg)
  msg:set_meta('tenant', 'acme')
  msg:set_meta('x_obj', { a = 1, b = { 'x', 'y' } })
  msg:set_meta('existing', nil)
  msg:prepend_header('X-First', 'one')
  msg:append_header('X-Last', 'Grüße aus Köln', true)
  msg:remove_all_named_headers('X-Drop-Me')
  msg:import_x_headers({ 'x-campaign-id' })
  msg:set_sender('new@sender.example')
  msg:set_recipient({ 'a@r.example', 'b@r.example' })
  msg:set_due('2030-01-02T03:04:05Z')
  msg:set_scheduling({ first_attempt = '2030-01-01T00:00:00Z', expires = '2030-02-01T00:00:00Z' })
  msg:increment_num_attempts()
  local to = msg:to_header()
  return {
    queue = msg:queue_name(),
    subject = msg:get_first_named_header_value('Subject'),
    from = msg:from_header().email,
    from_name = msg:from_header().name,
    to_second = to.list[2].address,
    attempts = msg:num_attempts(),
    sender_domain = msg:sender().domain,
    recipients = #msg:recipient_list(),
    x_all = msg:get_all_named_header_values('x-first'),
    header_count = #msg:get_all_headers(),
    campaign = msg:get_meta('x_campaign_id'),
  }
end)
kumo.on('remove_x', function(msg) msg:remove_x_headers() msg:set_due(nil) end)
kumo.on('replace_data', function(msg) msg:set_data('Subject: new\\r\\n\\r\\nbody\\r\\n') end)
kumo.on('schedule_header', function(msg) return msg:import_scheduling_header('X-Schedule', true) end)
kumo.on('batch', function(list, one)
  list[2]:set_meta('second', true)
  one:set_meta('third', true)
end)
kumo.on('untouched', function(msg) return msg:get_meta('existing') end)
`;

const TS = `${ESM_PRELUDE}
import type { Message } from '@sterna/lua';

on('edit', (msg: Message) => {
  msg.setMeta('tenant', 'acme');
  msg.setMeta('x_obj', { a: 1, b: ['x', 'y'] });
  msg.setMeta('existing', undefined);
  msg.prependHeader('X-First', 'one');
  msg.appendHeader('X-Last', 'Grüße aus Köln', true);
  msg.removeAllNamedHeaders('X-Drop-Me');
  msg.importXHeaders(['x-campaign-id']);
  msg.setSender('new@sender.example');
  msg.setRecipient(['a@r.example', 'b@r.example']);
  msg.setDue('2030-01-02T03:04:05Z');
  msg.setScheduling({ first_attempt: '2030-01-01T00:00:00Z', expires: '2030-02-01T00:00:00Z' });
  msg.incrementNumAttempts();
  const to = msg.toHeader()!;
  return {
    queue: msg.queueName(),
    subject: msg.getFirstNamedHeaderValue('Subject'),
    from: msg.fromHeader()!.email,
    from_name: msg.fromHeader()!.name,
    to_second: to.list[1]!.address.email,
    attempts: msg.numAttempts(),
    sender_domain: msg.sender().domain,
    recipients: msg.recipientList().length,
    x_all: msg.getAllNamedHeaderValues('x-first'),
    header_count: msg.getAllHeaders().length,
    campaign: msg.getMeta('x_campaign_id'),
  };
});
on('remove_x', (msg: Message) => { msg.removeXHeaders(); msg.setDue(undefined); });
on('replace_data', (msg: Message) => { msg.setData('Subject: new\\r\\n\\r\\nbody\\r\\n'); });
on('schedule_header', (msg: Message) => msg.importSchedulingHeader('X-Schedule', true));
on('batch', (list: Message[], one: Message) => {
  list[1]!.setMeta('second', true);
  one.setMeta('third', true);
});
on('untouched', (msg: Message) => msg.getMeta('existing'));

let kept: Message | undefined;
on('keep', (msg: Message) => { kept = msg; });
on('use_kept', () => kept!.id());
on('bad_meta', (msg: Message) => msg.setMeta('x_fn', { f: () => 1 } as never));
on('bad_scheduling', (msg: Message) => msg.setScheduling({ dow: 'Mon' }));
`;

let lua: PolicyRuntime;
let ts: PolicyRuntime;
beforeAll(async () => {
  const dir = tempPolicyDir({ 'policy.lua': LUA, 'policy.mts': TS });
  const common = { poolSize: 1, spare: false, importFallback: FALLBACK } as const;
  [lua, ts] = await Promise.all([
    PolicyRuntime.start({ ...common, policy: join(dir, 'policy.lua') }),
    PolicyRuntime.start({ ...common, policy: join(dir, 'policy.mts') }),
  ]);
});
afterAll(async () => {
  await Promise.all([lua?.close(), ts?.close()]);
});

async function both(event: string, args: () => unknown[]) {
  const [fromLua, fromTs] = await Promise.all([lua.call(event, args()), ts.call(event, args())]);
  return { fromLua, fromTs };
}

describe('the message object of a TypeScript policy', () => {
  it('makes the changes the same Lua calls make: meta, headers, envelope, due, scheduling', async () => {
    const { fromLua, fromTs } = await both('edit', () => [snapshot()]);
    expect(fromTs.messages).toEqual(fromLua.messages);
    expect(fromTs.value).toEqual(fromLua.value);
    const changed = fromTs.messages[0]!;
    expect(changed).toMatchObject({
      sender: 'new@sender.example',
      recipients: ['a@r.example', 'b@r.example'],
      meta: { keep: 1, tenant: 'acme', x_obj: { a: 1, b: ['x', 'y'] }, x_campaign_id: 'spring' },
      queue: 'acme@r.example',
      num_attempts: 3,
      due: Date.parse('2030-01-02T03:04:05Z'),
      scheduling: { first_attempt: '2030-01-01T00:00:00Z', expires: '2030-02-01T00:00:00Z' },
    });
    const text = new TextDecoder().decode(changed.data);
    expect(text.startsWith(`X-First: one${CRLF}From:`)).toBe(true);
    expect(text).not.toContain('X-Drop-Me');
    expect(fromTs.value).toMatchObject({
      subject: 'Grüße',
      from: 's@sender.example',
      from_name: 'Sender, The',
      to_second: 'two@dest.example',
      campaign: 'spring',
    });
  });

  it('removes X- headers, replaces the data, imports a scheduling header, as Lua does', async () => {
    for (const event of ['remove_x', 'replace_data', 'schedule_header']) {
      const { fromLua, fromTs } = await both(event, () => [snapshot()]);
      expect(fromTs.messages, event).toEqual(fromLua.messages);
      expect(fromTs.value, event).toEqual(fromLua.value);
    }
  });

  it('reports messages in argument order with arrays flattened; an unchanged one as undefined', async () => {
    const args = () => [
      [snapshot('a'.repeat(32)), snapshot('b'.repeat(32))],
      snapshot('c'.repeat(32)),
    ];
    const { fromLua, fromTs } = await both('batch', args);
    expect(fromTs.messages).toEqual(fromLua.messages);
    expect(fromTs.messages.map((m) => m?.meta)).toEqual([
      undefined,
      { existing: 'yes', keep: 1, second: true },
      { existing: 'yes', keep: 1, third: true },
    ]);
    const untouched = await ts.call('untouched', [snapshot()]);
    expect(untouched).toMatchObject({ value: 'yes', messages: [undefined] });
  });

  it('invalidates a message once its call returned', async () => {
    await ts.call('keep', [snapshot()]);
    const error = await failure(ts.call('use_kept'));
    expect(error.message).toContain('this message object is no longer valid');
  });

  it('refuses meta that is not data and scheduling that does not validate, naming them', async () => {
    const meta = await failure(ts.call('bad_meta', [snapshot()]));
    expect(meta.message).toContain('setMeta x_fn: a function at f is not data');
    const scheduling = await failure(ts.call('bad_scheduling', [snapshot()]));
    expect(scheduling.message).toMatch(/set_scheduling.*dow, tz, start and end/);
  });
});

describe('the objects for @sterna/policy/testing', () => {
  it('newPolicyMessage tracks changes and gives the snapshot', () => {
    const made = newPolicyMessage(snapshot());
    expect(made.changed).toBe(false);
    expect(made.message.getMeta('existing')).toBe('yes');
    made.message.setMeta('x_obj', { a: 1 });
    const read = made.message.getMeta('x_obj') as { a: number };
    read.a = 2;
    expect(made.message.getMeta('x_obj')).toEqual({ a: 1 });
    expect(made.changed).toBe(true);
    expect(made.snapshot().meta).toEqual({ existing: 'yes', keep: 1, x_obj: { a: 1 } });
    made.message.setDue(new Date(Date.UTC(2031, 0, 1)));
    expect(made.snapshot().due).toBe(Date.UTC(2031, 0, 1));
    expect(() => made.message.setDue('soon')).toThrow(/setDue: "soon" is not an ISO 8601 time/);
    expect(made.message.getData()).toBe(RAW);
    expect(String(made.message)).toBe('Message(0123456789abcdef0123456789abcdef)');
  });

  it('newConnectionMeta and newEnvelopeAddress', () => {
    const conn = newConnectionMeta({ received_from: '10.0.0.1:1' });
    expect(conn.meta.getMeta('received_from')).toBe('10.0.0.1:1');
    expect(conn.changed).toBe(false);
    conn.meta.setMeta('x', 1);
    expect(conn.changed).toBe(true);
    expect(conn.values()).toEqual({ received_from: '10.0.0.1:1', x: 1 });
    const address = newEnvelopeAddress('first.last@sub.example.com');
    expect([address.user, address.domain, address.email, `${address}`]).toEqual([
      'first.last',
      'sub.example.com',
      'first.last@sub.example.com',
      'first.last@sub.example.com',
    ]);
    expect(newEnvelopeAddress('postmaster').domain).toBe('');
  });
});
