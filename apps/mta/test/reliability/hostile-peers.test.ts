// Suite 4, hostile peers: SMTP servers that stall, answer garbage, drop mid-DATA, send 421 at
// every stage or accept then reset, and a DNS server that times out or lies. Over a soak, every
// message ends delivered, bounced or expired (no queue stuck), and sockets and RSS stay bounded.
import { createServer, type Server, type Socket } from 'node:net';
import {
  type DnsServer,
  type SmtpSink,
  startDnsServer,
  startSmtpSink,
} from '@sterna/protocol-testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';
import { knob, report, rssMiB, sampler, sleep, socketCount } from './support.js';

const SOAK_SECONDS = knob('RELIABILITY_PEERS_SOAK_SECONDS', 60);
const RATE = knob('RELIABILITY_PEERS_RATE', 5);
const MAX_AGE = knob('RELIABILITY_PEERS_MAX_AGE', 25);
const RSS_GROWTH_MB = knob('RELIABILITY_PEERS_RSS_GROWTH_MB', 150);

type Stage = 'banner' | 'ehlo' | 'mail' | 'rcpt' | 'data' | 'dot';
type Action = '421' | 'stall' | 'garbage' | 'drop' | 'reset';

/** A scripted SMTP server that misbehaves (`action`) at one `stage` and is polite elsewhere. */
async function fakePeer(stage: Stage | 'midData' | 'none', action: Action) {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const act = () => {
      if (action === '421') socket.end('421 4.3.2 hostile peer going away\r\n');
      else if (action === 'garbage') socket.write('\x00\xff~~ this is not SMTP ~~\x07\r\n');
      else if (action === 'drop') socket.destroy();
      else if (action === 'reset') socket.resetAndDestroy();
      // stall: say nothing, ever
    };
    if (stage === 'banner') return act();
    socket.write('220 hostile.peer ESMTP\r\n');
    let buffer = '';
    let inData = false;
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      if (inData) {
        if (stage === 'midData') return act();
        const end = buffer.indexOf('\r\n.\r\n');
        if (end < 0) return;
        buffer = buffer.slice(end + 5);
        inData = false;
        if (stage === 'dot') return act();
        accepted++;
        socket.write('250 2.0.0 accepted\r\n');
        if (action === 'reset' && stage === 'none') socket.resetAndDestroy();
        return;
      }
      for (let nl = buffer.indexOf('\r\n'); nl >= 0 && !inData; nl = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, nl).toUpperCase();
        buffer = buffer.slice(nl + 2);
        const verb = line.split(/[ :]/)[0];
        const at: Stage | undefined =
          verb === 'EHLO' || verb === 'HELO'
            ? 'ehlo'
            : verb === 'MAIL'
              ? 'mail'
              : verb === 'RCPT'
                ? 'rcpt'
                : verb === 'DATA'
                  ? 'data'
                  : undefined;
        if (at && at === stage) return act();
        if (verb === 'EHLO') socket.write('250-hostile.peer\r\n250 PIPELINING\r\n');
        else if (verb === 'DATA') {
          socket.write('354 go ahead\r\n');
          inData = true;
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let daemon: DaemonProcess | undefined;
let dir: PolicyDir | undefined;
let sink: SmtpSink | undefined;
let dnsServer: DnsServer | undefined;
const peers: Awaited<ReturnType<typeof fakePeer>>[] = [];
afterAll(async () => {
  await daemon?.kill();
  await sink?.close();
  await dnsServer?.close();
  await Promise.all(peers.map((p) => p.close()));
  await dir?.cleanup();
});

const FINAL = new Set(['Delivery', 'Bounce', 'Expiration']);

describe('hostile peers', () => {
  it('ends every message delivered, bounced or expired, with bounded sockets and memory', async () => {
    sink = await startSmtpSink({ tls: false });
    // Destinations by domain: each a hostile SMTP server, the sink, or a DNS trick.
    const routes: Record<string, string> = {};
    const behaviours: [string, Stage | 'midData' | 'none', Action][] = [
      ['stall-banner', 'banner', 'stall'],
      ['garbage-banner', 'banner', 'garbage'],
      ['garbage-ehlo', 'ehlo', 'garbage'],
      ['stall-rcpt', 'rcpt', 'stall'],
      ['drop-mid-data', 'midData', 'drop'],
      ['reset-mid-data', 'midData', 'reset'],
      ['stall-dot', 'dot', 'stall'],
      ['accept-then-reset', 'none', 'reset'],
      ...(['banner', 'ehlo', 'mail', 'rcpt', 'data', 'dot'] as const).map(
        (s) => [`421-at-${s}`, s, '421'] as [string, Stage, Action],
      ),
    ];
    for (const [name, stage, action] of behaviours) {
      const peer = await fakePeer(stage, action);
      peers.push(peer);
      routes[`${name}.peer.test`] = `{ '127.0.0.1:${peer.port}' }`;
    }
    routes['good.peer.test'] = `{ '127.0.0.1:${sink.port}' }`;
    dnsServer = await startDnsServer({
      records: {
        'stall.dns.test': { stall: true },
        'null-mx.dns.test': { MX: [{ exchange: '', priority: 0 }] },
        'dangling.dns.test': { MX: [{ exchange: 'nowhere.dns.test', priority: 10 }] },
        'refused.dns.test': { MX: [{ exchange: 'mx.refused.dns.test', priority: 10 }] },
        'mx.refused.dns.test': { A: ['127.0.0.9'] },
        'to-sink.dns.test': { MX: [{ exchange: 'mx.to-sink.dns.test', priority: 10 }] },
        'mx.to-sink.dns.test': { A: ['127.0.0.1'] },
      },
    });
    // By MX (no mx_list): these go through the DNS server; smtp_port points MX hosts at the sink.
    const dnsDomains = [
      'stall.dns.test',
      'null-mx.dns.test',
      'dangling.dns.test',
      'refused.dns.test',
      'nxdomain.dns.test',
      'to-sink.dns.test',
    ];
    const lua = Object.entries(routes)
      .map(([d, list]) => `  ['${d}'] = ${list},`)
      .join('\n');
    dir = await writePolicy(
      `
local ROUTES = {
${lua}
}
kumo.on('get_egress_path_config', function()
  return kumo.make_egress_path { prohibited_hosts = {}, enable_tls = 'Disabled',
    smtp_port = ${sink.port}, connect_timeout = '2s', banner_timeout = '2s', ehlo_timeout = '2s',
    mail_from_timeout = '2s', rcpt_to_timeout = '2s', data_timeout = '2s', data_dot_timeout = '2s',
    idle_timeout = '1s' }
end)
kumo.on('get_queue_config', function(domain)
  local list = ROUTES[domain]
  local protocol = nil
  if list then protocol = { smtp = { mx_list = list } } end
  return kumo.make_queue_config { retry_interval = '2s', max_retry_interval = '4s',
    max_age = '${MAX_AGE}s', protocol = protocol }
end)
`,
      `kumo.dns.configure_resolver { name_servers = { '${dnsServer.servers[0]}' } }`,
      'max_messages_per_connection = 1000000',
    );
    daemon = await startDaemon(dir.policy);
    const pid = daemon.child.pid!;
    await sleep(1000);
    const baselineRss = (await rssMiB(pid))!;
    const baselineSockets = await socketCount(pid);
    const samples = sampler(() => pid, 1000);

    // Soak: RATE messages a second, round-robin over every destination.
    const destinations = [...Object.keys(routes), ...dnsDomains];
    const injected = new Map<string, string>(); // id → domain
    const refusedAtInjection: string[] = [];
    const started = Date.now();
    let i = 0;
    while (Date.now() - started < SOAK_SECONDS * 1000) {
      const tick = Date.now();
      await Promise.all(
        Array.from({ length: RATE }, async () => {
          const domain = destinations[i++ % destinations.length]!;
          const local = domain === 'good.peer.test' ? pickLocal(i) : `u${i}`;
          try {
            const r = await sendMail(
              daemon!.smtp,
              { from: 'soak@example.org', to: [`${local}@${domain}`] },
              testMessage(`soak-${i}`),
            );
            injected.set(/ids=([0-9a-f]{32})/.exec(r.response)![1]!, domain);
          } catch (error) {
            refusedAtInjection.push(`${domain}: ${String(error)}`);
          }
        }),
      );
      await sleep(Math.max(0, 1000 - (Date.now() - tick)));
    }

    // Every message must reach a final record within max_age and a margin for timeouts.
    const outcome = async () => {
      const records = await readLogRecords(dir!.logs);
      const final = new Map<string, string>();
      const transient = new Map<string, number>();
      for (const r of records) {
        if (FINAL.has(r.type)) final.set(r.id, r.type);
        if (r.type === 'TransientFailure') transient.set(r.id, (transient.get(r.id) ?? 0) + 1);
      }
      return { final, transient };
    };
    await eventually(
      async () => {
        const { final } = await outcome();
        return [...injected.keys()].every((id) => final.has(id)) ? true : undefined;
      },
      (MAX_AGE + 60) * 1000,
      'every message to end',
    ).catch(() => undefined);
    // Idle connections close (idle_timeout 1 s): waited for, bounded, not a fixed pause that a
    // busy machine may outlast.
    const endSockets = await eventually(
      async () => {
        const n = await socketCount(pid);
        return n <= baselineSockets + 4 ? n : undefined;
      },
      30_000,
      'sockets back down',
    ).catch(() => socketCount(pid));
    samples.stop();
    const { final, transient } = await outcome();
    const byDomain: Record<string, Record<string, number>> = {};
    const stuck: string[] = [];
    for (const [id, domain] of injected) {
      const end = final.get(id) ?? 'STUCK';
      if (end === 'STUCK') stuck.push(domain);
      byDomain[domain] ??= {};
      byDomain[domain][end] = (byDomain[domain][end] ?? 0) + 1;
    }
    const endRss = (await rssMiB(pid))!;
    const alive = daemon.child.exitCode === null && daemon.child.signalCode === null;
    report('hostile-peers', {
      'soak seconds': SOAK_SECONDS,
      'messages injected': injected.size,
      'refused at injection': refusedAtInjection.length,
      'faults injected (transient failures logged)': [...transient.values()].reduce(
        (a, b) => a + b,
        0,
      ),
      'outcomes by destination': byDomain,
      'stuck (no final record)': stuck.length,
      'sockets baseline / peak / end': [baselineSockets, samples.maxSockets(), endSockets],
      'RSS MiB baseline / peak / end': [baselineRss, samples.maxRss(), endRss].map(Math.round),
      'daemon alive': alive,
    });
    expect(alive).toBe(true);
    expect(refusedAtInjection).toEqual([]);
    expect(stuck).toEqual([]);
    expect(byDomain['good.peer.test']?.Delivery).toBeGreaterThan(0);
    expect(byDomain['accept-then-reset.peer.test']?.Delivery).toBeGreaterThan(0);
    expect(byDomain['to-sink.dns.test']?.Delivery).toBeGreaterThan(0);
    expect(endSockets).toBeLessThanOrEqual(baselineSockets + 4);
    expect(samples.maxRss() - baselineRss).toBeLessThan(RSS_GROWTH_MB);
  });
});

/** Recipients at the sink: mostly accepted, some scripted to fail (testkit local-part prefixes). */
function pickLocal(i: number): string {
  const scripts = ['ok', 'ok', 'tempfail', 'permfail', 'rcpt421', 'drop', 'data421', 'data550'];
  return `${scripts[i % scripts.length]}${i}`;
}
