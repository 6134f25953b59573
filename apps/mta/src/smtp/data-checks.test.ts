import { describe, expect, it } from 'vitest';
import { checkMessageData } from './data-checks.js';

const rules = (invalid_line_endings: 'Deny' | 'Allow' | 'Fix', limit = 10) => ({
  line_length_hard_limit: limit,
  invalid_line_endings,
});

describe('checkMessageData', () => {
  it('counts a line without its CRLF, and refuses one byte over the limit', () => {
    const at = Buffer.from(`${'a'.repeat(10)}\r\nshort\r\n`);
    expect(checkMessageData(at, rules('Deny'))).toEqual({ data: at });
    const over = Buffer.from(`ok\r\n${'a'.repeat(11)}\r\n`);
    expect(checkMessageData(over, rules('Deny'))).toEqual({
      rejection: { code: 500, text: '5.2.3 line too long' },
    });
  });

  it('checks the last line when it has no line ending', () => {
    expect(checkMessageData(Buffer.from(`ok\r\n${'a'.repeat(11)}`), rules('Deny'))).toMatchObject({
      rejection: { code: 500 },
    });
    expect(checkMessageData(Buffer.from(`ok\r\n${'a'.repeat(10)}`), rules('Deny'))).toHaveProperty(
      'data',
    );
  });

  it('refuses, repairs or keeps a bare LF as invalid_line_endings says', () => {
    const bare = Buffer.from('one\r\ntwo\nthree\r\n');
    expect(checkMessageData(bare, rules('Deny'))).toEqual({
      rejection: { code: 552, text: '5.6.0 message data must use CRLF for line endings' },
    });
    expect(checkMessageData(bare, rules('Allow'))).toEqual({ data: bare });
    const fixed = checkMessageData(bare, rules('Fix'));
    expect('data' in fixed && fixed.data.toString()).toBe('one\r\ntwo\r\nthree\r\n');
  });

  it('finds a bare LF as the very first byte', () => {
    expect(checkMessageData(Buffer.from('\nx\r\n'), rules('Deny'))).toMatchObject({
      rejection: { code: 552 },
    });
  });
});
