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
