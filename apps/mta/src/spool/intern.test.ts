import { describe, expect, it } from 'vitest';
import { intern, internMeta, keepMeta, shareMeta } from './intern.js';

describe('shared strings and meta of queued messages', () => {
  it('gives one instance of equal strings', () => {
    const a = intern(`sender-${'x'.repeat(20)}@example.org`);
    expect(intern(`sender-${'x'.repeat(20)}@example.org`)).toBe(a);
    const long = 'y'.repeat(1000);
    expect(intern(long)).toBe(long); // long strings are left alone
  });

  it('shares the string values of a meta object in place, nothing else', () => {
    const nested = ['CN=a'];
    const meta = internMeta({ received_via: '127.0.0.1:25', n: 1, tls_peer_subject_name: nested });
    expect(meta).toEqual({ received_via: '127.0.0.1:25', n: 1, tls_peer_subject_name: ['CN=a'] });
    expect(meta.tls_peer_subject_name).toBe(nested);
  });

  it('shares a meta object equal to the previous one, frozen, and one empty object', () => {
    const first = shareMeta({ reception_protocol: 'HTTP', received_from: '127.0.0.1:4000' });
    const second = shareMeta({ reception_protocol: 'HTTP', received_from: '127.0.0.1:4000' });
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => {
      (first as Record<string, unknown>).x = 1;
    }).toThrow(TypeError);
    const other = shareMeta({ reception_protocol: 'HTTP', received_from: '127.0.0.1:4001' });
    expect(other).not.toBe(first);
    expect(other).toEqual({ reception_protocol: 'HTTP', received_from: '127.0.0.1:4001' });
    // Same values in another key order, or nested values: not taken for the shared one.
    const reordered = shareMeta({ received_from: '127.0.0.1:4001', reception_protocol: 'HTTP' });
    expect(reordered).not.toBe(other);
    const a = shareMeta({ list: ['x'] });
    expect(shareMeta({ list: ['x'] })).not.toBe(a);
    expect(shareMeta({})).toBe(shareMeta({}));
  });

  it('keeps a message its meta object after an attempt that changed nothing', () => {
    const held = shareMeta({ reception_protocol: 'ESMTP', received_from: '127.0.0.1:5000' });
    // What the driver hands back after an attempt: a fresh copy.
    expect(keepMeta(held, { ...held })).toBe(held);
    const changed = keepMeta(held, { ...held, tenant: 'b' });
    expect(changed).toEqual({ ...held, tenant: 'b' });
    expect(Object.isFrozen(changed)).toBe(true);
    // Messages of one connection changed the same way share the new object.
    expect(keepMeta(held, { ...held, tenant: 'b' })).toBe(changed);
  });
});
