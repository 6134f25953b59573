// Suite 1, crash: under load, kill -9 the daemon at random moments and restart it; every
// message that got a 250 must reach the sink at least once. Sizes: docs/reliability.md.
import { type SmtpSink, startSmtpSink } from '@sterna/protocol-testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { readLogRecords } from '../../src/logs/index.js';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually } from '../support/mail.js';
import type { PolicyDir } from '../support/policy.js';
import { runLoad, tokensOf } from './load.js';
import { freePort, knob, report, sleep, writeRelayPolicy } from './support.js';

const KILLS = knob('RELIABILITY_CRASH_KILLS', 10);
const MESSAGES = knob('RELIABILITY_CRASH_MESSAGES', 3000);
const CLIENTS = knob('RELIABILITY_CRASH_CLIENTS', 20);

let daemon: DaemonProcess | undefined;
let dir: PolicyDir | undefined;
let sink: SmtpSink | undefined;
afterAll(async () => {
  await daemon?.kill();
  await sink?.close();
  await dir?.cleanup();
});

describe('crash: kill -9 under load', () => {
  it(`loses no acknowledged message through ${KILLS} kills`, async () => {
    sink = await startSmtpSink({ tls: false });
    const port = await freePort();
    dir = await writeRelayPolicy(sink.port, port);
    daemon = await startDaemon(dir.policy);
    expect(daemon.smtp.port).toBe(port);

    const thresholds = Array.from({ length: KILLS }, (_, k) =>
      Math.floor(((k + 0.2 + Math.random() * 0.6) * MESSAGES) / (KILLS + 1)),
    );
    let kills = 0;
    let restarting: Promise<void> | undefined;
    let broken: unknown;
    const restartTimes: number[] = [];
    const killNow = async () => {
      await sleep(Math.random() * 200);
      await daemon!.kill();
      kills++;
      const t = Date.now();
      daemon = await startDaemon(dir!.policy);
      restartTimes.push(Date.now() - t);
    };
    let ackedSoFar = 0;
    const progress = setInterval(
      () =>
        console.log(
          `[reliability:crash] progress: ${ackedSoFar} acknowledged, ${kills} kills, ${sink!.messages.length} at the sink`,
        ),
      5000,
    );
    const load = await runLoad({
      port: () => port,
      clients: CLIENTS,
      total: MESSAGES,
      deadlineMs: 300_000,
      stop: () => broken !== undefined,
      onAck: (_n, acked) => {
        ackedSoFar = acked;
        if (!restarting && kills < KILLS && acked >= thresholds[kills]!) {
          restarting = killNow()
            .catch((error: unknown) => {
              broken = error;
            })
            .finally(() => (restarting = undefined));
        }
      },
    });
    await restarting;
    if (broken) throw broken;
    while (kills < KILLS) await killNow(); // if the load ended first, the rest of the kills
    clearInterval(progress);
    const acked = [...load.acked];
    const missing = () => {
      const seen = new Set(tokensOf(sink!.messages.map((m) => m.data)));
      return acked.filter((n) => !seen.has(n));
    };
    await eventually(() => (missing().length === 0 ? true : undefined), 120_000, 'delivery').catch(
      () => undefined,
    );
    const delivered = tokensOf(sink.messages.map((m) => m.data));
    const counts = new Map<number, number>();
    for (const n of delivered) counts.set(n, (counts.get(n) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((c) => c > 1).length;
    const lost = missing();
    // For a lost message: what the daemon logged about it (records written before a kill may
    // be lost with the process; the spool is the source of truth).
    const records = lost.length > 0 ? await readLogRecords(dir.logs).catch(() => []) : [];
    const lostDetail = lost.slice(0, 5).map((n) => {
      const id = load.ids.get(n) ?? '?';
      const seen = new Map<string, number>();
      for (const r of records.filter((x) => x.id === id)) {
        const key = `${r.type} ${r.response.code}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      return `${n} id=${id} records=${[...seen].map(([k, c]) => `${c}× ${k}`).join(', ')}`;
    });
    const ackedSet = load.acked;
    report('crash', {
      clients: CLIENTS,
      'kills (SIGKILL + restart)': kills,
      'restart times ms': restartTimes,
      'messages acknowledged with 250': acked.length,
      'transactions failed (not acknowledged)': load.failed,
      'delivered to the sink (copies)': delivered.length,
      'distinct messages delivered': counts.size,
      'duplicates (delivered more than once)': duplicates,
      'delivered without a 250 (spooled as the client lost the reply)': [...counts.keys()].filter(
        (n) => !ackedSet.has(n),
      ).length,
      'lost (250 but never delivered)': lost.length,
      ...(lost.length > 0 ? { 'lost detail': lostDetail } : {}),
    });
    expect(kills).toBe(KILLS);
    expect(lost).toEqual([]);
  });
});
