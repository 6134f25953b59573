import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { LogRecord } from '@sterna/core/engine';
import { type NatsService, startNats } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// Every log record, through a log hook, into a JetStream stream of a real nats-server: the hook's
// send returns only once the stream acknowledged the record, a failure (the server down) makes
// the record a transient failure retried later, and the record's Nats-Msg-Id (the hooked
// message's id, the same on every retry) lets the stream drop a re-send of one it had stored.
const POLICY = (server: string) => `
local log_hooks = require 'policy-extras.log_hooks'
-- The mail itself goes into a maildir; the hook's queue is configured by the helper.
kumo.on('get_queue_config', function(domain)
  if domain ~= 'dest.test' then return nil end
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
end)
log_hooks:new {
  name = 'nats',
  -- Retried every second or two while the server is away (a test's pace, not a production one).
  queue_config = { retry_interval = '1s', max_retry_interval = '2s' },
  constructor = function(domain, tenant, campaign)
    local client = kumo.nats.connect { servers = { '${server}' }, name = 'sterna-log-hook', request_timeout = 5 }
    local connection = {}
    function connection:send(message)
      local record = message:get_meta('log_record')
      client:publish {
        subject = 'sterna.log.' .. record.type,
        payload = message:get_data(),
        headers = { ['Nats-Msg-Id'] = message:id() },
        await_ack = true,
      }
      return 'stored in JetStream'
    end
    function connection:close() client:close() end
    return connection
  end,
}
`;

const HOOK_QUEUE = 'nats.log_hook';

describe('log records published to NATS JetStream through a log hook', { timeout: 180_000 }, () => {
  let nats: NatsService;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let dir: PolicyDir;
  let daemon: DaemonProcess | undefined;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.server, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'LOGS', subjects: ['sterna.log.>'] });
    dir = await writePolicy(POLICY(nats.server));
    daemon = await startDaemon(dir.policy);
  });
  afterAll(async () => {
    await daemon?.kill();
    await nc?.close();
    await nats?.close();
    await dir?.cleanup();
  });

  const inject = async (prefix: string, count: number) => {
    const response = await fetch(`${daemon!.http}/api/inject/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        envelope_sender: 'sender@example.org',
        content: 'Subject: hooked\r\n\r\nhello\r\n',
        recipients: Array.from({ length: count }, (_, i) => ({
          email: `${prefix}${i}@dest.test`,
        })),
      }),
    });
    expect(response.status).toBe(200);
  };

  // What the stream holds: each stored record as `<record id> <type>`, in order.
  const streamed = async (): Promise<string[]> => {
    const { messages, first_seq } = (await jsm.streams.info('LOGS')).state;
    const keys: string[] = [];
    for (let seq = first_seq; seq < first_seq + messages; seq++) {
      const stored = await jsm.streams.getMessage('LOGS', { seq });
      const record = stored!.json<LogRecord>();
      expect(stored!.subject).toBe(`sterna.log.${record.type}`);
      keys.push(`${record.id} ${record.type}`);
    }
    return keys;
  };
  const stored = async () => (await jsm.streams.info('LOGS')).state.messages;
  const records = async () => readLogRecords(dir.logs);
  // The mail's own records (not those of the hook's deliveries, which are not hooked).
  const mailRecords = (all: readonly LogRecord[], type: string) =>
    all.filter((r) => r.type === type && r.queue !== HOOK_QUEUE);

  it('each record of the mail arrives exactly once', async () => {
    await inject('first', 10);
    // Reception and Delivery for each of the ten messages.
    await eventually(async () => ((await stored()) >= 20 ? true : undefined), 60_000, '20 records');
    const keys = await streamed();
    expect(new Set(keys).size).toBe(keys.length);
    // The local log (written in one-second segments) holds the same records.
    const logged = await eventually(async () => {
      const all = await records();
      return mailRecords(all, 'Delivery').length >= 10 ? all : undefined;
    }, 30_000);
    for (const type of ['Reception', 'Delivery']) {
      const ids = mailRecords(logged, type).map((r) => `${r.id} ${type}`);
      expect(ids).toHaveLength(10);
      for (const id of ids) expect(keys).toContain(id);
    }
  });

  it('with nats-server down, records are retried; when it returns every one arrives once', async () => {
    const before = await stored();
    await nats.stop();
    try {
      await inject('second', 10);
      // The mail itself is delivered; its records wait in the hook's queue, retried.
      await eventually(
        async () => (mailRecords(await records(), 'Delivery').length >= 20 ? true : undefined),
        60_000,
        'the second batch delivered',
      );
      await eventually(
        async () =>
          (await records()).some((r) => r.queue === HOOK_QUEUE && r.type === 'TransientFailure')
            ? true
            : undefined,
        60_000,
        'a hooked record failing transiently while the server is down',
      );
    } finally {
      await nats.start();
    }
    // The test's own connection reconnects too: a question asked before it has is asked again.
    await eventually(
      async () => ((await stored().catch(() => 0)) >= before + 20 ? true : undefined),
      90_000,
      '40 records',
    );

    const keys = await streamed();
    expect(keys).toHaveLength(40);
    expect(new Set(keys).size).toBe(40);
    const logged = await records();
    for (const type of ['Reception', 'Delivery']) {
      const mail = mailRecords(logged, type);
      expect(mail).toHaveLength(20);
      for (const r of mail) expect(keys).toContain(`${r.id} ${type}`);
    }
    // A hooked record counts as delivered once, and only once the stream acknowledged it.
    const hookDeliveries = await eventually(async () => {
      const found = (await records()).filter(
        (r) => r.queue === HOOK_QUEUE && r.type === 'Delivery',
      );
      return found.length >= 40 ? found : undefined;
    }, 30_000);
    expect(hookDeliveries).toHaveLength(40);
    // The failures said why: NATS could not be reached.
    const failures = (await records()).filter(
      (r) => r.queue === HOOK_QUEUE && r.type === 'TransientFailure',
    );
    for (const failure of failures) expect(failure.response.content).toMatch(/nats/);
    // Settled: nothing more arrives later (no duplicate from a retry still in flight).
    await new Promise((r) => setTimeout(r, 3000));
    expect(await stored()).toBe(40);
  });
});
