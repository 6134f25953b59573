import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dkimVerify as mailauthVerify } from 'mailauth/lib/dkim/verify.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer } from '../dns-server.js';
import { dataPolicy, message } from './data-policy.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const pem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsaRecord = (k: KeyObject) =>
  `v=DKIM1; k=rsa; p=${k.export({ type: 'spki', format: 'der' }).toString('base64')}`;
const edRecord = `v=DKIM1; k=ed25519; p=${Buffer.from(ed.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64')}`;
const chunks = (text: string) => text.match(/.{1,200}/g) ?? [];

const DATA = `
[base]
selector = "sel"
headers = ["From", "To", "Subject", "Date"]
additional_signatures = ["ESP"]

[domain."example.com"]
filename = "{{dir}}/example.com.key"
match_sub_domains = true

[domain."strict.example"]
selector = "s2"
filename = "{{dir}}/other.key"
policy = "TempFailIfNotInDNS"

[domain."quiet.example"]
filename = "{{dir}}/other.key"
policy = "SignOnlyIfInDNS"

[signature."ESP"]
domain = "esp.example"
selector = "esp"
algo = "ed25519"
filename = "{{dir}}/esp.key"
policy = "OnlyIfMissingDomainBlock"
`;

// A second file merges over the first: example.com's headers gain Cc.
const MORE = JSON.stringify({
  domain: { 'example.com': { headers: ['From', 'To', 'Subject', 'Date', 'Cc'] } },
});

const POLICY = `
local dkim_sign = require 'policy-extras.dkim_sign'
local signer = dkim_sign:setup { '{{dir}}/dkim_data.toml', '{{dir}}/more.json' }
kumo.on('smtp_server_message_received', function(msg) signer(msg) end)
`;

const mail = (from: string) =>
  message(
    [
      `From: Someone <${from}>`,
      'To: rcpt@example.net',
      'Cc: cc@example.net',
      'Subject: shaped and signed',
      'Date: Mon, 1 Jan 2024 00:00:00 +0000',
      '',
      'Hello.',
      '',
    ].join('\r\n'),
  );

describe('policy-extras.dkim_sign', () => {
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let resolver: Resolver;
  let policy: Awaited<ReturnType<typeof dataPolicy>>;
  beforeAll(async () => {
    dns = await startDnsServer({
      'sel._domainkey.example.com': { TXT: [chunks(rsaRecord(rsa.publicKey))] },
      'esp._domainkey.esp.example': { TXT: [[edRecord]] },
    });
    resolver = new Resolver({ timeout: 5000, tries: 1 });
    resolver.setServers([dns.server]);
    policy = await dataPolicy(POLICY, { 'dkim_data.toml': DATA, 'more.json': MORE }, resolver);
    writeFileSync(join(policy.dir, 'example.com.key'), pem(rsa.privateKey));
    writeFileSync(join(policy.dir, 'other.key'), pem(other.privateKey));
    writeFileSync(join(policy.dir, 'esp.key'), pem(ed.privateKey));
  });
  afterAll(async () => {
    await dns.close();
  });

  // Signs through the policy, then verifies with mailauth against the loopback DNS server.
  const signAndVerify = async (from: string) => {
    const { messages } = await policy.run('smtp_server_message_received', mail(from));
    const signed = Buffer.from(messages[0]!.data);
    const { results } = await mailauthVerify(signed, {
      resolver: (name: string) => resolver.resolveTxt(name),
    });
    return {
      text: signed.toString('latin1'),
      results: results.map((r) => ({
        domain: r.signingDomain,
        selector: r.selector,
        result: r.status.result,
      })),
    };
  };

  it("signs with the From domain's block: its selector, key and merged header list", async () => {
    const { text, results } = await signAndVerify('a@example.com');
    expect(results).toEqual([{ domain: 'example.com', selector: 'sel', result: 'pass' }]);
    expect(text).toMatch(/h=From:To:Subject:Date:Cc;/);
  });

  it('a sub-domain signs with its parent block when that block sets match_sub_domains', async () => {
    const { results } = await signAndVerify('news@mail.example.com');
    expect(results).toEqual([{ domain: 'example.com', selector: 'sel', result: 'pass' }]);
  });

  it('a domain without a block gets the OnlyIfMissingDomainBlock signature (ed25519)', async () => {
    const { text, results } = await signAndVerify('a@unlisted.example');
    expect(results).toEqual([{ domain: 'esp.example', selector: 'esp', result: 'pass' }]);
    expect(text).toContain('a=ed25519-sha256');
  });

  it('SignOnlyIfInDNS skips a domain whose key is not published (the fallback signs)', async () => {
    const { results } = await signAndVerify('a@quiet.example');
    expect(results).toEqual([{ domain: 'esp.example', selector: 'esp', result: 'pass' }]);
  });

  it('TempFailIfNotInDNS rejects with 451 when the key is not published', async () => {
    const outcome = await policy.fail('smtp_server_message_received', mail('a@strict.example'));
    expect(outcome).toContain('451');
    expect(outcome).toContain('s2._domainkey');
  });

  it('a mistake in dkim_data is reported naming the file and the key', async () => {
    const bad = await dataPolicy(
      `
      local dkim_sign = require 'policy-extras.dkim_sign'
      local signer = dkim_sign:setup { '{{dir}}/dkim_data.toml' }
      kumo.on('smtp_server_message_received', function(msg) signer(msg) end)
      `,
      {
        'dkim_data.toml': `
[base]
selectr = "sel"
selector = "sel"

[domain."example.com"]
filename = "{{dir}}/missing.key"
policy = "Sometimes"
`,
      },
    );
    await bad.run('validate_config');
    const file = `${bad.dir}/dkim_data.toml`;
    const errors = bad.logged.filter(([level]) => level === 'error').map(([, text]) => text);
    expect(errors).toEqual(
      expect.arrayContaining([
        `dkim_sign helper: ${file}: base.selectr: unknown key`,
        expect.stringContaining(`${file}: domain.'example.com'.policy: unknown policy "Sometimes"`),
        `dkim_sign helper: ${file}: domain.'example.com'.filename: the key file ${bad.dir}/missing.key does not exist`,
      ]),
    );
    expect(bad.configured.some(([kind]) => kind === 'validation_failed')).toBe(true);
    // At run time the same mistakes raise, naming the file.
    const outcome = await bad.fail('smtp_server_message_received', mail('a@example.com'));
    expect(outcome).toContain('base.selectr: unknown key');
  });
});
