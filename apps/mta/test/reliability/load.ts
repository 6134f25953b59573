import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { sleep } from './support.js';

/** What a load run saw: which messages got a 250 and how the others ended. */
export interface LoadResult {
  /** Message numbers the daemon acknowledged with 250. */
  readonly acked: Set<number>;
  /** Numbers whose transaction failed (connection lost, 4xx): not acknowledged, may be resent. */
  failed: number;
  /** Replies other than 250 by code. */
  readonly codes: Map<number, number>;
  /** The spool ids the daemon named in each 250 (`ids=…`), by message number. */
  readonly ids: Map<number, string>;
}

/**
 * A message carrying its number in the subject and body, so the sink can say which arrived. The
 * recipient is `user<n>`: the testkit sink scripts failures by local-part prefix (`rcpt421…`).
 */
export function numbered(n: number, size = 1024): string {
  const head = `From: load@example.org\r\nTo: user${n}@load.test\r\nSubject: load ${n}\r\nMessage-ID: <load-${n}@sterna.test>\r\n\r\nLOAD-TOKEN ${n}\r\n`;
  const line = `${'x'.repeat(76)}\r\n`;
  return head + line.repeat(Math.max(0, Math.ceil((size - head.length) / line.length)));
}

/** The message numbers in a set of delivered bodies (`LOAD-TOKEN n`). */
export function tokensOf(bodies: Iterable<Buffer | string>): number[] {
  const out: number[] = [];
  for (const body of bodies) {
    const m = /LOAD-TOKEN (\d+)/.exec(body.toString());
    if (m) out.push(Number(m[1]));
  }
  return out;
}

/**
 * `clients` SMTP clients, each on a reused connection that it re-opens after any failure, send
 * numbered messages until `total` have been acknowledged or `stop()` returns true. A message
 * whose transaction failed is retried under a new number (as a real client would resend).
 */
export async function runLoad(options: {
  port: () => number;
  clients: number;
  total: number;
  size?: number;
  deadlineMs: number;
  stop?: () => boolean;
  onAck?: (n: number, acked: number) => void;
}): Promise<LoadResult> {
  const result: LoadResult = { acked: new Set(), failed: 0, codes: new Map(), ids: new Map() };
  let next = 0;
  const deadline = Date.now() + options.deadlineMs;
  const more = () =>
    result.acked.size < options.total && Date.now() < deadline && !options.stop?.();
  await Promise.all(
    Array.from({ length: options.clients }, async () => {
      let connection: SMTPConnection | undefined;
      while (more()) {
        try {
          if (!connection) {
            const c = new SMTPConnection({
              host: '127.0.0.1',
              port: options.port(),
              ignoreTLS: true,
              socketTimeout: 15_000,
              connectionTimeout: 5_000,
            });
            c.on('error', () => {});
            c.setMaxListeners(0);
            // A refused connection only emits 'error' (connect's callback is never called).
            await new Promise<void>((resolve, reject) => {
              c.once('error', reject);
              c.once('end', () => reject(new Error('connection closed')));
              c.connect((e?: Error) => (e ? reject(e) : resolve()));
            });
            c.removeAllListeners('end');
            c.removeAllListeners('error');
            c.on('error', () => {});
            connection = c;
          }
          const n = next++;
          const c = connection;
          // nodemailer does not always call back when the server dies mid-transaction: the
          // connection's own end/error, or a time limit, settle the transaction too.
          await new Promise<void>((resolve, reject) => {
            let settled = false;
            const fail = (error: Error) => {
              if (settled) return;
              settled = true;
              cleanup();
              result.failed++;
              const code = (error as { responseCode?: number }).responseCode ?? 0;
              result.codes.set(code, (result.codes.get(code) ?? 0) + 1);
              reject(error);
            };
            const timer = setTimeout(() => fail(new Error('transaction timed out')), 20_000);
            const onEnd = () => fail(new Error('connection closed'));
            const onError = (e: Error) => fail(e);
            const cleanup = () => {
              clearTimeout(timer);
              c.off('end', onEnd);
              c.off('error', onError);
            };
            c.once('end', onEnd);
            c.once('error', onError);
            c.send(
              { from: 'load@example.org', to: [`user${n}@load.test`] },
              numbered(n, options.size),
              (error, info) => {
                if (error) return fail(error);
                const id = /ids=(\S+)/.exec(info.response)?.[1];
                if (id) result.ids.set(n, id);
                if (settled) return;
                settled = true;
                cleanup();
                result.acked.add(n);
                options.onAck?.(n, result.acked.size);
                resolve();
              },
            );
          });
        } catch {
          connection?.close();
          connection = undefined;
          await sleep(100);
        }
      }
      connection?.quit();
    }),
  );
  return result;
}
