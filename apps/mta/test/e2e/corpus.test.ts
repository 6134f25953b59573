// Whole policies as KumoMTA operators write them (apps/mta/test/corpus), each validated and then
// run for real: one message in by SMTP, and what the policy says happens does happen. The
// harness (test/support/corpus.ts) changes only the network around a policy: loopback ports,
// the test's DNS server, and the sink's port for outbound SMTP.
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  type DnsServer,
  type SmtpSink,
  startDnsServer,
  startSmtpSink,
} from '@sterna/protocol-testkit';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { afterEach, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import {
  addFile,
  type CorpusPaths,
  layOutCorpus,
  startCorpus,
  validateCorpus,
} from '../support/corpus.js';
import type { DaemonProcess } from '../support/daemon-process.js';
import { eventually, maildirMessages, sendMail } from '../support/mail.js';

/** What the sink saw of each transaction: who connected, and the EHLO name they gave. */
interface Transaction {
  readonly from: string;
  readonly remoteAddress: string;
  readonly ehlo: string;
}

let daemon: DaemonProcess | undefined;
let paths: (CorpusPaths & { cleanup(): Promise<void> }) | undefined;
let dns: DnsServer | undefined;
let sink: SmtpSink | undefined;
let web: Server | undefined;
let transactions: Transaction[] = [];
afterEach(async () => {
  await daemon?.kill();
  await paths?.cleanup();
  await dns?.close();
  await sink?.close();
  await new Promise((resolve) => (web ? web.close(resolve) : resolve(undefined)));
  daemon = paths = dns = sink = web = undefined;
  transactions = [];
});

const dkimKey = () => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    pem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    txt: `v=DKIM1; k=rsa; p=${pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`,
  };
};

/** Names every corpus policy may deliver to; all of them end at the sink on 127.0.0.1. */
const RECORDS = {
  'dest.test': { MX: [{ exchange: 'mx.dest.test', priority: 10 }] },
  'mx.dest.test': { A: ['127.0.0.1'] },
  'sub.dest.test': { MX: [{ exchange: 'mx.dest.test', priority: 10 }] },
  'provider.test': { MX: [{ exchange: 'mx1.bigmail.test', priority: 5 }] },
  'mx1.bigmail.test': { A: ['127.0.0.1'] },
  'relay1.corp.test': { A: ['127.0.0.1'] },
  'relay2.corp.test': { A: ['127.0.0.1'] },
};

async function startNetwork(extra: Record<string, { TXT?: string[]; A?: string[] }> = {}) {
  sink = await startSmtpSink({
    onMailFrom(address, session) {
      transactions.push({
        from: address,
        remoteAddress: session.remoteAddress,
        ehlo: session.hostNameAppearsAs,
      });
      return undefined;
    },
  });
  dns = await startDnsServer({ records: { ...RECORDS, ...extra } });
  return { dns: dns.servers[0]!, smtpPort: sink.port };
}

/** A local web service that records what is posted to it. */
async function startWebService(): Promise<{ url: string; bodies: string[] }> {
  const bodies: string[] = [];
  web = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks');
    });
  });
  await new Promise<void>((resolve) => web!.listen(0, '127.0.0.1', resolve));
  return { url: `127.0.0.1:${(web.address() as AddressInfo).port}`, bodies };
}

/** Validates, starts, and checks the policy ran clean (no error-level line, no Lua error). */
async function validateAndStart(env: NodeJS.ProcessEnv = {}): Promise<DaemonProcess> {
  const validation = await validateCorpus(paths!, env);
  expect(validation.output).not.toMatch(/problem:/);
  expect(validation.code, validation.output).toBe(0);
  daemon = await startCorpus(paths!, env);
  return daemon;
}

function expectNoPolicyErrors(): void {
  const lines = daemon!.output().split('\n');
  const errors = lines.filter((l) => /"level":50|STERNA_LUA/.test(l));
  expect(errors).toEqual([]);
}

