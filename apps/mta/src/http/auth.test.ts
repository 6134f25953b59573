import { silentLogger } from '@sterna/core';
import { describe, expect, it } from 'vitest';
import type { ReceptionPolicy } from '../policy/types.js';
import { identify, parseBasicAuth, TRUSTED_GROUP } from './auth.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function policy(validate?: (user: string, password: string) => unknown): ReceptionPolicy {
  return {
    hasEvent: (event) => event === 'http_server_validate_auth_basic' && validate !== undefined,
    call: async (_event, args) => validate!(args[0] as string, args[1] as string),
    callWithMessage: async () => {
      throw new Error('unused');
    },
  };
}

describe('parseBasicAuth', () => {
  it('splits at the first colon, so passwords may hold colons', () => {
    expect(parseBasicAuth(`Basic ${b64('user:pa:ss')}`)).toEqual({
      user: 'user',
      password: 'pa:ss',
    });
    expect(parseBasicAuth(`basic ${b64('ü:')}`)).toEqual({ user: 'ü', password: '' });
  });

  it('ignores other schemes and malformed values', () => {
    expect(parseBasicAuth(undefined)).toBeUndefined();
    expect(parseBasicAuth('Bearer abc')).toBeUndefined();
    expect(parseBasicAuth(`Basic ${b64('nocolon')}`)).toBeUndefined();
    expect(parseBasicAuth('Basic %%%')).toBeUndefined();
  });
});

describe('identify', () => {
  const trusted = (ip: string) => ip === '127.0.0.1';

  it('trusts a listed peer without credentials', async () => {
    expect(await identify('127.0.0.1', undefined, trusted, policy(), silentLogger)).toEqual({
      trusted: true,
      user: null,
      info: { peer_address: '127.0.0.1', identities: [], groups: [TRUSTED_GROUP] },
    });
    expect(await identify('10.1.1.1', undefined, trusted, policy(), silentLogger)).toBeUndefined();
  });

  it('treats another scheme as no credentials, and a malformed Basic value as refused', async () => {
    const open = policy(() => true);
    expect(await identify('127.0.0.1', 'Bearer t0k3n', trusted, open, silentLogger)).toMatchObject({
      trusted: true,
      user: null,
    });
    expect(await identify('10.1.1.1', 'Bearer t0k3n', trusted, open, silentLogger)).toBeUndefined();
    expect(await identify('127.0.0.1', 'Basic %%%', trusted, open, silentLogger)).toBeUndefined();
  });

  it('accepts true or a table from the policy, refuses anything else or a throwing handler', async () => {
    const p = policy(
      (user) =>
        ({ alice: true, bob: { groups: ['g', 7] }, carol: false, dave: 'yes' })[user] ?? reject(),
    );
    const reject = () => {
      throw new Error('boom');
    };
    const alice = await identify('10.1.1.1', `Basic ${b64('alice:x')}`, trusted, p, silentLogger);
    expect(alice).toMatchObject({ trusted: false, user: 'alice', info: { groups: [] } });
    const bob = await identify('127.0.0.1', `Basic ${b64('bob:x')}`, trusted, p, silentLogger);
    expect(bob?.info.groups).toEqual([TRUSTED_GROUP, 'g']);
    for (const user of ['carol', 'dave', 'erin']) {
      expect(
        await identify('10.1.1.1', `Basic ${b64(`${user}:x`)}`, trusted, p, silentLogger),
      ).toBeUndefined();
    }
  });
});
