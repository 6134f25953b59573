import { expect, it } from 'vitest';
import { dataChunks, hasEightBit } from './dot-stuff.js';

const wire = (text: string) => Buffer.concat(dataChunks(Buffer.from(text))).toString('latin1');

it('doubles dots that start lines, including the first', () => {
  expect(wire('.a\r\nb\r\n..c\r\n.\r\n')).toBe('..a\r\nb\r\n...c\r\n..\r\n.\r\n');
});

it('adds the final CRLF when missing and leaves the rest alone', () => {
  expect(wire('a\r\nb')).toBe('a\r\nb\r\n.\r\n');
  expect(wire('a.b\r\n')).toBe('a.b\r\n.\r\n');
  expect(wire('')).toBe('.\r\n');
});

it('does not copy a body without leading dots', () => {
  const body = Buffer.from('Subject: x\r\n\r\nhi\r\n');
  const chunks = dataChunks(body);
  expect(chunks[0]!.buffer).toBe(body.buffer);
});

it('spots 8-bit bytes', () => {
  expect(hasEightBit(Buffer.from('plain'))).toBe(false);
  expect(hasEightBit(Buffer.from('café'))).toBe(true);
});
