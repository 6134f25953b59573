import { writeFile } from 'node:fs/promises';
import { LOG_RECORD_KEYS } from '@sterna/core/engine';
import { afterEach, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, runSterna, startDaemon } from '../support/daemon-process.js';
import { eventually, maildirMessages, sendMail, testMessage } from '../support/mail.js';
import { GATED_QUEUES, type PolicyDir, writePolicy } from '../support/policy.js';

const MAILDIR_QUEUES = `
kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if domain == 'maildir.example.com' then
    return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
  end
  return kumo.make_queue_config {}
end)
`;

let daemon: DaemonProcess | undefined;
let dir: PolicyDir | undefined;
afterEach(async () => {
  await daemon?.kill();
  daemon = undefined;
  await dir?.cleanup();
  dir = undefined;
});

describe('the daemon over SMTP', { timeout: 90_000 }, () => {
  it.each([
    ['in its own thread', true],
    ['on the main thread', false],
  ])(
    'takes a message over SMTP (listener %s) and delivers it into a maildir, logging every key',
    async (_, thread) => {
      dir = await writePolicy(MAILDIR_QUEUES);
      await writeFile(
        `${dir.dir}/sterna.config.json`,
        JSON.stringify({ smtp_listener_thread: thread }),
      );
      daemon = await startDaemon(dir.policy);
      expect(daemon.output()).toMatch(/smtp listener on 127\.0\.0\.1:\d+/);
      expect(daemon.output()).toMatch(/http listener on 127\.0\.0\.1:\d+/);

      const reply = await sendMail(
        daemon.smtp,
        { from: 'sender@example.org', to: ['user@maildir.example.com'] },
        testMessage('first'),
      );
      expect(reply.response).toMatch(/^250 OK ids=[0-9a-f]{32}$/);
      const [copy] = await eventually(async () => {
        const files = await maildirMessages(dir!.maildir);
        return files.length > 0 ? files : undefined;
      });
      expect(copy).toMatch(/^X-KumoRef: /);
      expect(copy).toContain('Received: from ');
      expect(copy).toContain('Subject: first\r\n');
      expect(copy).toContain('Hello from the Sterna tests.\r\n');

      expect(await daemon.stop()).toBe(0);
      daemon = undefined;
      const records = await readLogRecords(dir.logs);
      const types = records.map((r) => r.type).sort();
      expect(types).toEqual(['Delivery', 'Reception']);
      const delivery = records.find((r) => r.type === 'Delivery')!;
      expect(Object.keys(delivery).slice(0, LOG_RECORD_KEYS.length)).toEqual([...LOG_RECORD_KEYS]);
      expect(delivery).toMatchObject({
        recipient: 'user@maildir.example.com',
        queue: 'maildir.example.com',
        site: '',
        delivery_protocol: 'Maildir',
        reception_protocol: 'ESMTP',
        response: { code: 200, enhanced_code: null, command: null },
        headers: { Subject: 'first' },
      });
      expect(delivery.response.content).toMatch(
        /^user@maildir\.example\.com: wrote to maildir with id=/,
      );
    },
  );

  it('refuses to relay for a client outside relay_hosts, and logs the rejection', async () => {
    dir = await writePolicy(MAILDIR_QUEUES);
    daemon = await startDaemon(dir.policy);
    await expect(
      sendMail(
        daemon.smtp,
        { from: 'a@example.org', to: ['user@maildir.example.com'] },
        testMessage('relay'),
        { localAddress: '127.0.0.2' },
      ),
    ).rejects.toMatchObject({
      responseCode: 550,
      response: expect.stringMatching(/^550 5\.7\.1 relaying not permitted for 127\.0\.0\.2:\d+/),
    });
    await daemon.stop();
    daemon = undefined;
    const records = await readLogRecords(dir.logs);
    expect(records.map((r) => r.type)).toEqual(['Rejection']);
    expect(await maildirMessages(dir.maildir)).toEqual([]);
  });

  it('answers 552 for a message over max_message_size', async () => {
    dir = await writePolicy(MAILDIR_QUEUES, '', 'max_message_size = 10000');
    daemon = await startDaemon(dir.policy);
    await expect(
      sendMail(
        daemon.smtp,
        { from: 'a@example.org', to: ['user@maildir.example.com'] },
        testMessage('big', 'x'.repeat(76).concat('\r\n').repeat(200)),
      ),
    ).rejects.toMatchObject({ responseCode: 552 });
    const ok = await sendMail(
      daemon.smtp,
      { from: 'a@example.org', to: ['user@maildir.example.com'] },
      testMessage('small'),
    );
    expect(ok.response).toMatch(/^250 /);
  });

  it('keeps a queued message across SIGTERM and delivers it after restart', async () => {
    // The queue holds mail until DIR/open exists; the operator then fixes things and restarts.
    dir = await writePolicy(GATED_QUEUES);
    daemon = await startDaemon(dir.policy);
    const reply = await sendMail(
      daemon.smtp,
      { from: 'a@example.org', to: ['user@later.example.com'] },
      testMessage('later'),
    );
    const id = /ids=([0-9a-f]{32})/.exec(reply.response)![1];
    const first = daemon;
    expect(await first.stop(), first.output()).toBe(0);
    await writeFile(`${dir.dir}/open`, 'yes');
    daemon = await startDaemon(dir.policy, { env: { STERNA_LOG: 'debug' } });
    const second = daemon;
    const files = await eventually(async () => {
      const found = await maildirMessages(dir!.maildir);
      return found.length > 0 ? found : undefined;
    }, 60_000).catch(async (error: Error) => {
      const inspect = await fetch(`${second.http}/api/admin/inspect-message/v1?id=${id}`).then(
        (r) => r.text(),
      );
      throw new Error(
        `${error.message}\n${second.output()}\ninspect: ${inspect}\nnow: ${new Date().toISOString()}`,
      );
    });
    expect(files).toHaveLength(1);
    expect(files[0]).toContain('Subject: later');
    await daemon.stop();
    daemon = undefined;
    const records = await readLogRecords(dir.logs);
    const failure = records.find((r) => r.type === 'TransientFailure' && r.id === id)!;
    expect(failure.response.content).toContain("no loaded driver handles protocol 'closed_gate'");
    expect(records.filter((r) => r.type === 'Delivery').map((r) => r.id)).toEqual([id]);
  });

  it('validates a policy, and exits non-zero naming the file and line of a broken one', async () => {
    dir = await writePolicy(MAILDIR_QUEUES);
    const good = await runSterna(['--validate', '--policy', dir.policy]);
    expect(good.output).toContain(': OK');
    expect(good.code).toBe(0);
    const broken = `${dir.dir}/broken.lua`;
    await writeFile(
      broken,
      "local kumo = require 'kumo'\nkumo.on('init', function()\n  this is not lua\nend)\n",
    );
    const bad = await runSterna(['--policy', broken]);
    expect(bad.code).not.toBe(0);
    expect(bad.output).toMatch(/broken\.lua:3/);
  });
});
