// Whole policies written with handlers of their own (no policy-extras), as KumoMTA operators
// write them (test/corpus), each validated and then run for real: one message in by SMTP, and
// what the policy says happens does happen. The harness (test/support/corpus.ts) changes only
// the network around a policy.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { addFile, CorpusRun, corpusMessage } from '../support/corpus.js';
import { eventually } from '../support/mail.js';

let run: CorpusRun;
beforeEach(() => {
  run = new CorpusRun();
});
afterEach(() => run.close());

describe('corpus policies with handlers of their own', { timeout: 180_000 }, () => {
  it('docker: $HOSTNAME resolved through the hosts file gives the source address and EHLO', async () => {
    await run.network();
    const paths = await run.layOut('docker');
    const hosts = await addFile(
      paths,
      'hosts',
      '127.0.0.1\tlocalhost\n127.0.0.5\tkumo-7f3a9c\tkumo-7f3a9c.local\n',
    );
    await run.validateAndStart({ HOSTNAME: 'kumo-7f3a9c', STERNA_HOSTS_FILE: hosts });
    await run.send(
      { from: 'app@sender.test', to: ['user@dest.test'] },
      corpusMessage(['From: app@sender.test', 'To: user@dest.test', 'Subject: from a container']),
    );
    await run.sink!.waitForMessages(1, 60_000);
    expect(run.transactions[0]).toMatchObject({ remoteAddress: '127.0.0.5', ehlo: 'kumo-7f3a9c' });
    run.expectNoPolicyErrors();
  });

  it('sink: any recipient accepted, received, logged and discarded', async () => {
    await run.network();
    const paths = await run.layOut('sink');
    await run.validateAndStart();
    const reply = await run.send(
      { from: 'load@generator.test', to: ['anyone@anywhere.test', 'else@elsewhere.test'] },
      corpusMessage(['From: load@generator.test', 'To: anyone@anywhere.test', 'Subject: sunk']),
    );
    expect(reply.accepted).toHaveLength(2);
    const records = await eventually(
      async () => {
        const all = await readLogRecords(paths.logs);
        return all.filter((r) => r.type === 'Reception').length >= 2 ? all : undefined;
      },
      30_000,
      'two Reception records',
    );
    expect(records.filter((r) => r.type === 'Reception').map((r) => r.queue)).toEqual([
      'null',
      'null',
    ]);
    expect(run.sink!.messages).toHaveLength(0);
    run.expectNoPolicyErrors();
  });

  it('smarthost: every domain goes to the mx_list relays', async () => {
    await run.network();
    await run.layOut('smarthost');
    await run.validateAndStart();
    await run.send(
      { from: 'app@corp.test', to: ['partner@nowhere.invalid'] },
      corpusMessage(['From: app@corp.test', 'To: partner@nowhere.invalid', 'Subject: via relay']),
    );
    const [copy] = await run.sink!.waitForMessages(1, 60_000);
    expect(copy!.recipients).toEqual(['partner@nowhere.invalid']);
    const records = await run.outcomes(1);
    expect(records.find((r) => r.type === 'Delivery')).toMatchObject({
      peer_address: { name: 'relay1.corp.test' },
    });
    run.expectNoPolicyErrors();
  });

  it('custom-lua-webhook: a log hook feeds a custom_lua queue that posts each record', async () => {
    await run.network();
    const service = await run.webService();
    await run.layOut('custom-lua-webhook', { '10.0.0.1:4242': service.address });
    await run.validateAndStart();
    await run.send(
      { from: 'sender@sender.test', to: ['user@dest.test'] },
      corpusMessage(['From: sender@sender.test', 'To: user@dest.test', 'Subject: classic hook']),
    );
    await run.sink!.waitForMessages(1, 60_000);
    const delivery = await eventually(
      () =>
        service.bodies
          .map((b) => JSON.parse(b) as { type: string; headers?: Record<string, string> })
          .find((r) => r.type === 'Delivery'),
      60_000,
      'the Delivery record posted',
    );
    expect(delivery.headers?.Subject).toBe('classic hook');
    run.expectNoPolicyErrors();
  });

  it('pmta-migration: X-Virtual-MTA picks the pool; an unknown one is refused', async () => {
    await run.network();
    await run.layOut('pmta-migration');
    await run.validateAndStart();
    await run.send(
      { from: 'bulk@sender.test', to: ['user@sub.dest.test'] },
      corpusMessage([
        'From: bulk@sender.test',
        'To: user@sub.dest.test',
        'Subject: vmta',
        'X-Virtual-MTA: pool-b',
      ]),
    );
    await expect(
      run.send(
        { from: 'bulk@sender.test', to: ['user@dest.test'] },
        corpusMessage(['From: bulk@sender.test', 'Subject: nope', 'X-Virtual-MTA: vmta9']),
      ),
    ).rejects.toThrow(/unknown virtual MTA vmta9/);
    const [copy] = await run.sink!.waitForMessages(1, 60_000);
    expect(copy!.data.toString()).not.toMatch(/^X-Virtual-MTA:/im);
    expect(run.transactions[0]).toMatchObject({
      remoteAddress: '127.0.0.3',
      ehlo: 'o2.sender.test',
    });
    const records = await run.outcomes(1);
    expect(records.find((r) => r.type === 'Delivery')).toMatchObject({
      egress_pool: 'pool-b',
      egress_source: 'vmta2',
    });
    run.expectNoPolicyErrors();
  });

  it('split-policy: required modules, a JSON routing table and YAML limits', async () => {
    await run.network();
    await run.layOut('split-policy');
    await run.validateAndStart();
    await run.send(
      { from: 'records@corp.test', to: ['copy@archive.test'] },
      corpusMessage(['From: records@corp.test', 'To: copy@archive.test', 'Subject: archived']),
    );
    await run.send(
      { from: 'records@corp.test', to: ['user@dest.test'] },
      corpusMessage(['From: records@corp.test', 'To: user@dest.test', 'Subject: by mx']),
    );
    expect((await run.maildir('archive', 1))[0]).toContain('Subject: archived');
    const [copy] = await run.sink!.waitForMessages(1, 60_000);
    expect(copy!.data.toString()).toContain('Subject: by mx');
    run.expectNoPolicyErrors();
  });

  it('auth-submission: AUTH PLAIN after STARTTLS against a TOML user table, then relay', async () => {
    await run.network();
    await run.layOut('auth-submission');
    await run.validateAndStart();
    const tls = { ignoreTLS: false, requireTLS: true, tls: { rejectUnauthorized: false } };
    const envelope = { from: 'alice@corp.test', to: ['user@dest.test'] };
    await expect(
      run.send(envelope, corpusMessage(['From: alice@corp.test', 'Subject: no auth']), tls),
    ).rejects.toThrow(/550/);
    await expect(
      run.send(envelope, corpusMessage(['From: alice@corp.test', 'Subject: bad password']), {
        ...tls,
        auth: { user: 'alice', pass: 'wrong' },
      }),
    ).rejects.toThrow(/535/);
    await run.send(
      envelope,
      corpusMessage(['From: alice@corp.test', 'To: user@dest.test', 'Subject: submitted']),
      { ...tls, auth: { user: 'alice', pass: 'correct horse battery staple' } },
    );
    const [copy] = await run.sink!.waitForMessages(1, 60_000);
    expect(copy!.data.toString()).toContain('Subject: submitted');
    expect(run.sink!.messages).toHaveLength(1);
    run.expectNoPolicyErrors();
  });
});
