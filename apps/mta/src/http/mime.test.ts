import libmime from 'libmime';
import { describe, expect, it } from 'vitest';
import { base64Lines, formatAddress, headerLine, quotedPrintable } from './mime.js';

function decodeQp(body: string): string {
  const latin = body
    .replace(/=\r\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return Buffer.from(latin, 'latin1').toString('utf8');
}

describe('quotedPrintable', () => {
  it('encodes =, non-ASCII and trailing whitespace, and keeps lines within 76 characters', () => {
    expect(quotedPrintable('a=b')).toBe('a=3Db');
    expect(quotedPrintable('café')).toBe('caf=C3=A9');
    expect(quotedPrintable('end \nnext\t')).toBe('end=20\r\nnext=09');
    const long = quotedPrintable('x'.repeat(200));
    expect(long.split('\r\n').every((l) => l.length <= 76)).toBe(true);
    expect(decodeQp(long)).toBe('x'.repeat(200));
  });

  it('round-trips varied text without splitting an escape across a soft break', () => {
    const alphabet = ['a', ' ', '=', 'é', '€', '\t', '.', '😀', '\n', 'Z'];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let round = 0; round < 200; round++) {
      const text = Array.from(
        { length: next() % 300 },
        () => alphabet[next() % alphabet.length],
      ).join('');
      const encoded = quotedPrintable(text);
      expect(
        encoded.split('\r\n').every((l) => l.length <= 76 && /^[\x21-\x7e \t]*$/.test(l)),
      ).toBe(true);
      expect(encoded).not.toMatch(/=(?![0-9A-F]{2}|\r\n|$)/);
      expect(decodeQp(encoded)).toBe(text.replace(/\n/g, '\r\n'));
    }
  });
});

describe('headerLine', () => {
  it('folds a CR or LF in a value into a space, so no header can be injected', () => {
    expect(headerLine('Subject', 'hi\r\nBcc: victim@example.com')).toBe(
      'Subject: hi Bcc: victim@example.com\r\n',
    );
  });

  it('RFC 2047-encodes non-ASCII text unless raw, and folds long values', () => {
    const line = headerLine('Subject', 'Grüße aus Köln');
    expect(line).toMatch(/=\?UTF-8\?Q\?/);
    expect(
      libmime.decodeWords(
        line
          .slice('Subject: '.length)
          .replace(/\r\n\s*/g, ' ')
          .trim(),
      ),
    ).toBe('Grüße aus Köln');
    const long = headerLine('X-Long', 'word '.repeat(40).trim());
    expect(
      long
        .split('\r\n')
        .slice(0, -1)
        .every((l) => l.length <= 78),
    ).toBe(true);
    expect(long.replace(/\r\n /g, ' ')).toBe(`X-Long: ${'word '.repeat(40).trim()}\r\n`);
  });
});

describe('formatAddress', () => {
  it('writes the bare address, a plain name, a quoted name or an encoded name', () => {
    expect(formatAddress({ email: 'a@b.example' })).toBe('a@b.example');
    expect(formatAddress({ email: 'a@b.example', name: 'Ann Lee' })).toBe('Ann Lee <a@b.example>');
    expect(formatAddress({ email: 'a@b.example', name: 'Lee, Ann (QA)' })).toBe(
      '"Lee, Ann (QA)" <a@b.example>',
    );
    expect(formatAddress({ email: 'a@b.example', name: 'back\\slash "q"' })).toBe(
      '"back\\\\slash \\"q\\"" <a@b.example>',
    );
    expect(formatAddress({ email: 'a@b.example', name: 'Zoë' })).toBe(
      '=?UTF-8?Q?Zo=C3=AB?= <a@b.example>',
    );
  });
});

describe('base64Lines', () => {
  it('wraps at 76 characters', () => {
    const data = Buffer.alloc(200, 7);
    const text = base64Lines(data);
    expect(text.split('\r\n').map((l) => l.length)).toEqual([76, 76, 76, 40]);
    expect(Buffer.from(text.replace(/\r\n/g, ''), 'base64').equals(data)).toBe(true);
  });
});
