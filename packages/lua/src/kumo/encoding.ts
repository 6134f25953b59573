import { createHash, createHmac } from 'node:crypto';
import { crc32 } from 'node:zlib';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE32HEX = '0123456789ABCDEFGHIJKLMNOPQRSTUV';

function base32Encode(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  if (pad) while (out.length % 8 !== 0) out += '=';
  return out;
}

function base32Decode(text: string, alphabet: string): Uint8Array {
  const clean = text.replace(/=+$/, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of clean) {
    const index = alphabet.indexOf(c);
    if (index < 0) throw new Error(`invalid base32 character '${c}'`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

function base64Decode(text: string, url: boolean): Uint8Array {
  const pattern = url ? /^[A-Za-z0-9_-]*={0,2}$/ : /^[A-Za-z0-9+/]*={0,2}$/;
  if (!pattern.test(text)) throw new Error('invalid base64 data');
  return Buffer.from(text, url ? 'base64url' : 'base64');
}

/** The encodings of `kumo.encode` and of digest objects, by KumoMTA's names. */
export const ENCODERS: Readonly<Record<string, (bytes: Uint8Array) => string>> = {
  hex: (b) => Buffer.from(b).toString('hex'),
  base32: (b) => base32Encode(b, BASE32, true),
  base32_nopad: (b) => base32Encode(b, BASE32, false),
  base32hex: (b) => base32Encode(b, BASE32HEX, true),
  base32hex_nopad: (b) => base32Encode(b, BASE32HEX, false),
  base64: (b) => Buffer.from(b).toString('base64'),
  base64_nopad: (b) => Buffer.from(b).toString('base64').replace(/=+$/, ''),
  base64url: (b) =>
    Buffer.from(b)
      .toString('base64url')
      .padEnd(Math.ceil(b.length / 3) * 4, '='),
  base64url_nopad: (b) => Buffer.from(b).toString('base64url'),
};

/** The decoders of `kumo.encode`; each throws on malformed input. */
export const DECODERS: Readonly<Record<string, (text: string) => Uint8Array>> = {
  hex: (t) => {
    if (!/^([0-9a-fA-F]{2})*$/.test(t)) throw new Error('invalid hex data');
    return Buffer.from(t, 'hex');
  },
  base32: (t) => base32Decode(t, BASE32),
  base32_nopad: (t) => base32Decode(t, BASE32),
  base32hex: (t) => base32Decode(t, BASE32HEX),
  base32hex_nopad: (t) => base32Decode(t, BASE32HEX),
  base64: (t) => base64Decode(t, false),
  base64_nopad: (t) => base64Decode(t, false),
  base64url: (t) => base64Decode(t, true),
  base64url_nopad: (t) => base64Decode(t, true),
};

// kumo.digest names → node:crypto algorithm names.
const DIGESTS: Readonly<Record<string, string>> = {
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha512_256: 'sha512-256',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
};

/** The digest of `parts` (each fed in turn) with one of `kumo.digest`'s algorithms. */
export function digest(algorithm: string, parts: readonly Uint8Array[]): Uint8Array {
  if (algorithm === 'crc32') {
    let value = 0;
    for (const p of parts) value = crc32(p, value);
    const out = Buffer.alloc(4);
    out.writeUInt32BE(value >>> 0);
    return out;
  }
  if (algorithm.startsWith('hmac_')) {
    const name = DIGESTS[algorithm.slice(5)];
    if (!name || parts.length !== 2)
      throw new Error(`kumo.digest.${algorithm}: expected (key, message)`);
    return createHmac(name, parts[0]!).update(parts[1]!).digest();
  }
  const name = DIGESTS[algorithm];
  if (!name) throw new Error(`kumo.digest.${algorithm} is not supported`);
  const hash = createHash(name);
  for (const p of parts) hash.update(p);
  return hash.digest();
}