const message = (headers: string[], body = 'Hello from the corpus.') =>
  [
    ...headers,
    'Date: Wed, 02 Dec 2026 08:00:00 +0000',
    `Message-ID: <${Math.random().toString(36).slice(2)}@corpus.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n');

const outcomes = async (logs: string, n: number) =>
  eventually(
    async () => {
      const records = await readLogRecords(logs);
      const done = records.filter((r) => r.type !== 'Reception');
      return done.length >= n ? records : undefined;
    },
    60_000,
    `${n} outcome records`,
  );

describe('the policy corpus, validated and run', { timeout: 180_000 }, () => {
  it('example-server: sources, queues (tenant header), shaping with automation, listener domains, DKIM', async () => {
    const key = dkimKey();
    const net = await startNetwork({ 's1._domainkey.brand.test': { TXT: [key.txt] } });
    paths = await layOutCorpus('example-server', net);
    await addFile(paths, 'etc/dkim/brand.test/s1.key', key.pem);
    await validateAndStart();
    await sendMail(
      daemon!.smtp,
      { from: 'news@brand.test', to: ['reader@dest.test'] },
      message([
        'From: Brand News <news@brand.test>',
        'To: reader@dest.test',
        'Subject: example server',
        'X-Tenant: mytenant',
        'X-Campaign: welcome',
      ]),
    );
    const [copy] = await sink!.waitForMessages(1, 60_000);
    const text = copy!.data.toString();
    expect(text).not.toMatch(/^X-Tenant:/im); // remove_tenant_header
    expect(text).not.toMatch(/^X-Campaign:/im);
    // mytenant's pool holds one source: 127.0.0.2, which says EHLO mta2.brand.test.
    expect(transactions[0]).toMatchObject({
      remoteAddress: '127.0.0.2',
      ehlo: 'mta2.brand.test',
    });
    const { results } = await dkimVerify(copy!.data, {
      resolver: async (name: string, type: string) =>
        type === 'TXT' && name === 's1._domainkey.brand.test' ? [[key.txt]] : [],
    });
    expect(results.map((r: { status: { result: string } }) => r.status.result)).toEqual(['pass']);
    const records = await outcomes(paths.logs, 1);
    const delivery = records.find((r) => r.type === 'Delivery')!;
    expect(delivery).toMatchObject({
      tenant: 'mytenant',
      campaign: 'welcome',
      egress_pool: 'mytenant-pool',
      egress_source: 'ip-2',
      queue: 'welcome:mytenant@dest.test',
    });
    expectNoPolicyErrors();
  });

  it('tsa-shaping: a provider block matched by MX suffix shapes the path; automation rules load', async () => {
    const net = await startNetwork();
    paths = await layOutCorpus('tsa-shaping', net);
    await validateAndStart();
    await sendMail(
      daemon!.smtp,
      { from: 'sender@sender.test', to: ['someone@provider.test'] },
      message(['From: sender@sender.test', 'To: someone@provider.test', 'Subject: shaped']),
    );
    await sink!.waitForMessages(1, 60_000);
    // The provider block's ehlo_domain (an egress path key) beats the source's.
    expect(transactions[0]).toMatchObject({
      remoteAddress: '127.0.0.2',
      ehlo: 'shaped.sender.test',
    });
    const records = await outcomes(paths.logs, 1);
    expect(records.find((r) => r.type === 'Delivery')).toMatchObject({
      egress_pool: 'outbound',
      egress_source: 'outbound-1',
    });
    expectNoPolicyErrors();
  });

  it('tsa-shaping with a typo in shaping.toml: --validate exits 1 naming the file and the key', async () => {
    const net = await startNetwork();
    paths = await layOutCorpus('tsa-shaping', {
      ...net,
      replace: { 'max_deliveries_per_connection = 20': 'max_deliveries_per_conection = 20' },
    });
    const validation = await validateCorpus(paths);
    expect(validation.code).toBe(1);
    expect(validation.output).toContain(join(paths.policyDir, 'shaping.toml'));
    expect(validation.output).toContain('max_deliveries_per_conection');
  });

  it('docker: $HOSTNAME resolved through the hosts file gives the source address and EHLO', async () => {
    const net = await startNetwork();
    paths = await layOutCorpus('docker', net);
    const hosts = await addFile(
      paths,
      'hosts',
      '127.0.0.1\tlocalhost\n127.0.0.5\tkumo-7f3a9c\tkumo-7f3a9c.local\n',
    );
    const env = { HOSTNAME: 'kumo-7f3a9c', STERNA_HOSTS_FILE: hosts };
    await validateAndStart(env);
    await sendMail(
      daemon!.smtp,
      { from: 'app@sender.test', to: ['user@dest.test'] },
      message(['From: app@sender.test', 'To: user@dest.test', 'Subject: from a container']),
    );
    await sink!.waitForMessages(1, 60_000);
    expect(transactions[0]).toMatchObject({ remoteAddress: '127.0.0.5', ehlo: 'kumo-7f3a9c' });
    expectNoPolicyErrors();
  });

  it('webhook: log_hooks:new_json posts the Delivery record as JSON', async () => {
    const net = await startNetwork();
    const service = await startWebService();
    paths = await layOutCorpus('webhook', { ...net, replace: { '10.0.0.1:4242': service.url } });
    await validateAndStart();
    await sendMail(
      daemon!.smtp,
      { from: 'sender@sender.test', to: ['user@dest.test'] },
      message(['From: sender@sender.test', 'To: user@dest.test', 'Subject: hooked']),
    );
    await sink!.waitForMessages(1, 60_000);
    const posted = await eventually(
      () => {
        const records = service.bodies.flatMap((b) =>
          b
            .split('\n')
            .filter((l) => l.trim() !== '')
            .map((l) => JSON.parse(l) as { type: string; headers?: Record<string, string> }),
        );
        return records.find((r) => r.type === 'Delivery');
      },
      60_000,
      'the Delivery record posted',
    );
    expect(posted.headers?.Subject).toBe('hooked');
    expectNoPolicyErrors();
  });

  it('sink: any recipient accepted, received, logged and discarded', async () => {
    const net = await startNetwork();
    paths = await layOutCorpus('sink', net);
    await validateAndStart();
    const reply = await sendMail(
      daemon!.smtp,
      { from: 'load@generator.test', to: ['anyone@anywhere.test', 'else@elsewhere.test'] },
      message(['From: load@generator.test', 'To: anyone@anywhere.test', 'Subject: sunk']),
    );
    expect(reply.accepted).toHaveLength(2);
    const records = await eventually(
      async () => {
        const all = await readLogRecords(paths!.logs);
        return all.filter((r) => r.type === 'Reception').length >= 2 ? all : undefined;
      },
      30_000,
      'two Reception records',
    );
    expect(records.filter((r) => r.type === 'Reception').map((r) => r.queue)).toEqual([
      'null',
      'null',
    ]);
    expect(sink!.messages).toHaveLength(0);
    expectNoPolicyErrors();
  });

  it('esp-multitenant: tenant and campaign from headers choose the pool, DKIM per tenant domain; an unknown tenant is refused', async () => {
    const acme = dkimKey();
    const globex = dkimKey();
    const net = await startNetwork({
      'esp2026._domainkey.acme.test': { TXT: [acme.txt] },
      'esp2026._domainkey.globex.test': { TXT: [globex.txt] },
    });
    paths = await layOutCorpus('esp-multitenant', net);
    await addFile(paths, 'etc/dkim/acme.test/esp2026.key', acme.pem);
    await addFile(paths, 'etc/dkim/globex.test/esp2026.key', globex.pem);
    await validateAndStart();
    for (const [tenant, domain] of [
      ['acme', 'acme.test'],
      ['globex', 'globex.test'],
    ] as const) {
      await sendMail(
        daemon!.smtp,
        { from: `mailer@${domain}`, to: [`${tenant}-reader@dest.test`] },
        message([
          `From: mailer@${domain}`,
          `To: ${tenant}-reader@dest.test`,
          `Subject: from ${tenant}`,
          `X-Tenant: ${tenant}`,
          'X-Campaign: spring-sale',
        ]),
      );
    }
    await expect(
      sendMail(
        daemon!.smtp,
        { from: 'mailer@initech.test', to: ['reader@dest.test'] },
        message(['From: mailer@initech.test', 'Subject: who?', 'X-Tenant: initech']),
      ),
    ).rejects.toThrow(/^5\d\d|initech/);
    const copies = await sink!.waitForMessages(2, 60_000);
    const byFrom = new Map(transactions.map((t) => [t.from, t]));
    expect(byFrom.get('mailer@acme.test')).toMatchObject({
      remoteAddress: '127.0.0.3',
      ehlo: 'o1.acme-mail.test',
    });
    expect(byFrom.get('mailer@globex.test')).toMatchObject({
      remoteAddress: '127.0.0.4',
      ehlo: 'o1.globex-mail.test',
    });
    const keys: Record<string, string> = {
      'esp2026._domainkey.acme.test': acme.txt,
      'esp2026._domainkey.globex.test': globex.txt,
    };
    for (const copy of copies) {
      const { results } = await dkimVerify(copy.data, {
        resolver: async (name: string) => (keys[name] ? [[keys[name]]] : []),
      });
      expect(results.map((r: { status: { result: string } }) => r.status.result)).toEqual(['pass']);
    }
    const records = await outcomes(paths.logs, 2);
    const acmeDelivery = records.find(
      (r) => r.type === 'Delivery' && r.recipient === 'acme-reader@dest.test',
    );
    expect(acmeDelivery).toMatchObject({
      tenant: 'acme',
      campaign: 'spring-sale',
      egress_pool: 'acme',
      egress_source: 'acme-1',
    });
    expectNoPolicyErrors();
  });

  it('smarthost: every domain goes to the mx_list relays', async () => {
    const net = await startNetwork();
    paths = await layOutCorpus('smarthost', net);
    await validateAndStart();
    await sendMail(
      daemon!.smtp,
      { from: 'app@corp.test', to: ['partner@nowhere.invalid'] },
      message(['From: app@corp.test', 'To: partner@nowhere.invalid', 'Subject: via relay']),
    );
    const [copy] = await sink!.waitForMessages(1, 60_000);
    expect(copy!.recipients).toEqual(['partner@nowhere.invalid']);
    const records = await outcomes(paths.logs, 1);
    expect(records.find((r) => r.type === 'Delivery')).toMatchObject({
      peer_address: { name: 'relay1.corp.test' },
    });
    expectNoPolicyErrors();
  });

  it('maildir-hosting: hosted domains (wildcards too) go to their Maildir; others are not relayed', async () => {
    const net = await startNetwork();
    paths = await layOutCorpus('maildir-hosting', net);
    await validateAndStart();
    await sendMail(
      daemon!.smtp,
      { from: 'friend@elsewhere.test', to: ['owner@hosted.test'] },
      message(['From: friend@elsewhere.test', 'To: owner@hosted.test', 'Subject: hosted']),
    );
    await sendMail(
      daemon!.smtp,
      { from: 'friend@elsewhere.test', to: ['members@lists.hosted.test'] },
      message(['From: friend@elsewhere.test', 'To: members@lists.hosted.test', 'Subject: list']),
    );
    await expect(
      sendMail(
        daemon!.smtp,
        { from: 'spammer@elsewhere.test', to: ['victim@dest.test'] },
        message(['From: spammer@elsewhere.test', 'Subject: relay?']),
      ),
    ).rejects.toThrow(/550/);
    const hosted = await eventually(
      async () => {
        const found = await maildirMessages(join(paths!.maildir, 'hosted.test'));
        return found.length === 1 ? found : undefined;
      },
      60_000,
      'the hosted.test Maildir',
    );
    expect(hosted[0]).toContain('Subject: hosted');
    const lists = await eventually(
      async () => {
        const found = await maildirMessages(join(paths!.maildir, 'lists.hosted.test'));
        return found.length === 1 ? found : undefined;
      },
      60_000,
      'the lists.hosted.test Maildir',
    );
    expect(lists[0]).toContain('Subject: list');
    expect(sink!.messages).toHaveLength(0);
    expectNoPolicyErrors();
  });

  it('custom-lua-webhook: a log hook feeds a custom_lua queue that posts each record', async () => {
    const net = await startNetwork();
    const service = await startWebService();
    paths = await layOutCorpus('custom-lua-webhook', {
      ...net,
      replace: { '10.0.0.1:4242': service.url },
    });
    await validateAndStart();
    await sendMail(
      daemon!.smtp,
      { from: 'sender@sender.test', to: ['user@dest.test'] },
      message(['From: sender@sender.test', 'To: user@dest.test', 'Subject: classic hook']),
    );
    await sink!.waitForMessages(1, 60_000);
    const delivery = await eventually(
      () =>
        service.bodies
          .map((b) => JSON.parse(b) as { type: string; headers?: Record<string, string> })
          .find((r) => r.type === 'Delivery'),
      60_000,
      'the Delivery record posted',
    );
    expect(delivery.headers?.Subject).toBe('classic hook');
    expectNoPolicyErrors();
  });

  it('pmta-migration: X-Virtual-MTA picks the pool; an unknown one is refused', async () => {
    const net = await startNetwork();
    paths = await layOutCorpus('pmta-migration', net);
    await validateAndStart();
    await sendMail(
      daemon!.smtp,
      { from: 'bulk@sender.test', to: ['user@sub.dest.test'] },
      message([
        'From: bulk@sender.test',
        'To: user@sub.dest.test',
        'Subject: vmta',
        'X-Virtual-MTA: pool-b',
      ]),
    );
    await expect(
      sendMail(
        daemon!.smtp,
        { from: 'bulk@sender.test', to: ['user@dest.test'] },
        message(['From: bulk@sender.test', 'Subject: nope', 'X-Virtual-MTA: vmta9']),
      ),
    ).rejects.toThrow(/unknown virtual MTA vmta9/);
    const [copy] = await sink!.waitForMessages(1, 60_000);
    expect(copy!.data.toString()).not.toMatch(/^X-Virtual-MTA:/im);
    expect(transactions[0]).toMatchObject({ remoteAddress: '127.0.0.3', ehlo: 'o2.sender.test' });
    const records = await outcomes(paths.logs, 1);
    expect(records.find((r) => r.type === 'Delivery')).toMatchObject({
      egress_pool: 'pool-b',
      egress_source: 'vmta2',
    });
    expectNoPolicyErrors();
  });

  it('split-policy: required modules, a JSON routing table and YAML limits', async () => {
    const net = await startNetwork();
    paths = await layOutCorpus('split-policy', net);
    await validateAndStart();
    await sendMail(
      daemon!.smtp,
      { from: 'records@corp.test', to: ['copy@archive.test'] },
      message(['From: records@corp.test', 'To: copy@archive.test', 'Subject: archived']),
    );
    await sendMail(
      daemon!.smtp,
      { from: 'records@corp.test', to: ['user@dest.test'] },
      message(['From: records@corp.test', 'To: user@dest.test', 'Subject: by mx']),
    );
    const archived = await eventually(
      async () => {
        const found = await maildirMessages(join(paths!.maildir, 'archive'));
        return found.length === 1 ? found : undefined;
      },
      60_000,
      'the archive Maildir',
    );
    expect(archived[0]).toContain('Subject: archived');
    const [copy] = await sink!.waitForMessages(1, 60_000);
    expect(copy!.data.toString()).toContain('Subject: by mx');
    expectNoPolicyErrors();
  });

  it('auth-submission: AUTH PLAIN after STARTTLS against a TOML user table, then relay', async () => {
    const net = await startNetwork();
    paths = await layOutCorpus('auth-submission', net);
    await validateAndStart();
    const tls = { ignoreTLS: false, requireTLS: true, tls: { rejectUnauthorized: false } };
    await expect(
      sendMail(
        daemon!.smtp,
        { from: 'alice@corp.test', to: ['user@dest.test'] },
        message(['From: alice@corp.test', 'Subject: no auth']),
        tls,
      ),
    ).rejects.toThrow(/550/);
    await expect(
      sendMail(
        daemon!.smtp,
        { from: 'alice@corp.test', to: ['user@dest.test'] },
        message(['From: alice@corp.test', 'Subject: bad password']),
        { ...tls, auth: { user: 'alice', pass: 'wrong' } },
      ),
    ).rejects.toThrow(/535/);
    await sendMail(
      daemon!.smtp,
      { from: 'alice@corp.test', to: ['user@dest.test'] },
      message(['From: alice@corp.test', 'To: user@dest.test', 'Subject: submitted']),
      { ...tls, auth: { user: 'alice', pass: 'correct horse battery staple' } },
    );
    const [copy] = await sink!.waitForMessages(1, 60_000);
    expect(copy!.data.toString()).toContain('Subject: submitted');
    expect(sink!.messages).toHaveLength(1);
    expectNoPolicyErrors();
  });
});
