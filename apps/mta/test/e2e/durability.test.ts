import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, maildirMessages, sendMail, testMessage } from '../support/mail.js';
import { GATED_QUEUES, type PolicyDir, writePolicy } from '../support/policy.js';

const GATED = GATED_QUEUES;

let daemon: DaemonProcess | undefined;
let dir: PolicyDir | undefined;
afterEach(async () => {
  await daemon?.kill();
  daemon = undefined;
  await dir?.cleanup();
  dir = undefined;
});

describe('durability', { timeout: 90_000 }, () => {
  it('keeps every message acknowledged with 250 through kill -9', async () => {
    dir = await writePolicy(GATED);
    daemon = await startDaemon(dir.policy);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const reply = await sendMail(
        daemon.smtp,
        { from: 'a@example.org', to: [`user${i}@example.com`] },
        testMessage(`crash-${i}`),
      );
      ids.push(/ids=([0-9a-f]{32})/.exec(reply.response)![1]!);
    }
    await daemon.kill(); // no shutdown: the process dies right after the last 250
    daemon = undefined;
    await writeFile(`${dir.dir}/open`, 'yes');
    daemon = await startDaemon(dir.policy);
    const files = await eventually(async () => {
      const found = await maildirMessages(dir!.maildir);
      return found.length >= 5 ? found : undefined;
    });
    for (let i = 0; i < 5; i++)
      expect(files.some((f) => f.includes(`Subject: crash-${i}\r\n`))).toBe(true);
    await daemon.stop();
    daemon = undefined;
    const delivered = (await readLogRecords(dir.logs))
      .filter((r) => r.type === 'Delivery')
      .map((r) => r.id);
    expect(delivered.sort()).toEqual([...ids].sort());
  });

  it('with a deferred_spool listener, keeps a message through kill -9 once it has had to wait', async () => {
    dir = await writePolicy(GATED, '', 'deferred_spool = true');
    daemon = await startDaemon(dir.policy);
    expect(daemon.output()).not.toMatch(/deferred_spool/); // acted on, so not warned about
    const reply = await sendMail(
      daemon.smtp,
      { from: 'a@example.org', to: ['user@example.com'] },
      testMessage('deferred-crash'),
    );
    const id = /ids=([0-9a-f]{32})/.exec(reply.response)![1]!;
    // Its second attempt follows the write that its first failure made.
    await eventually(async () => {
      const failures = (await readLogRecords(dir!.logs)).filter(
        (r) => r.id === id && r.type === 'TransientFailure',
      );
      return failures.length >= 2 ? true : undefined;
    }, 30_000);
    await daemon.kill();
    daemon = undefined;
    await writeFile(`${dir.dir}/open`, 'yes');
    daemon = await startDaemon(dir.policy);
    const files = await eventually(async () => {
      const found = await maildirMessages(dir!.maildir);
      return found.length >= 1 ? found : undefined;
    });
    expect(files).toHaveLength(1);
    expect(files[0]).toContain('Subject: deferred-crash\r\n');
  });

  it('answers 4xx, never 250, when the spool cannot take a message, and loses nothing', async () => {
    dir = await writePolicy(GATED.replace("'/open'", "'/never'"));
    // min_free_space of 100% can never be met: every store is refused as a full disk.
    const policy = (await import('node:fs/promises')).readFile(dir.policy, 'utf8');
    await writeFile(
      dir.policy,
      (await policy).replace(
        "path = DIR .. '/spool/data' }",
        "path = DIR .. '/spool/data', min_free_space = '100%' }",
      ),
    );
    daemon = await startDaemon(dir.policy);
    await expect(
      sendMail(
        daemon.smtp,
        { from: 'a@example.org', to: ['user@example.com'] },
        testMessage('full'),
      ),
    ).rejects.toMatchObject({
      responseCode: expect.toSatisfy((code: number) => code >= 400 && code < 500),
    });
    await daemon.stop();
    daemon = undefined;
    const records = await readLogRecords(dir.logs);
    expect(records.map((r) => r.type)).toEqual(['Rejection']);
    expect(records[0]!.response.code).toBeGreaterThanOrEqual(400);
  });
});

describe('retries and hooks through the daemon', { timeout: 90_000 }, () => {
  it('retries on the schedule and logs Expiration when max_age would pass', async () => {
    dir = await writePolicy(`
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { retry_interval = '1s', max_age = '4s', protocol = { maildir_path = DIR .. '/blocker/md' } }
end)
`);
    await writeFile(`${dir.dir}/blocker`, 'a file where the maildir should be');
    daemon = await startDaemon(dir.policy);
    await sendMail(
      daemon.smtp,
      { from: 'a@example.org', to: ['user@example.com'] },
      testMessage('expire'),
    );
    // maildir's own retry-after (60 s) would outlive max_age=4s: the first failure expires it.
    await eventually(
      async () =>
        (await readLogRecords(dir!.logs)).some((r) => r.type === 'Expiration') ? true : undefined,
      30_000,
    );
    await daemon.stop();
    daemon = undefined;
    const records = await readLogRecords(dir.logs);
    expect(records.map((r) => r.type)).toEqual(['Reception', 'TransientFailure', 'Expiration']);
    expect(records[2]!.response).toMatchObject({
      code: 551,
      enhanced_code: { class: 5, subject: 4, detail: 7 },
    });
  });

  it('delivers log records through a log hook into a maildir', async () => {
    dir = await writePolicy(
      `
kumo.on('should_enqueue_log_record', function(msg, hook_name)
  local record = msg:get_meta('log_record')
  msg:set_meta('queue', 'hooked')
  return hook_name == 'archive' and record.type ~= nil
end)
kumo.on('get_queue_config', function(domain)
  if domain == 'hooked' then
    return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/hooked' } }
  end
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
end)
`,
      "kumo.configure_log_hook { name = 'archive' }",
    );
    daemon = await startDaemon(dir.policy);
    const reply = await sendMail(
      daemon.smtp,
      { from: 'a@example.org', to: ['user@example.com'] },
      testMessage('hooked'),
    );
    const id = /ids=([0-9a-f]{32})/.exec(reply.response)![1];
    const running = daemon;
    const hooked = await eventually(async () => {
      const found = await maildirMessages(`${dir!.dir}/hooked`);
      return found.length >= 2 ? found : undefined;
    }).catch(async (error: Error) => {
      const seen = await readLogRecords(dir!.logs);
      throw new Error(
        `${error.message}\n${running.output()}\n${JSON.stringify(seen.map((r) => [r.type, r.queue, r.reception_protocol, r.response.content]))}`,
      );
    });
    const records = hooked.map(
      (text) => JSON.parse(text.slice(text.indexOf('{'))) as { type: string; id: string },
    );
    expect(records.map((r) => [r.type, r.id]).sort()).toEqual([
      ['Delivery', id],
      ['Reception', id],
    ]);
    // The hooked messages' own records are not hooked again.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await maildirMessages(`${dir.dir}/hooked`)).toHaveLength(2);
  });
});
