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
import { describe, expect, it } from 'vitest';
import { inMs, loadedContext } from '../../test/helpers.js';
import type { MessageSnapshot } from '../message/message-snapshot.js';
import { canonicalBody, relaxedHeader } from './dkim.js';

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
