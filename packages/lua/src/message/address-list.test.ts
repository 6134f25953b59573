import { describe, expect, it } from 'vitest';
import { parseAddressList } from './address-list.js';

describe('parseAddressList', () => {
  it('reads names, quoted names, bare addresses, comments and groups', () => {
    expect(
      parseAddressList(
        '"Smith, John" <john.smith@example.com>, plain@example.com (a comment), Jane Doe <jane@example.com>, team: a@x.example, b@x.example;, undisclosed-recipients:;',
      ),
    ).toEqual([
      { name: 'Smith, John', address: 'john.smith@example.com' },
      { name: null, address: 'plain@example.com' },
      { name: 'Jane Doe', address: 'jane@example.com' },
      { name: null, address: 'a@x.example' },
      { name: null, address: 'b@x.example' },
    ]);
  });

  it('one address', () => {
    expect(parseAddressList('<only@example.com>')).toEqual([
      { name: null, address: 'only@example.com' },
    ]);
  });
});

// Where nodemailer's addressparser reads the syntax differently (bench/address-list.ts): a
// comment is CFWS (RFC 5322 §3.2.2), never the display name; and, leniently, a value with no
// angle brackets is an address even without `@` (addressparser makes it a name with no address).
describe('parseAddressList where addressparser differs', () => {
  it('a comment is not the display name', () => {
    expect(parseAddressList('plain@example.com (Plain Person)')).toEqual([
      { name: null, address: 'plain@example.com' },
    ]);
    expect(parseAddressList('Name (comment) <n@example.com> (work)')).toEqual([
      { name: 'Name', address: 'n@example.com' },
    ]);
  });

  it('a bare local part is an address, not a name', () => {
    expect(parseAddressList('postmaster')).toEqual([{ name: null, address: 'postmaster' }]);
  });

  it('an empty display name is null, quoted text and escapes are kept', () => {
    expect(
      parseAddressList('"" <e@example.com>, "Quoted \\"inner\\" name" <q@example.com>'),
    ).toEqual([
      { name: null, address: 'e@example.com' },
      { name: 'Quoted "inner" name', address: 'q@example.com' },
    ]);
  });
});
