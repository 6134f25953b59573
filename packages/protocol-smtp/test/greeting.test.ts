import { isDeliveryFailure } from '@sterna/core';
import { describe, expect, it } from 'vitest';
import { connect, loopbackPath, message, mustConnect, signal } from './helpers.js';
import { scriptedPeer } from './scripted-peer.js';

describe('greetings', () => {
  it('falls back to HELO for a peer that refuses EHLO, in clear text', async () => {
    const peer = await scriptedPeer({ refuseEhlo: true });
    const c = await mustConnect({ smtp: { mx_list: [`127.0.0.1:${peer.port}`] } }, loopbackPath());
    const outcomes = await c.send(message(['a@example.com']), { signal: signal() });
    expect(outcomes[0]!.kind).toBe('delivered');
    expect(peer.sessions[0]!.map((l) => l.split(/[ :]/)[0])).toEqual([
      'EHLO',
      'HELO',
      'MAIL',
      'RCPT',
      'DATA',
    ]);
  });

  it('fails a host whose banner is not 220, quoting it', async () => {
    const peer = await scriptedPeer({ banner: '554 5.3.2 not accepting mail' });
    const result = await connect({ smtp: { mx_list: [`127.0.0.1:${peer.port}`] } }, loopbackPath());
    expect(isDeliveryFailure(result) && result.response.content).toBe(
      `KumoMTA internal: failed to connect to any candidate hosts: 127.0.0.1 127.0.0.1:${peer.port}: banner: 554 5.3.2 not accepting mail`,
    );
  });
});
