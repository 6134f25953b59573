import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogRecord } from '@sterna/core/engine';
import { type SmtpSink, startSmtpSink } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, runSterna, startDaemon } from '../support/daemon-process.js';
import { eventually, sendMail } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// Delivery to the sink; the reception handler asks the classifier (both argument forms) and
// keeps the answers in meta, which the Reception record carries.
const POLICY = (port: number) => `
kumo.on('get_egress_path_config', function()
  return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled' }
end)
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config {
    retry_interval = '1h',
    protocol = { smtp = { mx_list = { '127.0.0.1:${port}' } } },
  }
end)
kumo.on('smtp_server_message_received', function(msg)
  msg:set_meta('x_text', kumo.classify_bounce('550 5.1.1 <bob@example.com>: User unknown'))
  msg:set_meta('x_table', kumo.classify_bounce {
    code = 552, enhanced_code = { class = 5, subject = 2, detail = 2 }, content = 'Mailbox full',
  })
  msg:set_meta('x_none', kumo.classify_bounce('250 2.0.0 OK'))
end)
`;

const INIT = `kumo.configure_bounce_classifier {
  files = { DIR .. '/mine.toml', 'sterna:bounce-rules.toml' },
}`;

// The operator's own file comes first and wins over the starter rules.
const MINE = `[rules]
OurOwnLabel = ["(?i)^550 5\\\\.7\\\\.1 .*\\\\bcustom-block\\\\b"]
`;

// Replies real providers give, by recipient local part.
const REPLIES: Record<string, { code: number; message: string }> = {
  unknown: {
    code: 550,
    message: '5.1.1 <unknown@bounce.test>: Recipient address rejected: User unknown',
  },
  full: { code: 552, message: '5.2.2 The email account that you tried to reach is over quota.' },
  slow: {
    code: 450,
    message: '4.2.1 The user you are trying to contact is receiving mail too quickly.',
  },
  blocked: {
    code: 554,
    message: '5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org',
  },
  mine: { code: 550, message: '5.7.1 rejected by custom-block rule 7' },
  odd: { code: 554, message: 'transaction failed' },
};

describe('bounce classification in the daemon', { timeout: 240_000 }, () => {
  let dir: PolicyDir;
  let sink: SmtpSink;
  let daemon: DaemonProcess | undefined;

  beforeAll(async () => {
    sink = await startSmtpSink({
      tls: false,
      onRcpt: (address) => REPLIES[address.split('@')[0]!],
    });
    dir = await writePolicy(POLICY(sink.port), INIT);
    await writeFile(join(dir.dir, 'mine.toml'), MINE);
    daemon = await startDaemon(dir.policy);
  });
  afterAll(async () => {
    await daemon?.kill();
    await sink?.close();
    await dir?.cleanup();
  });

  it('writes each permanent and temporary failure with its category', async () => {
    const response = await fetch(`${daemon!.http}/api/inject/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        envelope_sender: 'sender@example.org',
        content: 'Subject: classified\r\n\r\nhello\r\n',
        recipients: [...Object.keys(REPLIES), 'ok'].map((l) => ({ email: `${l}@bounce.test` })),
      }),
    });
    expect(response.status).toBe(200);
    const outcomes = await eventually(
      async () => {
        const records = (await readLogRecords(dir.logs)).filter((r) =>
          ['Bounce', 'TransientFailure', 'Delivery'].includes(r.type),
        );
        return records.length >= 7 ? records : undefined;
      },
      60_000,
      'a record for each recipient',
    );
    const byLocal = (local: string): LogRecord =>
      outcomes.find((r) => String(r.recipient).startsWith(`${local}@`))!;
    expect(byLocal('unknown')).toMatchObject({
      type: 'Bounce',
      bounce_classification: 'InvalidRecipient',
    });
    expect(byLocal('full')).toMatchObject({ type: 'Bounce', bounce_classification: 'QuotaIssues' });
    expect(byLocal('slow')).toMatchObject({
      type: 'TransientFailure',
      bounce_classification: 'TransientFailure',
    });
    expect(byLocal('blocked')).toMatchObject({
      type: 'Bounce',
      bounce_classification: 'SpamBlock',
    });
    expect(byLocal('mine')).toMatchObject({ type: 'Bounce', bounce_classification: 'OurOwnLabel' });
    expect(byLocal('odd')).toMatchObject({
      type: 'Bounce',
      bounce_classification: 'Uncategorized',
    });
    // Deliveries are not classified (KumoMTA leaves them Uncategorized).
    expect(byLocal('ok')).toMatchObject({
      type: 'Delivery',
      bounce_classification: 'Uncategorized',
    });
  });

  it('answers kumo.classify_bounce from a policy, for a reply text or a response table', async () => {
    await sendMail(
      daemon!.smtp,
      { from: 'a@example.org', to: ['ok@bounce.test'] },
      'Subject: asks\r\n\r\nhello\r\n',
    );
    const reception = await eventually(
      async () => {
        const records = await readLogRecords(dir.logs);
        return records.find((r) => r.type === 'Reception' && r.reception_protocol === 'ESMTP');
      },
      60_000,
      'the Reception record of the SMTP message',
    );
    expect(reception.meta).toMatchObject({
      x_text: 'InvalidRecipient',
      x_table: 'QuotaIssues',
      x_none: 'Uncategorized',
    });
  });
});

describe('a rules file the daemon cannot use', { timeout: 120_000 }, () => {
  const dirs: PolicyDir[] = [];
  afterAll(async () => {
    for (const d of dirs) await d.cleanup();
  });

  const policyWith = async (rules: string) => {
    const d = await writePolicy('', INIT);
    dirs.push(d);
    await writeFile(join(d.dir, 'mine.toml'), rules);
    return d;
  };

  it('is a problem naming the file, the category and the pattern; the daemon does not start', async () => {
    const d = await policyWith('[rules]\nSpamBlock = ["ok", "a(?i)b"]\n');
    const validated = await runSterna(['--validate', '--policy', d.policy]);
    expect(validated.code).not.toBe(0);
    expect(validated.output).toContain(
      `kumo.configure_bounce_classifier: ${d.dir}/mine.toml: rules.SpamBlock: pattern "a(?i)b": flags other than at the start of the pattern`,
    );
    await expect(startDaemon(d.policy, { timeoutMs: 60_000 })).rejects.toThrow(
      /daemon exited with [1-9]\d* before it was ready:[\s\S]*rules\.SpamBlock: pattern "a\(\?i\)b"/,
    );
  });

  it('is a problem when the file is not TOML', async () => {
    const d = await policyWith('[rules\nSpamBlock = 1\n');
    const validated = await runSterna(['--validate', '--policy', d.policy]);
    expect(validated.code).not.toBe(0);
    expect(validated.output).toContain(
      `kumo.configure_bounce_classifier: ${d.dir}/mine.toml: not valid TOML`,
    );
  });
});
