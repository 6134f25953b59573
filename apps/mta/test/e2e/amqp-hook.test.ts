import type { LogRecord } from '@sterna/core/engine';
import { type RabbitMqService, startRabbitMq } from '@sterna/protocol-testkit';
import { type ChannelModel, connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// Every log record, through a log hook, into a durable RabbitMQ queue: the hook's send returns
// only once the broker confirmed the record (publisher confirms), a failure (the broker down)
// makes the record a transient failure of the hook's own queue, retried until the broker is
// back. Beside it, kumo.amqp.basic_publish from an event (http_message_generated).
const POLICY = (url: string, port: number) => `
local log_hooks = require 'policy-extras.log_hooks'
kumo.on('http_message_generated', function(msg)
  kumo.amqp.basic_publish {
    routing_key = 'sterna-events',
    payload = msg:id(),
    connection = { host = '127.0.0.1', port = ${port}, username = 'guest', password = 'guest' },
    delivery_mode = 2,
  }
end)
log_hooks:new {
  name = 'amqp',
  -- Retried every second or two while the broker is away (a test's pace, not a production one).
  queue_config = { retry_interval = '1s', max_retry_interval = '2s' },
  constructor = function(domain, tenant, campaign)
    local client = kumo.amqp.build_client '${url}'
    local connection = {}
    function connection:send(message)
      local result = client:publish {
        routing_key = 'sterna-logs',
        payload = message:get_data(),
        properties = { delivery_mode = 2, content_type = 'application/json' },
      }:wait()
      if result.status == 'Ack' then return 'confirmed by RabbitMQ' end
      kumo.reject(400, 'RabbitMQ did not take the record: ' .. result.status)
    end
    function connection:close() client:close() end
    return connection
  end,
}
-- After the helper's own get_queue_config (the first handler to answer wins), so the hook's
-- queue is the helper's.
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
end)
`;

const HOOK_QUEUE = 'amqp.log_hook';

describe('log records published to RabbitMQ through a log hook', { timeout: 240_000 }, () => {
  let rabbit: RabbitMqService;
  let consumer: ChannelModel | undefined;
  let dir: PolicyDir;
  let daemon: DaemonProcess | undefined;
  // How often each record (`<id> <type>`) and each event message id arrived.
  const records = new Map<string, number>();
  const events = new Map<string, number>();

  const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  // A consumer of both queues; auto-acknowledged, so nothing it got is delivered to it again.
  const consume = async () => {
    const model = await connect(rabbit.url);
    model.on('error', () => {});
    const channel = await model.createChannel();
    channel.on('error', () => {});
    await channel.assertQueue('sterna-logs', { durable: true });
    await channel.assertQueue('sterna-events', { durable: true });
    await channel.consume(
      'sterna-logs',
      (message) => {
        if (!message) return;
        const record = JSON.parse(message.content.toString()) as LogRecord;
        count(records, `${record.id} ${record.type}`);
      },
      { noAck: true },
    );
    await channel.consume(
      'sterna-events',
      (message) => {
        if (message) count(events, message.content.toString());
      },
      { noAck: true },
    );
    return model;
  };
  const logged = () => readLogRecords(dir.logs);
  // The mail's own records (not those of the hook's deliveries, which are not hooked).
  const mailRecords = (all: readonly LogRecord[], type: string) =>
    all.filter((r) => r.type === type && r.queue !== HOOK_QUEUE);
  const total = (map: Map<string, number>) => [...map.values()].reduce((a, b) => a + b, 0);
  // A failed wait says what the daemon said and what its logs hold.
  const explain = async (error: Error): Promise<never> => {
    const seen = (await logged()).map((r) => `${r.type} ${r.queue} ${r.response.content}`);
    throw new Error(
      `${error.message}\nrecords: ${records.size}, events: ${events.size}\n${daemon?.output()}\n${seen.join('\n')}`,
    );
  };

  beforeAll(async () => {
    rabbit = await startRabbitMq();
    consumer = await consume();
    dir = await writePolicy(POLICY(rabbit.url, rabbit.port));
    daemon = await startDaemon(dir.policy);
  }, 200_000);
  afterAll(async () => {
    await daemon?.kill();
    await consumer?.close().catch(() => undefined);
    await rabbit?.close();
    await dir?.cleanup();
  });

  it('each record of the mail arrives exactly once; basic_publish from an event once per message', async () => {
    const response = await fetch(`${daemon!.http}/api/inject/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        envelope_sender: 'sender@example.org',
        content: 'Subject: hooked\r\n\r\nhello\r\n',
        recipients: Array.from({ length: 10 }, (_, i) => ({ email: `first${i}@dest.test` })),
      }),
    });
    expect(response.status).toBe(200);
    // Reception and Delivery for each of the ten messages.
    await eventually(() => (total(records) >= 20 ? true : undefined), 60_000, '20 records').catch(
      explain,
    );
    const all = await logged();
    for (const type of ['Reception', 'Delivery']) {
      const mail = mailRecords(all, type);
      expect(mail).toHaveLength(10);
      for (const r of mail) expect(records.get(`${r.id} ${type}`)).toBe(1);
    }
    // The event published each generated message's id before the message was queued.
    expect([...events.keys()].sort()).toEqual(
      mailRecords(all, 'Reception')
        .map((r) => r.id)
        .sort(),
    );
    expect([...events.values()].every((n) => n === 1)).toBe(true);
  });

  it('with RabbitMQ down, records are transient failures and retried; when it is back every one arrives once', async () => {
    await rabbit.stop();
    try {
      for (let i = 0; i < 5; i++) {
        await sendMail(
          daemon!.smtp,
          { from: 'sender@example.org', to: [`second${i}@dest.test`] },
          testMessage(`second ${i}`),
        );
      }
      // The mail itself is delivered; its records wait in the hook's queue, retried.
      await eventually(
        async () => (mailRecords(await logged(), 'Delivery').length >= 15 ? true : undefined),
        60_000,
        'the second batch delivered',
      );
      await eventually(
        async () =>
          (await logged()).some((r) => r.queue === HOOK_QUEUE && r.type === 'TransientFailure')
            ? true
            : undefined,
        60_000,
        'a hooked record failing transiently while the broker is down',
      ).catch(explain);
    } finally {
      await rabbit.start();
    }
    consumer = await consume();
    await eventually(() => (total(records) >= 30 ? true : undefined), 90_000, '30 records');

    const all = await logged();
    for (const type of ['Reception', 'Delivery']) {
      const mail = mailRecords(all, type);
      expect(mail).toHaveLength(15);
      for (const r of mail) expect(records.get(`${r.id} ${type}`)).toBe(1);
    }
    // Why the hooked records waited: the hook's sends could not reach the broker.
    const failures = all.filter((r) => r.queue === HOOK_QUEUE && r.type === 'TransientFailure');
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure.response.content).toMatch(
        /(amqp client:publish|kumo\.amqp\.build_client): (cannot connect to|connection to) amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+/,
      );
    }
    // A hooked record counts as delivered once, and only once the broker confirmed it.
    await eventually(
      async () =>
        (await logged()).filter((r) => r.queue === HOOK_QUEUE && r.type === 'Delivery').length ===
        30
          ? true
          : undefined,
      30_000,
      'one Delivery per hooked record',
    );
    // Settled: nothing more arrives later (no duplicate from a retry still in flight).
    await new Promise((r) => setTimeout(r, 3000));
    expect(total(records)).toBe(30);
    expect(records.size).toBe(30);
  });
});
