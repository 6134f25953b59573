import net from 'node:net';
import { isDeliveryFailure } from '@sterna/core';
import { selfSignedPair, testContext } from '@sterna/protocol-testkit';
import { SMTPServer } from 'smtp-server';
import { describe, expect, it } from 'vitest';
import {
  connect,
  later,
  listFor,
  loopbackPath,
  message,
  mustConnect,
  signal,
  sink,
} from './helpers.js';

/** An smtp-server that wants AUTH PLAIN as bench/bench. */
async function authServer(tls: boolean): Promise<{ port: number; users: string[] }> {
  const users: string[] = [];
  const pair = await selfSignedPair();
  const server = new SMTPServer({
    authMethods: ['PLAIN'],
    allowInsecureAuth: true,
    disabledCommands: tls ? [] : ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    key: pair.key,
    cert: pair.cert,
    onAuth(auth, _session, done) {
      if (auth.username === 'bench' && auth.password === 'secret') {
        users.push(auth.username);
        return done(null, { user: auth.username });
      }
      return done(new Error('5.7.8 bad credentials'));
    },
    onData(stream, _session, done) {
      stream.on('end', () => done());
      stream.resume();
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  later(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as net.AddressInfo).port, users };
}

/**
 * A scripted peer: banner, EHLO, then a 421 on its own when `goAway()` is called (by the test,
 * once it has seen the session usable: a timer could fire before the client has read the EHLO
 * reply on a busy machine, and the 421 would arrive with it).
 */
async function impatientPeer(): Promise<{ port: number; goAway(): void }> {
  const sockets = new Set<net.Socket>();
  const greeted = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.write('220 impatient.test ESMTP\r\n');
    socket.on('data', (chunk) => {
      if (/^EHLO /i.test(chunk.toString())) {
        socket.write('250-impatient.test\r\n250 PIPELINING\r\n');
        greeted.add(socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  later(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return {
    port: (server.address() as net.AddressInfo).port,
    goAway: () => {
      for (const socket of greeted) socket.end('421 4.4.2 impatient.test idle too long\r\n');
    },
  };
}

describe('egress path fields', () => {
  it('says EHLO with ehlo_domain, else the host name from the context', async () => {
    const names: string[] = [];
    const s = await sink({
      onRcpt: (_address, session) => {
        names.push(session.hostNameAppearsAs);
        return undefined;
      },
    });
    const ctx = testContext({ hostname: 'mta.sterna.test' });
    const byHost = await mustConnect(listFor(s), loopbackPath(), {}, ctx);
    await byHost.send(message(['a@example.com']), { signal: signal() });
    const byPath = await mustConnect(
      listFor(s),
      loopbackPath({ ehlo_domain: 'out.example.net' }),
      {},
      ctx,
    );
    await byPath.send(message(['a@example.com']), { signal: signal() });
    expect(names).toEqual(['mta.sterna.test', 'out.example.net']);
  });

  it('authenticates with AUTH PLAIN when configured', async () => {
    const server = await authServer(true);
    const table = { smtp: { mx_list: [`127.0.0.1:${server.port}`] } };
    const path = loopbackPath({
      smtp_auth_plain_username: 'bench',
      smtp_auth_plain_password: 'secret',
    });
    const c = await mustConnect(table, path);
    expect((await c.send(message(['a@example.com']), { signal: signal() }))[0]!.kind).toBe(
      'delivered',
    );
    expect(server.users).toEqual(['bench']);
    const wrong = await connect(table, { ...path, smtp_auth_plain_password: 'nope' });
    expect(isDeliveryFailure(wrong) && wrong.response.content).toMatch(/AUTH PLAIN rejected: 535/);
  });

  it('refuses AUTH PLAIN in clear text unless allow_smtp_auth_plain_without_tls', async () => {
    const server = await authServer(false);
    const table = { smtp: { mx_list: [`127.0.0.1:${server.port}`] } };
    const path = loopbackPath({
      smtp_auth_plain_username: 'bench',
      smtp_auth_plain_password: 'secret',
    });
    const refused = await connect(table, path);
    expect(isDeliveryFailure(refused) && refused.response.content).toContain(
      'AUTH PLAIN needs TLS',
    );
    expect(server.users).toEqual([]);
    const allowed = await mustConnect(table, { ...path, allow_smtp_auth_plain_without_tls: true });
    expect((await allowed.send(message(['a@example.com']), { signal: signal() }))[0]!.kind).toBe(
      'delivered',
    );
    expect(server.users).toEqual(['bench']);
  });

  it('tries the next host for the same message after a transport error when asked', async () => {
    const broken = await sink({ onRcpt: () => 'drop' });
    const good = await sink();
    const table = { smtp: { mx_list: [`127.0.0.1:${broken.port}`, `127.0.0.1:${good.port}`] } };
    const plain = await mustConnect(table, loopbackPath());
    const lost = await plain.send(message(['a@example.com']), { signal: signal() });
    expect(lost[0]).toMatchObject({ kind: 'transient', response: { code: 400 } });
    expect(good.messages).toHaveLength(0);
    const eager = await mustConnect(
      table,
      loopbackPath({ try_next_host_on_transport_error: true }),
    );
    const outcomes = await eager.send(message(['a@example.com']), { signal: signal() });
    expect(outcomes[0]).toMatchObject({
      kind: 'delivered',
      peer: { addr: `127.0.0.1:${good.port}` },
    });
    expect(good.messages).toHaveLength(1);
  });

  it('notices a 421 the peer sends while the connection idles', async () => {
    const peer = await impatientPeer();
    const c = await mustConnect({ smtp: { mx_list: [`127.0.0.1:${peer.port}`] } }, loopbackPath());
    expect(c.isUsable?.()).toBe(true);
    peer.goAway();
    // Bounded generously (10 s): the 421 crosses loopback, however busy the machine.
    for (let i = 0; i < 500 && c.isUsable?.(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(c.isUsable?.()).toBe(false);
  });
});

describe('a session the peer ends while idle', () => {
  it('is not usable, and a send anyway reconnects to the same host, not the next', async () => {
    let sessions = 0;
    let delivered = 0;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      socketTimeout: 300,
      onConnect(_session, done) {
        sessions++;
        done();
      },
      onData(stream, _session, done) {
        stream.on('end', () => {
          delivered++;
          done();
        });
        stream.resume();
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    later(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.server.address() as net.AddressInfo).port;
    const backup = await sink();
    const table = { smtp: { mx_list: [`127.0.0.1:${port}`, `127.0.0.1:${backup.port}`] } };
    const c = await mustConnect(table, loopbackPath());
    expect((await c.send(message(['a@example.com']), { signal: signal() }))[0]!.kind).toBe(
      'delivered',
    );
    for (let i = 0; i < 100 && c.isUsable?.(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(c.isUsable?.()).toBe(false);
    const outcomes = await c.send(message(['b@example.com']), { signal: signal() });
    expect(outcomes[0]).toMatchObject({ kind: 'delivered', peer: { addr: `127.0.0.1:${port}` } });
    expect([sessions, delivered, backup.sessions()]).toEqual([2, 2, 0]);
  });
});
