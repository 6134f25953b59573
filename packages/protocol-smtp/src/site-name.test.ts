import { expect, it } from 'vitest';
import { mxSiteName } from './site-name.js';

it('names one host by itself', () => {
  expect(mxSiteName(['MX.Example.com.'])).toBe('mx.example.com');
});

it('factors a shared suffix, marking the bare suffix with ?', () => {
  const gmail = [
    'alt2.gmail-smtp-in.l.google.com',
    'gmail-smtp-in.l.google.com',
    'alt1.gmail-smtp-in.l.google.com',
    'alt4.gmail-smtp-in.l.google.com',
    'alt3.gmail-smtp-in.l.google.com',
  ];
  expect(mxSiteName(gmail)).toBe('(alt1|alt2|alt3|alt4)?.gmail-smtp-in.l.google.com');
});

it('is the same whatever the order, case and duplicates', () => {
  const a = mxSiteName(['mx2.example.net', 'mx1.example.net']);
  expect(a).toBe('(mx1|mx2).example.net');
  expect(mxSiteName(['MX1.example.net.', 'mx2.example.net', 'mx1.example.net'])).toBe(a);
});

it('lists hosts without a useful shared suffix', () => {
  expect(mxSiteName(['a.example.com', 'b.example.org'])).toBe('(a.example.com|b.example.org)');
});
