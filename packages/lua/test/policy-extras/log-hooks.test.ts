import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMs } from '../helpers.js';
import { dataPolicy, message } from './data-policy.js';

interface Posted {
  method: string;
  type: string | undefined;
  body: string;
}

// A real HTTP receiver on loopback; each request is answered with the next status in line.
async function receiver() {
  const posted: Posted[] = [];
  const statuses: number[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      posted.push({ method: req.method ?? '', type: req.headers['content-type'], body });
      res.statusCode = statuses.shift() ?? 200;
      res.end(res.statusCode === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/log`,
    posted,
    statuses,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const record = (id: string, type = 'Delivery') => ({ type, id, queue: 'example.com' });
const hooked = (r: Record<string, unknown>) =>
  message(`${JSON.stringify(r)}\n`, { log_record: r, reception_protocol: 'LogRecord' });

describe('policy-extras.log_hooks', () => {
  let http: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    http = await receiver();
  });
  afterAll(async () => {
    await http.close();
  });

  const jsonPolicy = (extra = '') =>
    dataPolicy(`
      local log_hooks = require 'policy-extras.log_hooks'
      log_hooks:new_json {
        name = 'webhook',
        url = '${http.url}',
        log_parameters = { headers = { 'Subject', 'X-Customer-ID' } },
        ${extra}
      }
      kumo.on('init', function() end)
    `);

  // The connection the constructor event returns, driven as the custom_lua driver drives it.
  async function connection(p: Awaited<ReturnType<typeof dataPolicy>>) {
    const made = await p.context.construct(
      'make.webhook.log_hook',
      ['webhook.log_hook', null, null],
      inMs(5000),
    );
    if (made.status !== 'ok') throw new Error(JSON.stringify(made));
    const id = made.values[0] as number;
    return (method: string, ...args: unknown[]) =>
      p.context.callMethod(id, method, args, inMs(5000));
  }

  it('configures the hook at pre_init and routes its records to <name>.log_hook', async () => {
    const p = await jsonPolicy();
    await p.run('pre_init');
    await p.run('init');
    expect(p.configured).toEqual([
      [
        'log_hook',
        expect.objectContaining({ name: 'webhook', headers: ['Subject', 'X-Customer-ID'] }),
      ],
    ]);
    const { values, messages } = await p.run(
      'should_enqueue_log_record',
      hooked(record('a')),
      'webhook',
    );
    expect(values[0]).toBe(true);
    expect(messages[0]!.meta.queue).toBe('webhook.log_hook');
    // A record of the hook's own deliveries is not hooked again; another hook's is not its call.
    const own = { ...record('b'), queue: 'webhook.log_hook' };
    expect(await p.call('should_enqueue_log_record', hooked(own), 'webhook')).toBe(false);
    expect(await p.call('should_enqueue_log_record', hooked(record('c')), 'other')).toBeUndefined();
  });

  it("gives the hook's queue custom_lua delivery with the documented retry defaults", async () => {
    const p = await jsonPolicy();
    expect(await p.call('get_queue_config', 'webhook.log_hook', null, null, null)).toEqual({
      retry_interval: '1m',
      max_retry_interval: '20m',
      protocol: { custom_lua: { constructor: 'make.webhook.log_hook' } },
    });
    expect(await p.call('get_queue_config', 'example.com', null, null, null)).toBeUndefined();
    const tuned = await jsonPolicy(
      "queue_config = { max_retry_interval = '1h', max_age = '2 days' },",
    );
    expect(
      await tuned.call('get_queue_config', 'webhook.log_hook', null, null, null),
    ).toMatchObject({
      retry_interval: '1m',
      max_retry_interval: '1h',
      max_age: '2 days',
    });
  });

  it('new_json POSTs each record as JSON to the url', async () => {
    const p = await jsonPolicy();
    const call = await connection(p);
    http.posted.length = 0;
    const sent = await call('send', hooked(record('one')));
    expect(sent).toMatchObject({ status: 'ok', values: ['200 OK: ok'] });
    expect(http.posted).toEqual([
      { method: 'POST', type: 'application/json', body: `${JSON.stringify(record('one'))}\n` },
    ]);
    // A server error is retried later (4xx rejection); any other refusal is final (5xx).
    http.statuses.push(503, 404);
    expect(await call('send', hooked(record('two')))).toMatchObject({
      status: 'reject',
      code: 400,
    });
    expect(await call('send', hooked(record('three')))).toMatchObject({
      status: 'reject',
      code: 500,
    });
    expect(await call('close')).toMatchObject({ status: 'ok' });
  });

  it('with batch_size > 1, posts the batch as one JSON array through send_batch', async () => {
    const p = await jsonPolicy("batch_size = 10, max_batch_latency = '1s',");
    expect(await p.call('get_queue_config', 'webhook.log_hook', null, null, null)).toMatchObject({
      protocol: {
        custom_lua: {
          constructor: 'make.webhook.log_hook',
          batch_size: 10,
          max_batch_latency: '1s',
        },
      },
    });
    const call = await connection(p);
    http.posted.length = 0;
    const sent = await call('send_batch', [hooked(record('x')), hooked(record('y', 'Bounce'))]);
    expect(sent).toMatchObject({ status: 'ok' });
    expect(http.posted).toHaveLength(1);
    expect(JSON.parse(http.posted[0]!.body)).toEqual([record('x'), record('y', 'Bounce')]);
  });

  it('new binds the given constructor as make.<name>.log_hook', async () => {
    const p = await dataPolicy(`
      local log_hooks = require 'policy-extras.log_hooks'
      log_hooks:new {
        name = 'amqp',
        constructor = function(domain, tenant, campaign)
          return { send = function(self, msg) return 'took ' .. domain end }
        end,
      }
    `);
    const made = await p.context.construct(
      'make.amqp.log_hook',
      ['amqp.log_hook', null, null],
      inMs(5000),
    );
    expect(made.status).toBe('ok');
    const id = (made as { values: unknown[] }).values[0] as number;
    expect(await p.context.callMethod(id, 'send', [hooked(record('z'))], inMs(5000))).toMatchObject(
      {
        values: ['took amqp.log_hook'],
      },
    );
  });

  it('an unknown option or a missing name is an error naming it', async () => {
    await expect(
      dataPolicy(
        `require('policy-extras.log_hooks'):new_json { name = 'w', url = 'http://x', batchsize = 5 }`,
      ),
    ).rejects.toThrow(/log_hooks:new_json: unknown option batchsize/);
    await expect(
      dataPolicy(`require('policy-extras.log_hooks'):new_json { url = 'http://x' }`),
    ).rejects.toThrow(/name is required/);
    await expect(
      dataPolicy(`require('policy-extras.log_hooks'):new { name = 'w', constructor = 'make.w' }`),
    ).rejects.toThrow(/constructor is required/);
  });
});
