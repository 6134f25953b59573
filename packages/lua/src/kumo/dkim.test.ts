import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  verify,
} from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dkimSign as mailauthSign } from 'mailauth/lib/dkim/sign.js';
import { dkimVerify as mailauthVerify } from 'mailauth/lib/dkim/verify.js';
import { describe, expect, it } from 'vitest';
import { inMs, loadedContext } from '../../test/helpers.js';
import type { MessageSnapshot } from '../message/message-snapshot.js';
import { canonicalBody, dkimSignature, parseSigner, relaxedHeader } from './dkim.js';
import { dkimVerify } from './dkim-verify.js';

describe('DKIM canonicalization (RFC 6376 §3.4.5 example)', () => {
  it('relaxed headers', () => {
    expect(relaxedHeader('A: X\r\n')).toBe('a:X\r\n');
    expect(relaxedHeader('B : Y\t\r\n\tZ  \r\n')).toBe('b:Y Z\r\n');
  });

  it('relaxed and simple bodies', () => {
    const body = ' C \r\nD \t E\r\n\r\n\r\n';
    expect(canonicalBody(body, 'Relaxed')).toBe(' C\r\nD E\r\n');
    expect(canonicalBody(body, 'Simple')).toBe(' C \r\nD \t E\r\n');
  });

  it('the well-known hashes of an empty body', () => {
    const hash = (s: string) => createHash('sha256').update(s).digest('base64');
    expect(hash(canonicalBody('', 'Relaxed'))).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
    expect(hash(canonicalBody('', 'Simple'))).toBe('frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=');
  });
});

// A verifier written independently of the signer (string and regex based), per RFC 6376 §6.
function verifyDkim(message: string, publicKey: KeyObject): boolean {
  const [head = '', ...bodyParts] = message.split('\r\n\r\n');
  const body = bodyParts.join('\r\n\r\n');
  const fields = head.split(/\r\n(?![ \t])/).map((f) => `${f}\r\n`);
  const sigField = fields.find((f) => /^dkim-signature:/i.test(f))!;
  const tags = Object.fromEntries(
    sigField
      .slice(sigField.indexOf(':') + 1)
      .split(';')
      .map((t) => t.replace(/\s+/g, ''))
      .filter(Boolean)
      .map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)]),
  ) as Record<string, string>;
  const [hc, bc] = (tags.c ?? 'simple/simple').split('/');
  const relax = (f: string) =>
    `${f.slice(0, f.indexOf(':')).toLowerCase().trim()}:${f
      .slice(f.indexOf(':') + 1)
      .replace(/\r\n/g, '')
      .replace(/[ \t]+/g, ' ')
      .trim()}\r\n`;
  let canonical = body;
  if (bc === 'relaxed') {
    canonical = canonical.replace(/[ \t]+\r\n/g, '\r\n').replace(/[ \t]+/g, ' ');
    canonical = canonical.replace(/(\r\n)*$/, '');
    if (canonical !== '') canonical += '\r\n';
  } else {
    canonical = `${canonical.replace(/(\r\n)*$/, '')}\r\n`;
  }
  const bh = createHash('sha256').update(Buffer.from(canonical, 'latin1')).digest('base64');
  if (bh !== tags.bh) return false;
  const remaining = fields.filter((f) => f !== sigField);
  let data = '';
  for (const name of (tags.h ?? '').split(':')) {
    const index = remaining
      .map((f) => f.slice(0, f.indexOf(':')).trim().toLowerCase())
      .lastIndexOf(name.toLowerCase());
    if (index < 0) continue;
    const [field] = remaining.splice(index, 1);
    data += hc === 'relaxed' ? relax(field!) : field;
  }
  const withoutB = sigField.replace(/(b=)[^;]*$/s, '$1').replace(/\r\n$/, '');
  data += hc === 'relaxed' ? relax(withoutB).replace(/\r\n$/, '') : withoutB;
  const signature = Buffer.from(tags.b ?? '', 'base64');
  if (tags.a === 'ed25519-sha256') {
    return verify(
      null,
      createHash('sha256').update(Buffer.from(data, 'latin1')).digest(),
      publicKey,
      signature,
    );
  }
  return verify('sha256', Buffer.from(data, 'latin1'), publicKey, signature);
}

