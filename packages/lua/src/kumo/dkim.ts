import { createHash, createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { duration, keySource, luaArray, parseWith } from '../config/schema-helpers.js';
import { type HeaderBlock, parseHeaderBlock } from '../message/header-block.js';

// The signer is ours, not mailauth's dkimSign (measured in bench/dkim.ts, reasons in
// docs/performance.md): it writes KumoMTA's tags and order (over_sign, body_length as the whole
// body's l=, atps, r=y, x=), signs synchronously (msg:dkim_sign does not yield), keeps the parsed
// key for the signer's ttl, and spends 1.8–6.7× less CPU per message than mailauth.
// dkim.test.ts checks that mailauth verifies every signature it makes.

const canon = z.enum(['Relaxed', 'Simple']).default('Relaxed');

/** `kumo.dkim.rsa_sha256_signer{…}` / `ed25519_signer{…}` (KumoMTA's keys). */
export const signerSchema = z.strictObject({
  domain: z.string().min(1),
  selector: z.string().min(1),
  headers: luaArray(z.string()),
  key: keySource,
  atps: z.string().optional(),
  atpsh: z.enum(['sha256', 'none']).optional(),
  agent_user_identifier: z.string().optional(),
  expiration: z.number().int().positive().optional(),
  body_length: z.boolean().default(false),
  reporting: z.boolean().default(false),
  header_canonicalization: canon,
  body_canonicalization: canon,
  ttl: duration.default(300),
  over_sign: z.boolean().default(false),
});

/** A DKIM signer's parameters. */
export type SignerParams = z.output<typeof signerSchema>;

/** Validates signer parameters. @throws SternaError `STERNA_LUA_CONFIG_INVALID` */
export function parseSigner(kind: 'rsa_sha256' | 'ed25519', table: unknown): SignerParams {
  return parseWith(signerSchema, table, `kumo.dkim.${kind}_signer`);
}

const keys = new Map<string, { key: KeyObject; until: number }>();

function loadKey(source: SignerParams['key'], ttl: number): KeyObject {
  const id = JSON.stringify(source);
  const cached = keys.get(id);
  if (cached && cached.until > Date.now()) return cached.key;
  let pem: string;
  if (typeof source === 'string') pem = readFileSync(source, 'utf8');
  else if (typeof source.key_data === 'string') pem = source.key_data;
  else
    throw new Error('expected a key file path or { key_data = ... } (vault is not supported yet)');
  const key = createPrivateKey(pem);
  keys.set(id, { key, until: Date.now() + ttl * 1000 });
  return key;
}

const WSP = /[ \t]+/g;

/** RFC 6376 §3.4.2: relaxed header canonicalization of one field (`raw` is its exact text). */
export function relaxedHeader(raw: string): string {
  const colon = raw.indexOf(':');
  const name = raw.slice(0, colon).trim().toLowerCase();
  const value = raw
    .slice(colon + 1)
    .replace(/\r?\n(?=[ \t])/g, '')
    .replace(/\r?\n$/, '')
    .replace(WSP, ' ')
    .trim();
  return `${name}:${value}\r\n`;
}

/** RFC 6376 §3.4.3/§3.4.4: the canonical body (Latin-1 text, one char per byte). */
export function canonicalBody(body: string, mode: 'Relaxed' | 'Simple'): string {
  let text = body;
  if (mode === 'Relaxed') {
    text = text
      .split('\r\n')
      .map((line) => line.replace(WSP, ' ').replace(/ $/, ''))
      .join('\r\n');
    text = text.replace(/(\r\n)+$/, '');
    return text === '' ? '' : `${text}\r\n`;
  }
  text = text.replace(/(\r\n)+$/, '');
  return `${text}\r\n`;
}

/** The body after the header block and its blank line, as latin1 text (one char per byte). */
export function bodyText(block: HeaderBlock): string {
  const rest = Buffer.from(block.rest).toString('latin1');
  if (rest.startsWith('\r\n')) return rest.slice(2);
  return rest.startsWith('\n') ? rest.slice(1) : rest;
}

/** The header fields to sign or verify, bottom-up per name (RFC 6376 §5.4.2). */
export function selectFields(block: HeaderBlock, names: readonly string[]): string[] {
  const used = new Map<string, number>();
  const out: string[] = [];
  for (const name of names) {
    const lower = name.toLowerCase();
    const instances = block.fields.filter((f) => f.name.trim().toLowerCase() === lower);
    const n = used.get(lower) ?? 0;
    used.set(lower, n + 1);
    const field = instances[instances.length - 1 - n];
    if (field) out.push(field.raw.endsWith('\n') ? field.raw : `${field.raw}\r\n`);
  }
  return out;
}

function fold(tags: string[]): string {
  let out = 'DKIM-Signature:';
  let line = out.length;
  for (const [i, tag] of tags.entries()) {
    const piece = ` ${tag}${i < tags.length - 1 ? ';' : ''}`;
    if (line + piece.length > 76 && i > 0) {
      out += '\r\n\t';
      line = 1;
      out += piece.trimStart();
      line += piece.length - 1;
    } else {
      out += piece;
      line += piece.length;
    }
  }
  return out;
}

function wrapBase64(value: string, firstLineRoom: number): string {
  const chunks: string[] = [];
  let at = 0;
  let room = Math.max(8, firstLineRoom);
  while (at < value.length) {
    chunks.push(value.slice(at, at + room));
    at += room;
    room = 72;
  }
  return chunks.join('\r\n\t');
}

/**
 * Signs a message: returns the `DKIM-Signature` header field (with CRLF) to prepend.
 * `now` is seconds since the epoch (the `t=` tag).
 */
export function dkimSignature(
  data: Uint8Array,
  algorithm: 'rsa-sha256' | 'ed25519-sha256',
  params: SignerParams,
  now = Math.floor(Date.now() / 1000),
): string {
  const block = parseHeaderBlock(data);
  const body = bodyText(block);
  const canonical = canonicalBody(body, params.body_canonicalization);
  const length = canonical.length;
  const bh = createHash('sha256').update(Buffer.from(canonical, 'latin1')).digest('base64');
  let names = params.headers;
  if (params.over_sign) {
    names = params.headers.flatMap((name) => {
      const lower = name.toLowerCase();
      const count = block.fields.filter((f) => f.name.trim().toLowerCase() === lower).length;
      return Array<string>(count + 1).fill(name);
    });
  }
  const c = `${params.header_canonicalization.toLowerCase()}/${params.body_canonicalization.toLowerCase()}`;
  const tags = [`v=1`, `a=${algorithm}`, `d=${params.domain}`, `s=${params.selector}`, `c=${c}`];
  if (params.agent_user_identifier !== undefined) tags.push(`i=${params.agent_user_identifier}`);
  if (params.reporting) tags.push('r=y');
  if (params.atps !== undefined) tags.push(`atps=${params.atps}`);
  if (params.atpsh !== undefined) tags.push(`atpsh=${params.atpsh}`);
  tags.push(`t=${now}`);
  if (params.expiration !== undefined) tags.push(`x=${now + params.expiration}`);
  if (params.body_length) tags.push(`l=${length}`);
  tags.push(`h=${names.join(':')}`, `bh=${bh}`, 'b=');
  const unsigned = fold(tags);
  const relaxed = params.header_canonicalization === 'Relaxed';
  const fields = selectFields(block, names).map((raw) => (relaxed ? relaxedHeader(raw) : raw));
  const own = relaxed ? relaxedHeader(unsigned).replace(/\r\n$/, '') : unsigned;
  const signed = Buffer.from(fields.join('') + own, 'latin1');
  const key = loadKey(params.key, params.ttl);
  // RFC 8463: Ed25519 signs the SHA-256 of the data; RSA signs the data with SHA-256.
  const signature = (
    algorithm === 'rsa-sha256'
      ? sign('sha256', signed, key)
      : sign(null, createHash('sha256').update(signed).digest(), key)
  ).toString('base64');
  const lastLine = unsigned.slice(unsigned.lastIndexOf('\n') + 1).length;
  return `${unsigned}${wrapBase64(signature, 76 - lastLine)}\r\n`;
}
