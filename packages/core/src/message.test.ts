import { describe, expect, it } from 'vitest';
import { createMessage, domainOf, localPartOf } from './message.js';

const DATA =
  'Received: from a\r\n  by b; Sat, 28 Nov 2026 02:05:31 +0000\r\n' +
  'Subject: =?UTF-8?Q?caf=C3=A9?=\r\n' +
  'X-Campaign-ID: spring\r\n' +
  'subject: second\r\n' +
  'To: Someone\r\n\t<someone@example.com>\r\n' +
  '\r\n' +
  'Body-Line: not a header\r\n';

describe('createMessage', () => {
  const msg = createMessage({
    sender: 'from@example.org',
    recipients: ['to@Example.COM'],
    data: DATA,
    meta: { tenant: 't1' },
  });

  it('has an id, creation time, size and a queue from the first recipient domain', () => {
    expect(msg.id).toMatch(/^[0-9a-f]{32}$/);
    expect(Math.abs(msg.created - Date.now())).toBeLessThan(5000);
    expect(msg.size).toBe(Buffer.byteLength(DATA));
    expect(msg.queue).toBe('example.com');
    expect(msg.num_attempts).toBe(0);
  });

  it('looks headers up case-insensitively, unfolded, stopping at the body', () => {
    expect(msg.header('subject')).toBe('=?UTF-8?Q?caf=C3=A9?=');
    expect(msg.headers('SUBJECT')).toEqual(['=?UTF-8?Q?caf=C3=A9?=', 'second']);
    expect(msg.header('received')).toBe('from a  by b; Sat, 28 Nov 2026 02:05:31 +0000');
    expect(msg.header('to')).toBe('Someone\t<someone@example.com>');
    expect(msg.header('body-line')).toBeUndefined();
    expect(msg.header('missing')).toBeUndefined();
    expect(msg.allHeaders().map((h) => h.name)).toEqual([
      'Received',
      'Subject',
      'X-Campaign-ID',
      'subject',
      'To',
    ]);
  });

  it('gets and sets meta', () => {
    expect(msg.getMeta('tenant')).toBe('t1');
    msg.setMeta('x_key', { a: [1, 'b'] });
    expect(msg.getMeta('x_key')).toEqual({ a: [1, 'b'] });
    msg.setMeta('x_key', undefined);
    expect(msg.metaObject()).toEqual({ tenant: 't1' });
  });

  it('streams the same bytes', async () => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of msg.stream()) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe(DATA);
  });

  it('parses a message with LF line endings and no body', () => {
    const m = createMessage({ sender: '', recipients: ['a@b'], data: 'A: 1\nB: 2\n' });
    expect(m.header('b')).toBe('2');
  });
});

describe('address parts', () => {
  it('splits at the last @', () => {
    expect(localPartOf('"a@b"@example.com')).toBe('"a@b"');
    expect(domainOf('"a@b"@example.com')).toBe('example.com');
    expect(domainOf('postmaster')).toBe('');
  });
});
