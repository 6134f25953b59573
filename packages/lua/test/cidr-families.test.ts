import { beforeAll, describe, expect, it } from 'vitest';
import { inMs, loadedContext } from './helpers.js';

describe('kumo.cidr.make_map keeps IPv4 and IPv6 apart', () => {
  let context: Awaited<ReturnType<typeof loadedContext>>;
  beforeAll(async () => {
    context = await loadedContext('cidr-families.lua');
  });
  const call = async (event: string, arg: string) => {
    const outcome = await context.call(event, [arg], inMs(2000));
    if (outcome.status !== 'ok') throw new Error(JSON.stringify(outcome));
    return outcome.values[0];
  };

  it("'::/0' answers IPv6 peers and nil for IPv4 ones, IPv4-mapped included", async () => {
    expect(await call('v6_only', '::1')).toBe('v6');
    expect(await call('v6_only', '[IPv6:2001:db8::1]:25')).toBe('v6');
    expect(await call('v6_only', '127.0.0.1')).toBeUndefined();
    expect(await call('v6_only', '127.0.0.1:2525')).toBeUndefined();
    expect(await call('v6_only', '::ffff:127.0.0.1')).toBeUndefined();
  });

  it('an IPv4-mapped peer and rule are IPv4', async () => {
    expect(await call('both', '::ffff:192.0.2.1')).toBe('v4');
    expect(await call('both', '192.0.2.1')).toBe('v4');
    expect(await call('both', '10.1.2.3')).toBe('ten');
    expect(await call('both', '::ffff:10.1.2.3')).toBe('ten');
    expect(await call('both', 'fd00::1')).toBe('v6');
  });

  it('a key with host bits set is a Lua error naming the key', async () => {
    const outcome = await context.call('bad_key', ['192.168.1.1/24'], inMs(2000));
    expect(outcome.status).toBe('error');
    expect(outcome.status === 'error' && outcome.message).toContain(
      "'192.168.1.1/24' is not a valid CIDR block",
    );
    expect(outcome.status === 'error' && outcome.message).toContain(
      "did you mean '192.168.1.0/24'",
    );
  });
});
