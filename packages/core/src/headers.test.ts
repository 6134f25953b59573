import { describe, expect, it } from 'vitest';
import { latin1Text, parseHeaders } from './engine.js';

describe('header bytes as Latin-1', () => {
  it('reads every byte as the character of the same number, 0x80-0x9F included', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = latin1Text(bytes);
    expect([...text].map((c) => c.codePointAt(0))).toEqual([...bytes]);
    expect(Buffer.from(text, 'latin1').equals(Buffer.from(bytes))).toBe(true);
    // A view into a larger buffer reads only its own bytes.
    expect(latin1Text(bytes.subarray(0x9e, 0xa1))).toBe('\u009e\u009f\u00a0');
  });

  it('keeps raw UTF-8 in a header value byte for byte', () => {
    // 'ß' is C3 9F in UTF-8: windows-1252 (what TextDecoder('latin1') is on Node 24) reads 9F as Ÿ.
    const data = Buffer.from('From: "Grüße" <a@example.com>\r\n\r\nbody', 'utf8');
    const [from] = parseHeaders(data);
    expect(Buffer.from(from!.value, 'latin1').toString('utf8')).toBe('"Grüße" <a@example.com>');
  });
});
