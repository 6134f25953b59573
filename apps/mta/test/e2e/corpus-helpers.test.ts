// Whole policies built on policy-extras, as KumoMTA operators write them (test/corpus), each
// validated and then run for real: one message in by SMTP, and what the policy says happens
// does happen. The harness (test/support/corpus.ts) changes only the network around a policy.
import { join } from 'node:path';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addFile, CorpusRun, corpusMessage, dkimKey, validateCorpus } from '../support/corpus.js';
import { eventually } from '../support/mail.js';

let run: CorpusRun;
beforeEach(() => {
  run = new CorpusRun();
});
afterEach(() => run.close());

/** mailauth's view of the DKIM signatures of `data`, keys from `keys` (name → TXT). */
async function dkimResults(data: Buffer, keys: Record<string, string>): Promise<string[]> {
  const { results } = await dkimVerify(data, {
    resolver: async (name: string) => (keys[name] ? [[keys[name]]] : []),
  });
  return results.map((r: { status: { result: string } }) => r.status.result);
}

describe('corpus policies built on policy-extras', { timeout: 180_000 }, () => {
  it('example-server: sources, queues (tenant header), shaping with automation, listener domains, DKIM', async () => {
    const key = dkimKey();
    await run.network({ 's1._domainkey.brand.test': { TXT: [key.txt] } });
    const paths = await run.layOut('example-server');
    await addFile(paths, 'etc/dkim/brand.test/s1.key', key.pem);
    await run.validateAndStart();
    await run.send(
      { from: 'news@brand.test', to: ['reader@dest.test'] },
      corpusMessage([
        'From: Brand News <news@brand.test>',
        'To: reader@dest.test',
        'Subject: example server',
        'X-Tenant: mytenant',
        'X-Campaign: welcome',
      ]),
    );
    const [copy] = await run.sink!.waitForMessages(1, 60_000);
    const text = copy!.data.toString();
    expect(text).not.toMatch(/^X-Tenant:/im); // remove_tenant_header
    expect(text).not.toMatch(/^X-Campaign:/im);
    // mytenant's pool holds one source: 127.0.0.2, which says EHLO mta2.brand.test.
    expect(run.transactions[0]).toMatchObject({
      remoteAddress: '127.0.0.2',
      ehlo: 'mta2.brand.test',
    });
    expect(await dkimResults(copy!.data, { 's1._domainkey.brand.test': key.txt })).toEqual([
      'pass',
    ]);
    const records = await run.outcomes(1);
    // Tenant and campaign live in the queue name, as in KumoMTA's records.
    expect(records.find((r) => r.type === 'Delivery')).toMatchObject({
      egress_pool: 'mytenant-pool',
      egress_source: 'ip-2',
      queue: 'welcome:mytenant@dest.test',
    });
    run.expectNoPolicyErrors();
  });

  it('tsa-shaping: a provider block matched by MX suffix shapes the path; automation rules load', async () => {
    await run.network();
    await run.layOut('tsa-shaping');
    await run.validateAndStart();
    await run.send(
      { from: 'sender@sender.test', to: ['someone@provider.test'] },
      corpusMessage(['From: sender@sender.test', 'To: someone@provider.test', 'Subject: shaped']),
    );
    await run.sink!.waitForMessages(1, 60_000);
    // The provider block's ehlo_domain (an egress path key) beats the source's.
    expect(run.transactions[0]).toMatchObject({
      remoteAddress: '127.0.0.2',
      ehlo: 'shaped.sender.test',
    });
    const records = await run.outcomes(1);
    expect(records.find((r) => r.type === 'Delivery')).toMatchObject({
      egress_pool: 'outbound',
      egress_source: 'outbound-1',
    });
    run.expectNoPolicyErrors();
  });

  it('tsa-shaping with a typo in shaping.toml: --validate exits 1 naming the file and the key', async () => {
    await run.network();
    const paths = await run.layOut('tsa-shaping', {
      'max_deliveries_per_connection = 20': 'max_deliveries_per_conection = 20',
    });
    const validation = await validateCorpus(paths);
    expect(validation.code).toBe(1);
    expect(validation.output).toContain(join(paths.policyDir, 'shaping.toml'));
    expect(validation.output).toContain('max_deliveries_per_conection');
  });

  it('webhook: log_hooks:new_json posts the Delivery record as JSON', async () => {
    await run.network();
    const service = await run.webService();
    await run.layOut('webhook', { '10.0.0.1:4242': service.address });
    await run.validateAndStart();
    await run.send(
      { from: 'sender@sender.test', to: ['user@dest.test'] },
      corpusMessage(['From: sender@sender.test', 'To: user@dest.test', 'Subject: hooked']),
    );
    await run.sink!.waitForMessages(1, 60_000);
    const posted = await eventually(
      () =>
        service.bodies
          .flatMap((b) => b.split('\n').filter((l) => l.trim() !== ''))
          .map((l) => JSON.parse(l) as { type: string; headers?: Record<string, string> })
          .find((r) => r.type === 'Delivery'),
      60_000,
      'the Delivery record posted',
    );
    expect(posted.headers?.Subject).toBe('hooked');
    run.expectNoPolicyErrors();
  });

  it('esp-multitenant: tenant and campaign from headers choose the pool, DKIM per tenant domain; an unknown tenant is refused', async () => {
    const acme = dkimKey();
    const globex = dkimKey();
    const keys = {
      'esp2026._domainkey.acme.test': acme.txt,
      'esp2026._domainkey.globex.test': globex.txt,
    };
    await run.network(
      Object.fromEntries(Object.entries(keys).map(([name, txt]) => [name, { TXT: [txt] }])),
    );
    const paths = await run.layOut('esp-multitenant');
    await addFile(paths, 'etc/dkim/acme.test/esp2026.key', acme.pem);
    await addFile(paths, 'etc/dkim/globex.test/esp2026.key', globex.pem);
    await run.validateAndStart();
    for (const tenant of ['acme', 'globex']) {
      await run.send(
        { from: `mailer@${tenant}.test`, to: [`${tenant}-reader@dest.test`] },
        corpusMessage([
          `From: mailer@${tenant}.test`,
          `To: ${tenant}-reader@dest.test`,
          `Subject: from ${tenant}`,
          `X-Tenant: ${tenant}`,
          'X-Campaign: spring-sale',
        ]),
      );
    }
    await expect(
      run.send(
        { from: 'mailer@initech.test', to: ['reader@dest.test'] },
        corpusMessage(['From: mailer@initech.test', 'Subject: who?', 'X-Tenant: initech']),
      ),
    ).rejects.toThrow(/initech/);
    const copies = await run.sink!.waitForMessages(2, 60_000);
    const byFrom = new Map(run.transactions.map((t) => [t.from, t]));
    expect(byFrom.get('mailer@acme.test')).toMatchObject({
      remoteAddress: '127.0.0.3',
      ehlo: 'o1.acme-mail.test',
    });
    expect(byFrom.get('mailer@globex.test')).toMatchObject({
      remoteAddress: '127.0.0.4',
      ehlo: 'o1.globex-mail.test',
    });
    for (const copy of copies) expect(await dkimResults(copy.data, keys)).toEqual(['pass']);
    const records = await run.outcomes(2);
    expect(
      records.find((r) => r.type === 'Delivery' && r.recipient === 'acme-reader@dest.test'),
    ).toMatchObject({
      queue: 'spring-sale:acme@dest.test',
      meta: { tenant: 'acme', campaign: 'spring-sale' }, // configure_local_logs' meta list
      egress_pool: 'acme',
      egress_source: 'acme-1',
    });
    run.expectNoPolicyErrors();
  });

  it('maildir-hosting: hosted domains (wildcards too) go to their Maildir; others are not relayed', async () => {
    await run.network();
    await run.layOut('maildir-hosting');
    await run.validateAndStart();
    await run.send(
      { from: 'friend@elsewhere.test', to: ['owner@hosted.test'] },
      corpusMessage(['From: friend@elsewhere.test', 'To: owner@hosted.test', 'Subject: hosted']),
    );
    await run.send(
      { from: 'friend@elsewhere.test', to: ['members@lists.hosted.test'] },
      corpusMessage([
        'From: friend@elsewhere.test',
        'To: members@lists.hosted.test',
        'Subject: list',
      ]),
    );
    await expect(
      run.send(
        { from: 'spammer@elsewhere.test', to: ['victim@dest.test'] },
        corpusMessage(['From: spammer@elsewhere.test', 'Subject: relay?']),
      ),
    ).rejects.toThrow(/550/);
    expect((await run.maildir('hosted.test', 1))[0]).toContain('Subject: hosted');
    expect((await run.maildir('lists.hosted.test', 1))[0]).toContain('Subject: list');
    expect(run.sink!.messages).toHaveLength(0);
    run.expectNoPolicyErrors();
  });
});
