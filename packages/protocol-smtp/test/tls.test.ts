import { isDeliveryFailure } from '@sterna/core';
import { describe, expect, it } from 'vitest';
import { connect, listFor, loopbackPath, message, signal, sink } from './helpers.js';
import { brokenTlsPeer } from './scripted-peer.js';

// The testkit's sink offers STARTTLS with a self-signed certificate (tls: true), or no STARTTLS.
describe('enable_tls with a self-signed certificate', () => {
  it('Opportunistic verifies, fails that host and does not fall back to clear text', async () => {
    const s = await sink();
    const result = await connect(listFor(s), loopbackPath({ enable_tls: 'Opportunistic' }));
    if (!isDeliveryFailure(result)) throw new Error('connected');
    expect(result.kind).toBe('transient');
    expect(result.response.content).toMatch(
      /^KumoMTA internal: failed to connect to any candidate hosts: .*TLS handshake failed: .*self[- ]signed/,
    );
    expect(s.messages).toEqual([]);
  });

  it('Opportunistic reconnects in clear text with opportunistic_tls_reconnect_on_failed_handshake', async () => {
    const s = await sink();
    const path = loopbackPath({
      enable_tls: 'Opportunistic',
      opportunistic_tls_reconnect_on_failed_handshake: true,
    });
    const result = await connect(listFor(s), path);
    if (isDeliveryFailure(result)) throw new Error(result.response.content);
    const outcomes = await result.send(message(['a@example.com']), { signal: signal() });
    expect(outcomes[0]).toMatchObject({ kind: 'delivered' });
    expect(outcomes[0]!.tls).toBeUndefined();
    expect(s.messages.map((m) => m.secure)).toEqual([false]);
    expect(s.sessions()).toBe(2);
  });

  it('OpportunisticInsecure delivers over TLS without verifying, and reports the cipher', async () => {
    const s = await sink();
    const result = await connect(listFor(s), loopbackPath({ enable_tls: 'OpportunisticInsecure' }));
    if (isDeliveryFailure(result)) throw new Error(result.response.content);
    const outcomes = await result.send(message(['a@example.com']), { signal: signal() });
    expect(outcomes[0]).toMatchObject({
      kind: 'delivered',
      tls: {
        cipher: expect.stringMatching(/^TLS_/),
        protocolVersion: expect.stringMatching(/^TLSv1\.[23]$/),
      },
    });
    expect(outcomes[0]!.tls?.peerSubjectName).toEqual(['localhost']);
    expect(s.messages.map((m) => m.secure)).toEqual([true]);
  });

  it('Opportunistic delivers in clear text to a peer without STARTTLS', async () => {
    const s = await sink({ tls: false });
    const result = await connect(listFor(s), loopbackPath({ enable_tls: 'Opportunistic' }));
    if (isDeliveryFailure(result)) throw new Error(result.response.content);
    const outcomes = await result.send(message(['a@example.com']), { signal: signal() });
    expect(outcomes[0]!.kind).toBe('delivered');
    expect(s.messages.map((m) => m.secure)).toEqual([false]);
  });

  it('Required fails a host that does not offer STARTTLS', async () => {
    const s = await sink({ tls: false });
    const result = await connect(listFor(s), loopbackPath({ enable_tls: 'Required' }));
    if (!isDeliveryFailure(result)) throw new Error('connected');
    expect(result.response.content).toContain('STARTTLS not offered and enable_tls is Required');
  });

  it('Required fails a host whose certificate does not verify', async () => {
    const s = await sink();
    const result = await connect(listFor(s), loopbackPath({ enable_tls: 'Required' }));
    if (!isDeliveryFailure(result)) throw new Error('connected');
    expect(result.response.content).toContain('TLS handshake failed');
    expect(s.messages).toEqual([]);
  });

  it('RequiredInsecure delivers over TLS, and fails without STARTTLS', async () => {
    const s = await sink();
    const result = await connect(listFor(s), loopbackPath({ enable_tls: 'RequiredInsecure' }));
    if (isDeliveryFailure(result)) throw new Error(result.response.content);
    expect((await result.send(message(['a@example.com']), { signal: signal() }))[0]!.kind).toBe(
      'delivered',
    );
    expect(s.messages.map((m) => m.secure)).toEqual([true]);
    const clear = await sink({ tls: false });
    const refused = await connect(listFor(clear), loopbackPath({ enable_tls: 'RequiredInsecure' }));
    expect(isDeliveryFailure(refused) && refused.response.content).toContain(
      'STARTTLS not offered',
    );
  });

  it('Disabled stays in clear text although STARTTLS is offered', async () => {
    const s = await sink();
    const result = await connect(listFor(s), loopbackPath({ enable_tls: 'Disabled' }));
    if (isDeliveryFailure(result)) throw new Error(result.response.content);
    const outcomes = await result.send(message(['a@example.com']), { signal: signal() });
    expect(outcomes[0]!.kind).toBe('delivered');
    expect(outcomes[0]!.tls).toBeUndefined();
    expect(s.messages.map((m) => m.secure)).toEqual([false]);
  });
});

describe('a TLS handshake that fails whatever is verified', () => {
  it('OpportunisticInsecure carries on in clear text', async () => {
    const peer = await brokenTlsPeer();
    const result = await connect(
      { smtp: { mx_list: [`127.0.0.1:${peer.port}`] } },
      loopbackPath({ enable_tls: 'OpportunisticInsecure' }),
    );
    if (isDeliveryFailure(result)) throw new Error(result.response.content);
    const outcomes = await result.send(message(['a@example.com']), { signal: signal() });
    expect(outcomes[0]).toMatchObject({ kind: 'delivered', response: { code: 250 } });
    expect(outcomes[0]!.tls).toBeUndefined();
    expect(peer.sessions.map((lines) => lines.map((l) => l.split(/[ :]/)[0]))).toEqual([
      ['EHLO', 'STARTTLS'],
      ['EHLO', 'MAIL', 'RCPT', 'DATA'],
    ]);
  });

  it('Opportunistic and RequiredInsecure fail the host', async () => {
    for (const mode of ['Opportunistic', 'RequiredInsecure'] as const) {
      const peer = await brokenTlsPeer();
      const result = await connect(
        { smtp: { mx_list: [`127.0.0.1:${peer.port}`] } },
        loopbackPath({ enable_tls: mode }),
      );
      expect(isDeliveryFailure(result) && result.response.content, mode).toContain(
        'TLS handshake failed',
      );
      expect(peer.sessions, mode).toHaveLength(1);
    }
  });
});

it('fails a host that sends data between its 220 to STARTTLS and the handshake', async () => {
  const peer = await brokenTlsPeer(true);
  const result = await connect(
    { smtp: { mx_list: [`127.0.0.1:${peer.port}`] } },
    loopbackPath({ enable_tls: 'RequiredInsecure' }),
  );
  expect(isDeliveryFailure(result) && result.response.content).toContain(
    'the peer sent data after its reply to STARTTLS',
  );
});
