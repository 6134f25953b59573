// Suite 7, shutdown: SIGTERM while the daemon is busy receiving and delivering must exit within
// a bounded time with status 0, and every message it acknowledged must be delivered (now or
// after the next start). Sizes: docs/reliability.md.
import { type SmtpSink, startSmtpSink } from '@sterna/protocol-testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually } from '../support/mail.js';
import type { PolicyDir } from '../support/policy.js';
import { runLoad, tokensOf } from './load.js';
import { freePort, knob, report, writeRelayPolicy } from './support.js';

const MESSAGES = knob('RELIABILITY_SHUTDOWN_MESSAGES', 1500);
const CLIENTS = knob('RELIABILITY_SHUTDOWN_CLIENTS', 20);
/** The daemon's own grace (shutdown_grace, 10 s) plus time to close logs, spool and Lua. */
const EXIT_BOUND_MS = 30_000;

let daemon: DaemonProcess | undefined;
let dir: PolicyDir | undefined;
let sink: SmtpSink | undefined;
afterAll(async () => {
  await daemon?.kill();
  await sink?.close();
  await dir?.cleanup();
});

describe('shutdown: SIGTERM during heavy delivery', () => {
  it('exits promptly with status 0 and loses no acknowledged message', async () => {
    sink = await startSmtpSink({ tls: false });
    const port = await freePort();
    dir = await writeRelayPolicy(sink.port, port);
    daemon = await startDaemon(dir.policy);
    const first = daemon;
    let stopped: Promise<{ code: number | null; ms: number }> | undefined;
    // SIGTERM once a third of the messages were acknowledged, while clients keep sending.
    const load = await runLoad({
      port: () => port,
      clients: CLIENTS,
      total: MESSAGES,
      deadlineMs: 120_000,
      stop: () => stopped !== undefined && first.child.exitCode !== null,
      onAck: (_n, acked) => {
        if (acked === Math.floor(MESSAGES / 3) && !stopped) {
          const t = Date.now();
          stopped = first.stop().then((code) => ({ code, ms: Date.now() - t }));
        }
      },
    });
    const exit = await stopped!;
    expect(exit.code, first.output()).toBe(0);
    expect(exit.ms).toBeLessThan(EXIT_BOUND_MS);
    const deliveredBeforeRestart = new Set(tokensOf(sink.messages.map((m) => m.data))).size;

    // The next start delivers whatever was still spooled.
    daemon = await startDaemon(dir.policy);
    const missing = () => {
      const seen = new Set(tokensOf(sink!.messages.map((m) => m.data)));
      return [...load.acked].filter((n) => !seen.has(n));
    };
    await eventually(
      () => (missing().length === 0 ? true : undefined),
      120_000,
      'delivery of every acknowledged message',
    ).catch((error: Error) => {
      throw new Error(`${error.message}: missing ${missing().slice(0, 20).join(', ')}`);
    });
    const delivered = tokensOf(sink.messages.map((m) => m.data));
    report('shutdown', {
      acknowledged: load.acked.size,
      'failed transactions (not acknowledged, resent by clients)': load.failed,
      'SIGTERM to exit (ms)': exit.ms,
      'exit status': exit.code,
      'delivered before the restart': deliveredBeforeRestart,
      'delivered in all': new Set(delivered).size,
      duplicates: delivered.length - new Set(delivered).size,
      lost: missing().length,
    });
    expect(missing()).toEqual([]);
  });
});
