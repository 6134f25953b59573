import { describe, expect, it } from 'vitest';
import {
  classifyResponse,
  formatEnhancedCode,
  makeResponse,
  parseEnhancedCode,
  parseSmtpReply,
} from './response.js';

describe('classifyResponse', () => {
  it.each([
    ['250 2.0.0 OK', 'delivered'],
    ['200 wrote it', 'delivered'],
    ['421 4.3.2 shutting down', 'transient'],
    ['450 4.2.0 mailbox busy', 'transient'],
    ['452 4.5.3 too many recipients', 'transient'],
    ['354 go ahead', 'transient'],
    ['503 5.5.1 bad sequence', 'transient'],
    ['550 5.5.3 too many recipients', 'transient'],
    ['550 5.1.1 no such user', 'permanent'],
    ['554 transaction failed', 'permanent'],
    ['552 5.3.4 message too big', 'permanent'],
    ['556 5.1.10 null MX', 'permanent'],
  ])('%s → %s', (reply, kind) => {
    expect(classifyResponse(parseSmtpReply(reply)!)).toBe(kind);
  });

  it('treats a 552 to RCPT without an enhanced code as too many recipients', () => {
    expect(classifyResponse(parseSmtpReply('552 too many', 'RCPT TO:<a@b>\r\n')!)).toBe(
      'transient',
    );
    expect(classifyResponse(parseSmtpReply('552 too big', '.\r\n')!)).toBe('permanent');
  });

  it('keeps mail on a nonsense code', () => {
    expect(classifyResponse({ code: 100, enhanced_code: null })).toBe('transient');
  });
});

describe('responses', () => {
  it('parses multi-line replies and their enhanced code', () => {
    expect(parseSmtpReply('550-5.1.1 first\r\n550 5.1.1 second', '.\r\n')).toEqual({
      code: 550,
      enhanced_code: { class: 5, subject: 1, detail: 1 },
      content: '5.1.1 first 5.1.1 second'.replace(/^5\.1\.1 /, ''),
      command: '.\r\n',
    });
  });

  it('returns null for text that is not a reply', () => {
    expect(parseSmtpReply('hello')).toBeNull();
    expect(parseSmtpReply('')).toBeNull();
    expect(parseSmtpReply('999 no')).toBeNull();
  });

  it('keeps the content whole when told there is no enhanced code', () => {
    expect(makeResponse(400, '4.4.4 left alone', { enhanced: null }).content).toBe(
      '4.4.4 left alone',
    );
    expect(makeResponse(451, '4.4.4 parsed').enhanced_code).toEqual({
      class: 4,
      subject: 4,
      detail: 4,
    });
  });

  it('folds line breaks to spaces', () => {
    expect(makeResponse(250, 'a\r\nb\nc').content).toBe('a b c');
  });

  it('refuses codes outside 100-599', () => {
    expect(() => makeResponse(600, 'x')).toThrow(/outside 100-599/);
    expect(() => makeResponse(25.5, 'x')).toThrow(/outside/);
  });

  it('round-trips enhanced codes', () => {
    expect(formatEnhancedCode(parseEnhancedCode('5.1.10 null MX')!)).toBe('5.1.10');
    expect(parseEnhancedCode('no code')).toBeNull();
  });
});
