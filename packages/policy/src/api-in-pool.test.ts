import { Resolver } from 'node:dns/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalThrottles, newSpoolId, type ThrottleSpec } from '@sterna/core/engine';
import { connectionMetaArg, envelopeAddress, LuaRejection, PolicyRuntime } from '@sterna/lua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer } from '../../lua/test/dns-server.js';

// The API as a policy under `sterna` uses it: a .ts policy in a folder of its own (no
// node_modules), run by the pool's JS engine in a worker thread, `@sterna/policy` found through
// the runtime's import fallback, its calls answered by a real runtime host.
const FALLBACK = new URL('../package.json', import.meta.url).href;

const POLICY = `
import {
  dns, log, makeListenerDomain, makeQueueConfig, makeThrottle, on, reject, startEsmtpListener,
} from '@sterna/policy';

const throttle = makeThrottle('ts-policy', '1/h');

on('init', async () => {
  await startEsmtpListener({ listen: '127.0.0.1:2525', client_timeout: '2m' });
  log.info('listening', 2525);
});
on('get_queue_config', async (domain) => {
  const mx = await dns.lookupMx(domain);
  return makeQueueConfig({ egress_pool: mx.site_name });
});
on('throttle_insert_ready_queue', async (msg) => {
  await throttle.delayMessageIfThrottled(msg);
});
on('smtp_server_mail_from', (sender) => {
  if (sender.domain === 'spam.test') reject(550, '5.7.1 not from you');
});
on('get_listener_domain', (domain) =>
  makeListenerDomain(domain === 'bad.test' ? ({ relayto: true } as never) : { relay_to: true }),
);
`;

describe('@sterna/policy in the worker pool', () => {
  let dnsServer: Awaited<ReturnType<typeof startDnsServer>>;
  let runtime: PolicyRuntime;
  const configured: [string, unknown][] = [];
  const logged: [string, string][] = [];
  const throttleKeys: string[] = [];
  beforeAll(async () => {
    dnsServer = await startDnsServer({
      'example.com': { MX: [{ exchange: 'mx1.example.com', priority: 10 }] },
    });
    const resolver = new Resolver({ timeout: 5000, tries: 1 });
    resolver.setServers([dnsServer.server]);
    const store = new LocalThrottles();
    const dir = mkdtempSync(join(tmpdir(), 'sterna-policy-api-'));
    writeFileSync(join(dir, 'policy.ts'), POLICY);
    runtime = await PolicyRuntime.start({
      policy: join(dir, 'policy.ts'),
      poolSize: 1,
      spare: false,
      importFallback: FALLBACK,
      host: {
        resolver,
        print: () => {},
        log: (level, text) => {
          logged.push([level, text]);
        },
        configure: (kind, params) => {
          configured.push([kind, params]);
        },
        throttles: {
          check: (key: string, spec: ThrottleSpec) => {
            throttleKeys.push(key);
            return store.check(key, spec);
          },
        },
      },
    });
  });
  afterAll(async () => {
    await runtime?.close();
    await dnsServer?.close();
  });

  it('hands init’s configuration to the daemon parsed, and its logs', async () => {
    await runtime.call('init');
    expect(configured).toHaveLength(1);
    expect(configured[0]![0]).toBe('esmtp_listener');
    expect(configured[0]![1]).toMatchObject({
      listen: '127.0.0.1:2525',
      client_timeout: 120,
      banner: 'KumoMTA',
    });
    expect(logged).toContainEqual(['info', 'listening 2525']);
  });

  it("answers get_queue_config from the daemon's resolver", async () => {
    const result = await runtime.call('get_queue_config', [
      'example.com',
      undefined,
      undefined,
      undefined,
    ]);
    expect(result.value).toEqual({ egress_pool: 'mx1.example.com' });
  });

  it("checks throttles in the daemon's store under KumoMTA's key, delaying the message", async () => {
    const snapshot = () => ({
      id: newSpoolId(),
      sender: 'a@example.org',
      recipients: ['b@example.com'],
      meta: {},
      data: Buffer.from('Subject: x\r\n\r\nHi.\r\n'),
    });
    const first = await runtime.call('throttle_insert_ready_queue', [snapshot()]);
    expect(first.messages[0]).toBeUndefined();
    const second = await runtime.call('throttle_insert_ready_queue', [snapshot()]);
    expect(second.messages[0]?.due).toBeGreaterThan(Date.now());
    expect(throttleKeys).toEqual(['lua-user-throttle-ts-policy', 'lua-user-throttle-ts-policy']);
  });

  it('rejects with the code and text of reject()', async () => {
    const meta = connectionMetaArg({ received_from: '192.0.2.1:4000' });
    const error = await runtime
      .call('smtp_server_mail_from', [envelopeAddress('x@spam.test'), meta])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LuaRejection);
    expect(error).toMatchObject({ code: 550, text: '5.7.1 not from you' });
    const fine = await runtime.call('smtp_server_mail_from', [envelopeAddress('y@ok.test'), meta]);
    expect(fine.handled).toBe(true);
  });

  it('fails a handler whose table has a misspelled key, naming the builder and the key', async () => {
    await expect(
      runtime.call('get_listener_domain', ['bad.test', 'esmtp', connectionMetaArg({})]),
    ).rejects.toThrow("makeListenerDomain: unknown field 'relayto'");
    const fine = await runtime.call('get_listener_domain', [
      'ok.test',
      'esmtp',
      connectionMetaArg({}),
    ]);
    expect(fine.value).toEqual({ relay_to: true });
  });
});
