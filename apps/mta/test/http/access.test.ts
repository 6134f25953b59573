import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { generate } from 'selfsigned';
import { afterEach, describe, expect, it } from 'vitest';
import { postJson, type Started, startTestListener, TestPolicy } from './fixtures.js';

let started: Started | undefined;
afterEach(async () => {
  await started?.listener.close();
  started = undefined;
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const message = {
  envelope_sender: 's@x.example',
  content: 'Subject: hi\n\nbody\n',
  recipients: [{ email: 'a@y.example' }],
};

/** A policy accepting one user, and recording the AuthInfo the generated event saw. */
function authPolicy(seen: unknown[]): TestPolicy {
  return new TestPolicy({
    http_server_validate_auth_basic: (user, password) => {
      if (user === 'alice' && password === 's3cret') return true;
      if (user === 'bob' && password === 'hunter2') return { groups: ['senders'] };
      return false;
    },
    http_message_generated: (_message, auth) => {
      seen.push(auth);
    },
  });
}

describe('who may use the HTTP listener', () => {
  // fetch cannot pick its source address, so these tests make 127.0.0.1 untrusted instead.
  it('requires Basic auth accepted by the policy from a peer outside trusted_hosts', async () => {
    const seen: unknown[] = [];
    started = await startTestListener(
      { trusted_hosts: ['10.0.0.0/8', 'fd00::/8'] },
      { policy: authPolicy(seen) },
    );
    const url = `${started.url}/api/inject/v1`;

    const anonymous = await postJson(url, message);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
    const wrong = await postJson(url, message, { authorization: basic('alice', 'guess') });
    expect(wrong.status).toBe(401);
    const garbled = await postJson(url, message, { authorization: 'Basic !!!' });
    expect(garbled.status).toBe(401);
    expect(started.receiver.batches).toHaveLength(0);

    const alice = await postJson(url, message, { authorization: basic('alice', 's3cret') });
    expect(alice.status).toBe(200);
    expect(alice.json).toMatchObject({ success_count: 1 });
    expect(started.receiver.messages[0]!.meta.http_auth).toBe('alice');
    expect(seen[0]).toEqual({
      peer_address: '127.0.0.1',
      identities: [{ identity: 'alice', context: 'HttpBasicAuth' }],
      groups: [],
    });

    // A table from the policy adds its groups to the AuthInfo.
    const bob = await postJson(url, message, { authorization: basic('bob', 'hunter2') });
    expect(bob.status).toBe(200);
    expect(seen[1]).toEqual({
      peer_address: '127.0.0.1',
      identities: [{ identity: 'bob', context: 'HttpBasicAuth' }],
      groups: ['senders'],
    });
    expect(
      started.policy.calls
        .filter((c) => c.event === 'http_server_validate_auth_basic')
        .map((c) => c.args),
    ).toEqual([
      ['alice', 'guess'],
      ['alice', 's3cret'],
      ['bob', 'hunter2'],
    ]);
  });

  it('refuses credentials outright when the policy has no http_server_validate_auth_basic', async () => {
    started = await startTestListener(
      { trusted_hosts: ['10.0.0.1'] },
      { policy: new TestPolicy() },
    );
    const res = await postJson(`${started.url}/api/inject/v1`, message, {
      authorization: basic('alice', 's3cret'),
    });
    expect(res.status).toBe(401);
  });

  it('keeps metrics and admin to trusted hosts, even with valid credentials, and liveness open to all', async () => {
    started = await startTestListener(
      { trusted_hosts: ['192.0.2.0/24'] },
      { policy: authPolicy([]) },
    );
    const auth = { authorization: basic('alice', 's3cret') };
    const metrics = await fetch(`${started.url}/metrics`, { headers: auth });
    expect(metrics.status).toBe(403);
    const list = await fetch(`${started.url}/api/admin/bounce/v1`, { headers: auth });
    expect(list.status).toBe(403);
    const bounce = await postJson(`${started.url}/api/admin/bounce/v1`, { reason: 'x' }, auth);
    expect(bounce.status).toBe(403);
    const suspend = await postJson(`${started.url}/api/admin/suspend/v1`, { reason: 'x' });
    expect(suspend.status).toBe(403);
    const inspect = await fetch(`${started.url}/api/admin/inspect-message/v1?id=x`);
    expect(inspect.status).toBe(403);
    expect(started.admin.requests).toEqual([]);
    const live = await fetch(`${started.url}/api/check-liveness/v1`);
    expect(live.status).toBe(200);
    expect(await live.text()).toBe('OK');
    const head = await fetch(`${started.url}/api/check-liveness/v1`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    // close() is idempotent, and the port is released.
    await Promise.all([started.listener.close(), started.listener.close()]);
    await expect(fetch(`${started.url}/api/check-liveness/v1`)).rejects.toThrow();
  });

  it('lets a trusted peer inject without credentials, and still checks credentials it sends', async () => {
    started = await startTestListener({}, { policy: authPolicy([]) });
    const plain = await postJson(`${started.url}/api/inject/v1`, message);
    expect(plain.status).toBe(200);
    expect(started.receiver.messages[0]!.meta.http_auth).toBeNull();
    const named = await postJson(`${started.url}/api/inject/v1`, message, {
      authorization: basic('alice', 's3cret'),
    });
    expect(named.status).toBe(200);
    expect(started.receiver.messages[1]!.meta.http_auth).toBe('alice');
    const wrong = await postJson(`${started.url}/api/inject/v1`, message, {
      authorization: basic('alice', 'nope'),
    });
    expect(wrong.status).toBe(401);
  });
});

describe('use_tls', () => {
  it('serves HTTPS with the given certificate, or the daemon’s pair when the params name none', async () => {
    const pems = await generate([{ name: 'commonName', value: 'mta.sterna.test' }], {
      keySize: 2048,
      algorithm: 'sha256',
    });
    const get = (url: string) =>
      new Promise<{ status: number; text: string; subject: unknown }>((resolve, reject) => {
        const req = request(
          `${url}/api/check-liveness/v1`,
          { rejectUnauthorized: false },
          (res) => {
            const subject = (res.socket as TLSSocket).getPeerCertificate().subject?.CN;
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                text: Buffer.concat(chunks).toString(),
                subject,
              }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      });
    for (const [params, deps] of [
      [{ use_tls: true, tls_certificate: pems.cert, tls_private_key: pems.private }, {}],
      [{ use_tls: true }, { tls: { key: pems.private, cert: pems.cert } }],
    ] as const) {
      started = await startTestListener(params, deps);
      const url = started.url.replace('http:', 'https:');
      expect(await get(url)).toEqual({ status: 200, text: 'OK', subject: 'mta.sterna.test' });
      await expect(
        fetch(`${started.url}/api/check-liveness/v1`, { signal: AbortSignal.timeout(5000) }),
      ).rejects.toThrow();
      await started.listener.close();
      started = undefined;
    }
  });
});
