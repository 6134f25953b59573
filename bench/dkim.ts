/**
 * DKIM signing and verification: ours (`packages/lua/src/kumo/dkim.ts`, `dkim-verify.ts`, what
 * `msg:dkim_sign` and `msg:dkim_verify` run) against mailauth's `dkimSign`/`dkimVerify`, on the
 * same messages: 4 KiB and 64 KiB, rsa-sha256 (2048-bit) and ed25519-sha256, relaxed/relaxed and
 * simple/simple. DNS is a function answering from memory (no resolver, no loopback). Every
 * signature is checked by the other implementation before timing starts, and every verification
 * in the timed loop must pass. Why the decision: docs/performance.md, "DKIM and address parsing:
 * ours or the libraries'".
 *
 *   npx tsx --conditions=@sterna/source bench/dkim.ts [--messages 400] [--rounds 5]
 *
 * Times are CPU time (user + system) per message in µs, best and median of `--rounds` after a
 * warm-up round. mailauth works through streams (a turn of the event loop per message), so its
 * wall time is printed too. mailauth takes the key as PEM and parses it on every call; ours keeps
 * the parsed key for the signer's `ttl`, as KumoMTA does: the PEM parse is timed on its own so
 * the difference can be read off.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
// Relative imports: the workspace root does not depend on @sterna/lua (see inject-render.ts).
import { dkimSignature, parseSigner } from '../packages/lua/src/kumo/dkim.js';
import { dkimVerify } from '../packages/lua/src/kumo/dkim-verify.js';
import { runCpuCells } from './lib/cpu-cells.js';

// mailauth is @sterna/lua's dependency, not the root's: resolve it from there.
const require = createRequire(new URL('../packages/lua/package.json', import.meta.url));
const mailauth = require('mailauth') as typeof import('mailauth');

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '5' },
  },
});
const total = Number(args.messages);
const rounds = Number(args.rounds);

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const pem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }).toString();
const records: Record<string, string> = {
  'rsa._domainkey.example.com': `v=DKIM1; k=rsa; p=${rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`,
  'ed._domainkey.example.com': `v=DKIM1; k=ed25519; p=${Buffer.from(ed.publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64')}`,
};
const lookupTxt = async (name: string) => [records[name]!];
const resolver = async (name: string) => [records[name]!.match(/.{1,255}/g)!];

// A newsletter-like message: trace headers, folded To, a text body of ~72-character lines with
// some trailing white space and 8-bit text, padded to `size` bytes.
function message(size: number, i: number): Buffer {
  const head = [
    `Received: from mta${i % 7}.example.org (mta.example.org [192.0.2.${i % 250}])`,
    '\tby mx.example.com with ESMTPS id 4Xy2kQ0abc; Mon, 1 Jan 2024 00:00:00 +0000',
    'From: "The Sterna team" <news@example.com>',
    `To: "Ann ${i}" <user${i}@example.net>,`,
    '  "Bob" <bob@example.net>',
    `Subject: Your offer number ${i},  with  extra   spaces`,
    'Date: Mon, 1 Jan 2024 00:00:00 +0000',
    `Message-ID: <${i}.bench@example.com>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    '',
  ].join('\r\n');
  const lines = [
    `Dear Ann ${i}, here is the offer we promised you, with Grüße aus Köln. `,
    'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod\t',
    'tempor incididunt ut labore et dolore magna aliqua.  Ut enim ad minim',
    '',
  ];
  let body = '';
  for (let n = 0; Buffer.byteLength(head + body) < size; n++) body += `${lines[n % 4]}\r\n`;
  return Buffer.from(`${head}${body}\r\n`, 'utf8');
}

const HEADERS = ['From', 'To', 'Subject', 'Date', 'Message-ID', 'MIME-Version', 'Content-Type'];
type Algo = 'rsa-sha256' | 'ed25519-sha256';
const keys = { 'rsa-sha256': ['rsa', rsa.privateKey], 'ed25519-sha256': ['ed', ed.privateKey] };

// The signer parameters are validated on every call, as the Lua host function does.
function oursSign(data: Buffer, algorithm: Algo, canon: 'Relaxed' | 'Simple'): Buffer {
  const [selector, key] = keys[algorithm] as [string, KeyObject];
  const params = parseSigner(algorithm === 'rsa-sha256' ? 'rsa_sha256' : 'ed25519', {
    domain: 'example.com',
    selector,
    headers: HEADERS,
    key: { key_data: pem(key) },
    header_canonicalization: canon,
    body_canonicalization: canon,
  });
  return Buffer.concat([Buffer.from(dkimSignature(data, algorithm, params), 'latin1'), data]);
}
const pems = { 'rsa-sha256': pem(rsa.privateKey), 'ed25519-sha256': pem(ed.privateKey) };
async function mailauthSign(data: Buffer, algorithm: Algo, canon: string): Promise<Buffer> {
  const selector = keys[algorithm][0] as string;
  const { signatures, errors } = await mailauth.dkimSign(data, {
    signingDomain: 'example.com',
    selector,
    privateKey: pems[algorithm],
    // A colon-separated string: mailauth ignores an array (its types say string[]) for its own
    // default list.
    headerList: HEADERS.join(':') as unknown as string[],
    signatureData: [
      {
        signingDomain: 'example.com',
        selector,
        privateKey: pems[algorithm],
        algorithm,
        canonicalization: `${canon}/${canon}`.toLowerCase(),
      },
    ],
  });
  if (errors.length > 0) throw new Error(String(errors[0]));
  return Buffer.concat([Buffer.from(signatures, 'latin1'), data]);
}
async function oursVerify(data: Buffer): Promise<void> {
  const results = await dkimVerify(data, lookupTxt);
  if (results.length !== 1 || results[0]!.result !== 'pass') throw new Error('ours: not a pass');
}
async function mailauthVerify(data: Buffer): Promise<void> {
  const { results } = await mailauth.dkimVerify(data, { resolver });
  if (results.length !== 1 || results[0]!.status.result !== 'pass') {
    throw new Error(`mailauth: ${JSON.stringify(results[0]?.status)}`);
  }
}

type Case = (i: number) => unknown;
const cases: Record<string, Case> = {};
const sizes = [4096, 65536];
const inputs = new Map(sizes.map((size) => [size, [0, 1, 2, 3].map((i) => message(size, i))]));
for (const size of sizes) {
  const kib = `${size / 1024} KiB`;
  const data = inputs.get(size)!;
  for (const algorithm of ['rsa-sha256', 'ed25519-sha256'] as const) {
    for (const canon of ['Relaxed', 'Simple'] as const) {
      const c = `${canon}/${canon}`.toLowerCase();
      // Cross-check first: each verifies what the other signed.
      const ours = data.map((d) => oursSign(d, algorithm, canon));
      const theirs = await Promise.all(data.map((d) => mailauthSign(d, algorithm, canon)));
      for (const m of ours) await mailauthVerify(m);
      for (const m of theirs) await oursVerify(m);
      const cell = `${kib}, ${algorithm}, ${c}`;
      cases[`sign ${cell} [sterna]`] = (i) => oursSign(data[i % 4]!, algorithm, canon);
      cases[`sign ${cell} [mailauth]`] = (i) => mailauthSign(data[i % 4]!, algorithm, canon);
      cases[`verify ${cell} [sterna]`] = (i) => oursVerify(ours[i % 4]!);
      cases[`verify ${cell} [mailauth]`] = (i) => mailauthVerify(ours[i % 4]!);
    }
  }
}
cases['PEM parse, rsa 2048 (inside mailauth sign)'] = () => createPrivateKey(pems['rsa-sha256']);
cases['PEM parse, ed25519 (inside mailauth sign)'] = () => createPrivateKey(pems['ed25519-sha256']);

await runCpuCells(cases, { name: 'dkim', calls: total, rounds, unit: 'message' });