const CRLF = '\r\n';
const raw = [
  'From: Sender <sender@example.com>',
  'To: rcpt@example.net',
  'Subject:   A  folded',
  '\tsubject  ',
  'Date: Mon, 1 Jan 2024 00:00:00 +0000',
  '',
  'Hello  there ',
  '',
  '',
].join(CRLF);

function snapshot(): MessageSnapshot {
  return {
    id: '0'.repeat(32),
    sender: 'sender@example.com',
    recipients: ['rcpt@example.net'],
    meta: {},
    data: new TextEncoder().encode(raw),
  };
}

describe('msg:dkim_sign', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sterna-dkim-'));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, 'rsa.pem'), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'ed.pem'), ed.privateKey.export({ type: 'pkcs8', format: 'pem' }));

  for (const [kind, file, publicKey] of [
    ['rsa_sha256', 'rsa.pem', createPublicKey(rsa.privateKey)],
    ['ed25519', 'ed.pem', createPublicKey(ed.privateKey)],
  ] as const) {
    for (const canon of ['Relaxed', 'Simple']) {
      it(`${kind}, ${canon}: a verifier accepts the signature`, async () => {
        const context = await loadedContext('events.lua');
        const outcome = await context.call(
          'dkim',
          [snapshot(), kind, { key: join(dir, file), canon, over_sign: canon === 'Simple' }],
          inMs(5000),
        );
        if (outcome.status !== 'ok') throw new Error(JSON.stringify(outcome));
        const signed = Buffer.from(outcome.messages[0]!.data).toString('latin1');
        expect(signed).toMatch(
          /^DKIM-Signature: v=1; a=(rsa|ed25519)-sha256; d=example.com; s=sel;/,
        );
        expect(signed.split(CRLF).every((line) => line.length <= 998)).toBe(true);
        expect(verifyDkim(signed, publicKey)).toBe(true);
        // Any change to a signed header breaks it.
        expect(verifyDkim(signed.replace('rcpt@example.net', 'other@example.net'), publicKey)).toBe(
          false,
        );
      });
    }
  }

  it('refuses a signer without a key, and a missing key file', async () => {
    const context = await loadedContext('events.lua');
    const bad = await context.call(
      'dkim',
      [snapshot(), 'rsa_sha256', { key: join(dir, 'nope.pem') }],
      inMs(5000),
    );
    expect(bad.status === 'error' && bad.message).toMatch(/dkim_sign: .*nope.pem/);
  });
});

