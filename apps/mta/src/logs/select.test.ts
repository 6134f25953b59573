import { parseHeaders } from '@sterna/core/engine';
import { describe, expect, it } from 'vitest';
import { headerText, selectHeaders, selectMeta } from './select.js';

describe('selectMeta', () => {
  const meta = { tenant: 't', Tenant: 'T', xfer_a: 1, xfer_b: null, campaign: null, q: [1, 2] };

  it('copies exactly the listed keys, case-sensitively, skipping nulls', () => {
    expect(selectMeta(meta, ['tenant', 'campaign', 'missing', 'q'])).toEqual({
      tenant: 't',
      q: [1, 2],
    });
  });

  it('expands prefix* wildcards', () => {
    expect(selectMeta(meta, ['xfer_*'])).toEqual({ xfer_a: 1, xfer_b: null });
    expect(selectMeta(meta, ['*'])).toEqual(meta);
    expect(selectMeta(meta, [])).toEqual({});
  });

  it('does not read inherited properties', () => {
    expect(selectMeta(meta, ['toString', 'constructor'])).toEqual({});
  });
});

describe('selectHeaders', () => {
  const headers = parseHeaders(
    Buffer.from(
      'Received: from a\r\nreceived: from b\r\nSubject: hi\r\nX-Tag: one\r\nx-other: two\r\n' +
        'X-Tag: three\r\nTo: r@example.com\r\n\r\nbody',
    ),
  );

  it('matches names case-insensitively, keyed by the first spelling, arrays when repeated', () => {
    expect(selectHeaders(headers, ['SUBJECT', 'received'])).toEqual({
      Subject: 'hi',
      Received: ['from a', 'from b'],
    });
  });

  it('expands X-* wildcards and records a header once when matched twice', () => {
    expect(selectHeaders(headers, ['x-*', 'X-Tag'])).toEqual({
      'X-Tag': ['one', 'three'],
      'x-other': 'two',
    });
    expect(selectHeaders(headers, [])).toEqual({});
    expect(selectHeaders(headers, ['Missing'])).toEqual({});
  });
});

describe('headerText', () => {
  it('decodes RFC 2047 words, as KumoMTA reads headers as unstructured text', () => {
    expect(headerText('=?UTF-8?B?w6l0w6k=?= and =?ISO-8859-1?Q?caf=E9?=')).toBe('été and café');
  });

  it('reads raw UTF-8 parsed as Latin-1 back as UTF-8, and leaves other text alone', () => {
    const raw = Buffer.from('Grüße', 'utf8').toString('latin1');
    expect(headerText(raw)).toBe('Grüße');
    expect(headerText('café')).toBe('café'); // Latin-1 é alone is not UTF-8: kept
    expect(headerText('plain = text ?')).toBe('plain = text ?');
  });
});
