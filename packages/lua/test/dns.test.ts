import { generateKeyPairSync } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSternaError } from '@sterna/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MessageSnapshot, PolicyRuntime } from '../src/index.js';
import { startDnsServer } from './dns-server.js';
import { fixture } from './helpers.js';

const keyDir = mkdtempSync(join(tmpdir(), 'sterna-dkim-dns-'));
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
writeFileSync(join(keyDir, 'rsa.pem'), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeFileSync(join(keyDir, 'ed.pem'), ed.privateKey.export({ type: 'pkcs8', format: 'pem' }));
const rsaP = rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const edP = Buffer.from(ed.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
const chunks = (text: string) => text.match(/.{1,200}/g) ?? [];

describe('kumo.dns through the host resolver', () => {
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let runtime: PolicyRuntime;
  beforeAll(async () => {
    dns = await startDnsServer({
      'mail.example': {
        MX: [
          { exchange: 'mx2.mail.example', priority: 20 },
          { exchange: 'mx1.mail.example', priority: 10 },
          { exchange: 'mx1b.mail.example', priority: 10 },
        ],
      },
      'nomx.example': { A: ['192.0.2.7'], TXT: [['v=spf1 ', '-all'], ['hello']] },
      '7.2.0.192.in-addr.arpa': { PTR: ['host.nomx.example'] },
      'rsa._domainkey.example.com': { TXT: [chunks(`v=DKIM1; k=rsa; p=${rsaP}`)] },
      'ed._domainkey.example.com': { TXT: [[`v=DKIM1; k=ed25519; p=${edP}`]] },
      'revoked._domainkey.example.com': { TXT: [['v=DKIM1; p=']] },
    });
    // Every name is answered (NXDOMAIN included): the timeout only ends a lost query.
    const resolver = new Resolver({ timeout: 5000, tries: 1 });
    resolver.setServers([dns.server]);
    runtime = await PolicyRuntime.start({
      policy: fixture('events.lua'),
      poolSize: 1,
      spare: false,
      host: { resolver, log: () => {}, print: () => {} },
    });
  });
  afterAll(async () => {
    await runtime.close();
    await dns.close();
  });

  it('lookup_mx orders hosts by preference', async () => {
    const { value } = await runtime.call('mx', ['mail.example']);
    expect(value).toMatchObject({
      domain_name: 'mail.example.',
      hosts: ['mx1.mail.example', 'mx1b.mail.example', 'mx2.mail.example'],
      by_pref: { '10': ['mx1.mail.example', 'mx1b.mail.example'], '20': ['mx2.mail.example'] },
      is_mx: true,
    });
  });

  it('lookup_txt joins each record; lookup_ptr and lookup_addr', async () => {
    expect((await runtime.call('dns_misc', ['nomx.example', '192.0.2.7'])).values).toEqual([
      ['v=spf1 -all', 'hello'],
      ['host.nomx.example'],
      ['192.0.2.7'],
    ]);
  });

  it('dkim_verify checks signatures against keys in DNS; add_authentication_results', async () => {
    const message: MessageSnapshot = {
      id: '0'.repeat(32),
      sender: 's@example.com',
      recipients: ['r@example.net'],
      meta: {},
      data: new TextEncoder().encode(
        'From: s@example.com\r\nTo: r@example.net\r\nSubject: hi\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nHello\r\n',
      ),
    };
    const sign = async (kind: string, selector: string, key: string, canon: string) => {
      const signed = await runtime.call('dkim', [
        message,
        kind,
        { key: join(keyDir, key), canon, selector },
      ]);
      return { ...message, data: signed.messages[0]!.data };
    };
    const rsaSigned = await sign('rsa_sha256', 'rsa', 'rsa.pem', 'Relaxed');
    const edSigned = await sign('ed25519', 'ed', 'ed.pem', 'Simple');
    const both = await sign('ed25519', 'ed', 'ed.pem', 'Relaxed').then(async (m) => {
      const again = await runtime.call('dkim', [
        m,
        'rsa_sha256',
        { key: join(keyDir, 'rsa.pem'), canon: 'Simple', selector: 'rsa' },
      ]);
      return { ...m, data: again.messages[0]!.data };
    });
    const verify = async (m: MessageSnapshot, tamper = false) =>
      runtime.call('verify', [m, tamper]);
    const rsaResult = await verify(rsaSigned);
    expect(rsaResult.values[0]).toEqual([
      {
        method: 'dkim',
        result: 'pass',
        props: {
          'header.d': 'example.com',
          'header.i': '@example.com',
          'header.s': 'rsa',
          'header.a': 'rsa-sha256',
          'header.b': expect.any(String),
        },
      },
    ]);
    expect(rsaResult.values[1]).toMatch(
      /^mx\.sterna\.test;\s+dkim=pass\s+header\.a=rsa-sha256\s+header\.b=\S{8}\s+header\.d=example\.com\s+header\.i=@example\.com\s+header\.s=rsa$/,
    );
    expect((await verify(edSigned)).values[0]).toMatchObject([
      { result: 'pass', props: { 'header.a': 'ed25519-sha256' } },
    ]);
    expect((await verify(both)).values[0]).toMatchObject([{ result: 'pass' }, { result: 'pass' }]);
    expect((await verify(rsaSigned, true)).values[0]).toMatchObject([
      { result: 'fail', reason: 'body hash did not verify' },
    ]);
    const revoked = await sign('rsa_sha256', 'revoked', 'rsa.pem', 'Relaxed');
    expect((await verify(revoked)).values[0]).toMatchObject([{ result: 'permerror' }]);
    const unknown = await sign('rsa_sha256', 'unknown', 'rsa.pem', 'Relaxed');
    expect((await verify(unknown)).values[0]).toMatchObject([
      { result: 'permerror', reason: 'no key record' },
    ]);
  });

  it('a domain without MX falls back to itself; NXDOMAIN raises', async () => {
    const { value } = await runtime.call('mx', ['nomx.example']);
    expect(value).toMatchObject({ hosts: ['nomx.example'], is_mx: false });
    let error: unknown;
    try {
      await runtime.call('mx', ['missing.example']);
    } catch (caught) {
      error = caught;
    }
    expect(isSternaError(error, 'STERNA_LUA_ERROR')).toBe(true);
    expect((error as Error).message).toMatch(/lookup_mx missing.example: .*ENOTFOUND/);
  });
});