// mailauth (the Node mail world's DKIM library) as an independent second implementation: it must
// verify every signature ours makes, and ours must verify every signature it makes. Keys are
// real (node:crypto); DNS is a function answering from memory.
describe('DKIM against mailauth', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  const pem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }).toString();
  const records: Record<string, string> = {
    'rsa._domainkey.example.com': `v=DKIM1; k=rsa; p=${rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`,
    'ed._domainkey.example.com': `v=DKIM1; k=ed25519; p=${Buffer.from(ed.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64')}`,
  };
  const chunks = (text: string) => text.match(/.{1,255}/g) ?? [];
  const lookupTxt = async (name: string) => {
    const record = records[name];
    if (!record)
      throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return [record];
  };
  // mailauth's resolver answers as node:dns resolveTxt does: each record in chunks.
  const mailauthResolver = async (name: string) => (await lookupTxt(name)).map(chunks);
  // Folded and whitespace-heavy headers, a repeated header, raw UTF-8 in a header and the
  // body (8-bit), trailing whitespace and blank lines.
  const message = Buffer.from(
    [
      'Received: from a.example by b.example; Mon, 1 Jan 2024 00:00:00 +0000',
      'Received: from c.example',
      '\tby d.example; Mon, 1 Jan 2024 00:00:01 +0000',
      'From:  "Grüße, Sender"   <sender@example.com>',
      'To: rcpt@example.net,',
      ' other@example.net',
      'SUBJECT:   A  folded  ',
      '\tsubject\t with\ttabs ',
      'Date: Mon, 1 Jan 2024 00:00:00 +0000',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Hello  there \t',
      ' Grüße aus Köln,  8-bit ☃ ',
      '',
      'last line\t\t',
      '',
      '',
      '',
    ].join(CRLF),
    'utf8',
  );
  const HEADERS = ['From', 'To', 'Subject', 'Date', 'Received', 'Cc', 'Content-Type'];
  const canons = ['Relaxed', 'Simple'] as const;
  const variants = [
    {},
    { over_sign: true },
    { body_length: true },
    { over_sign: true, body_length: true, expiration: 3600, reporting: true },
    { agent_user_identifier: 'news@example.com', atps: 'example.org', atpsh: 'sha256' },
  ];

  for (const [kind, algorithm, selector, key] of [
    ['rsa_sha256', 'rsa-sha256', 'rsa', rsa.privateKey],
    ['ed25519', 'ed25519-sha256', 'ed', ed.privateKey],
  ] as const) {
    for (const hc of canons) {
      for (const bc of canons) {
        it(`mailauth verifies ours: ${algorithm}, ${hc}/${bc}, every option variant`, async () => {
          for (const variant of variants) {
            const params = parseSigner(kind, {
              domain: 'example.com',
              selector,
              headers: HEADERS,
              key: { key_data: pem(key) },
              header_canonicalization: hc,
              body_canonicalization: bc,
              ...variant,
            });
            const signed = Buffer.concat([
              Buffer.from(dkimSignature(message, algorithm, params), 'latin1'),
              message,
            ]);
            const { results } = await mailauthVerify(signed, { resolver: mailauthResolver });
            expect(results.map((r) => [r.status.result, r.status.comment])).toEqual([
              ['pass', undefined],
            ]);
            // Ours agrees, and both see a changed signed header.
            expect((await dkimVerify(signed, lookupTxt)).map((r) => r.result)).toEqual(['pass']);
            const tampered = Buffer.from(
              signed.toString('latin1').replace('other@example.net', 'evil@example.net'),
              'latin1',
            );
            const again = await mailauthVerify(tampered, { resolver: mailauthResolver });
            expect(again.results.map((r) => r.status.result)).toEqual(['fail']);
            expect((await dkimVerify(tampered, lookupTxt)).map((r) => r.result)).toEqual(['fail']);
          }
        });

        it(`ours verifies mailauth's: ${algorithm}, ${hc}/${bc}, with and without l=`, async () => {
          // mailauth reads headerList as a colon-separated string (its types say string[]; an
          // array is ignored for its default list): ours, with every Received, and its default.
          for (const [maxBodyLength, headerList] of [
            [undefined, HEADERS.join(':')],
            [20, HEADERS.join(':')],
            [undefined, undefined],
            [20, undefined],
          ] as const) {
            const { signatures, errors } = await mailauthSign(message, {
              // A fixed t=: without signTime, mailauth reads the clock twice (for the hashed
              // header and for the one it returns), and a second boundary between the two
              // reads gives a signature over a t= the message does not carry.
              signTime: new Date(),
              signingDomain: 'example.com',
              selector,
              privateKey: pem(key),
              ...(headerList === undefined
                ? {}
                : { headerList: headerList as unknown as string[] }),
              signatureData: [
                {
                  signingDomain: 'example.com',
                  selector,
                  privateKey: pem(key),
                  algorithm,
                  canonicalization: `${hc}/${bc}`.toLowerCase(),
                  ...(maxBodyLength === undefined ? {} : { maxBodyLength }),
                },
              ],
            });
            expect(errors).toEqual([]);
            // Both Received fields are signed when ours is the list (a name twice in h=).
            if (headerList) expect(signatures).toMatch(/h=[^;]*Received:\s*Received/);
            const signed = Buffer.concat([Buffer.from(signatures, 'latin1'), message]);
            const results = await dkimVerify(signed, lookupTxt);
            // On a failure, the signature and our reason say which byte differed.
            expect(results, `${JSON.stringify(signatures)}: ${results[0]?.reason}`).toMatchObject([
              { result: 'pass', props: { 'header.a': algorithm, 'header.s': selector } },
            ]);
          }
        });
      }
    }
  }
});
