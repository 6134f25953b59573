import { describe, expect, it } from 'vitest';
import { listFor, loopbackPath, message, mustConnect, signal, sink } from './helpers.js';
import { scriptedPeer } from './scripted-peer.js';

describe('on nodemailer', () => {
  it('pipelines MAIL, RCPT and DATA only when enable_pipelining is on', async () => {
    for (const enable of [true, false]) {
      const peer = await scriptedPeer();
      const c = await mustConnect(
        { smtp: { mx_list: [`127.0.0.1:${peer.port}`] } },
        loopbackPath({ enable_tls: 'Disabled', enable_pipelining: enable }),
      );
      const outcomes = await c.send(message(['a@example.com', 'b@example.com']), {
        signal: signal(),
      });
      expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'delivered']);
      const batched = peer.chunks[0]!.some(
        (read) => read.includes('MAIL') && read.includes('RCPT'),
      );
      expect(batched, `enable_pipelining ${enable}`).toBe(enable);
      expect(peer.sessions[0]!.map((l) => l.split(/[ :]/)[0])).toEqual([
        'EHLO',
        'MAIL',
        'RCPT',
        'RCPT',
        'DATA',
      ]);
    }
  });

  it('names the MAIL FROM command, with its parameters, when its reply never comes', async () => {
    const s = await sink({ onMailFrom: () => 'stall' });
    const c = await mustConnect(listFor(s), loopbackPath({ mail_from_timeout: 0.3 }));
    const sent = message(['a@example.com']);
    const outcomes = await c.send(sent, { signal: signal() });
    const command = `MAIL FROM:<sender@example.org> SIZE=${sent.size}\r\n`;
    expect(outcomes[0]).toMatchObject({
      kind: 'transient',
      response: { code: 421, command },
    });
    expect(outcomes[0]!.response.content).toBe(
      `KumoMTA internal: failed to send message to mx_list:127.0.0.1:${s.port} 127.0.0.1 127.0.0.1:${s.port}: Timed Out waiting 300ms for response to ${command.trimEnd()}`,
    );
    expect(c.isUsable?.()).toBe(false);
  });

  it('times out the reply after the data with data_dot_timeout', async () => {
    const s = await sink({ onData: () => 'stall' });
    const c = await mustConnect(listFor(s), loopbackPath({ data_dot_timeout: 0.3 }));
    const outcomes = await c.send(message(['a@example.com', 'b@example.com']), {
      signal: signal(),
    });
    expect(outcomes.map((o) => [o.kind, o.response.code, o.response.command])).toEqual([
      ['transient', 421, '.\r\n'],
      ['transient', 421, '.\r\n'],
    ]);
    expect(outcomes[0]!.response.content).toMatch(/Timed Out waiting 300ms for response to \.$/);
  });

  it('over LMTP keeps the recipients answered before a 421 that ends the session', async () => {
    const s = await sink({ lmtp: true });
    const c = await mustConnect(listFor(s), loopbackPath({ use_lmtp: true }));
    const outcomes = await c.send(message(['a@example.com', 'data421@example.com']), {
      signal: signal(),
    });
    expect(outcomes.map((o) => [o.kind, o.response.code, o.response.command])).toEqual([
      ['delivered', 250, '.\r\n'],
      ['transient', 421, '.\r\n'],
    ]);
    expect(c.isUsable?.()).toBe(false);
    expect(s.messages.map((m) => m.recipients)).toEqual([['a@example.com']]);
  });

  it('sends the message bytes, dot-stuffed on the wire and restored by the peer', async () => {
    const s = await sink();
    const c = await mustConnect(listFor(s), loopbackPath());
    const body = '.leading dot\r\n..two dots\r\nlast line';
    const outcomes = await c.send(message(['a@example.com'], body), { signal: signal() });
    expect(outcomes[0]!.kind).toBe('delivered');
    expect(s.messages[0]!.data.toString()).toMatch(
      /\r\n\r\n\.leading dot\r\n\.\.two dots\r\nlast line\r\n$/,
    );
  });

  it('sends bare line ends as CRLF (nodemailer normalises them)', async () => {
    const s = await sink();
    const c = await mustConnect(listFor(s), loopbackPath());
    const outcomes = await c.send(message(['a@example.com'], 'one\ntwo\rthree'), {
      signal: signal(),
    });
    expect(outcomes[0]!.kind).toBe('delivered');
    expect(s.messages[0]!.data.toString()).toMatch(/\r\n\r\none\r\ntwo\r\nthree\r\n$/);
  });

  it("bounces a message larger than the peer's SIZE without sending it", async () => {
    const peer = await scriptedPeer({ size: 64 });
    const c = await mustConnect(
      { smtp: { mx_list: [`127.0.0.1:${peer.port}`] } },
      loopbackPath({ enable_tls: 'Disabled' }),
    );
    const outcomes = await c.send(message(['a@example.com'], 'x'.repeat(100)), {
      signal: signal(),
    });
    expect(outcomes[0]).toMatchObject({
      kind: 'permanent',
      response: { code: 552, enhanced_code: { class: 5, subject: 3, detail: 4 } },
    });
    expect(peer.sessions[0]!.map((l) => l.split(/[ :]/)[0])).toEqual(['EHLO']);
    expect(c.isUsable?.()).toBe(true);
  });
});
