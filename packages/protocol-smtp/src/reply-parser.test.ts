import { expect, it } from 'vitest';
import { ReplyParser, ReplyTooLargeError } from './reply-parser.js';

it('joins continuation lines and splits replies across chunks', () => {
  const parser = new ReplyParser();
  expect(parser.push('250-mx.test hello\r\n250-PIPE')).toEqual([]);
  expect(parser.push('LINING\r\n250 SIZE 100\r\n220 ')).toEqual([
    { code: 250, raw: '250-mx.test hello\r\n250-PIPELINING\r\n250 SIZE 100' },
  ]);
  expect(parser.push('go ahead\n')).toEqual([{ code: 220, raw: '220 go ahead' }]);
});

it('accepts a bare code and marks nonsense with code 0', () => {
  const parser = new ReplyParser();
  expect(parser.push('250\r\nhello there\r\n')).toEqual([
    { code: 250, raw: '250' },
    { code: 0, raw: 'hello there' },
  ]);
});

it('refuses an endless line', () => {
  const parser = new ReplyParser();
  expect(() => parser.push('2'.repeat(70_000))).toThrow(ReplyTooLargeError);
});
