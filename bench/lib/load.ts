// Load generators. One message per connection (as mail from many independent senders arrives)
// uses Postfix's smtp-source when installed, else a Node client; reused connections (bulk
// injectors) use nodemailer's SMTPConnection. Every loop is bounded by count and time.
import { spawn } from 'node:child_process';
import net from 'node:net';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

/** A message of about `size` bytes with CRLF line endings. */
export function benchMessage(i: number, size: number): string {
  const header = `From: bench@example.org\r\nTo: user${i}@bench.example\r\nSubject: bench ${i}\r\nMessage-ID: <${i}.${size}@bench>\r\n\r\n`;
  const line = `${'x'.repeat(76)}\r\n`;
  return header + line.repeat(Math.max(1, Math.ceil((size - header.length) / line.length)));
}

/** What a load run measured. */
export interface LoadResult {
  readonly seconds: number;
  readonly accepted: number;
  /** Final-dot → 250 latencies, ms (Node clients only; smtp-source does not report them). */
  readonly dataAck: number[];
}

/** One message per connection via smtp-source (C). */
export function smtpSource(
  port: number,
  n: number,
  size: number,
  conc: number,
  timeoutMs: number,
): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      'smtp-source',
      [
        '-s',
        String(conc),
        '-m',
        String(n),
        '-l',
        String(size),
        '-f',
        'bench@example.org',
        '-t',
        'user@bench.example',
        `127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`smtp-source exited with ${code}`));
      resolve({ seconds: (performance.now() - started) / 1000, accepted: n, dataAck: [] });
    });
  });
}

/** `conc` raw-socket clients, one message per connection, timing DATA acknowledgements. */
export async function perConnection(
  port: number,
  n: number,
  size: number,
  conc: number,
  timeoutMs: number,
): Promise<LoadResult> {
  const body = `${benchMessage(0, size)}.\r\n`;
  const dataAck: number[] = [];
  let next = 0;
  let accepted = 0;
  const started = performance.now();
  const session = () =>
    new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.setNoDelay(true);
      const steps = [
        'EHLO bench\r\n',
        'MAIL FROM:<bench@example.org>\r\n',
        'RCPT TO:<user@bench.example>\r\n',
        'DATA\r\n',
        body,
        'QUIT\r\n',
      ];
      let step = -1;
      let buffer = '';
      let sentDot = 0;
      s.on('data', (chunk) => {
        buffer += chunk.toString();
        if (!/(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(buffer)) return;
        if (step === 4) {
          dataAck.push(performance.now() - sentDot);
          if (buffer.startsWith('250')) accepted++;
        }
        buffer = '';
        step++;
        if (step < steps.length) {
          if (step === 4) sentDot = performance.now();
          s.write(steps[step]!);
        }
      });
      s.once('close', () => resolve());
      s.once('error', () => resolve());
    });
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < n && performance.now() - started < timeoutMs) {
        next++;
        await session();
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, accepted, dataAck };
}

/** `conc` clients, each on one reused connection (nodemailer's SMTPConnection). */
export async function reusedConnections(
  port: number,
  n: number,
  size: number,
  conc: number,
  timeoutMs: number,
): Promise<LoadResult> {
  const dataAck: number[] = [];
  let next = 0;
  let accepted = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      const c = new SMTPConnection({
        host: '127.0.0.1',
        port,
        ignoreTLS: true,
        socketTimeout: 60_000,
      });
      c.on('error', () => {});
      await new Promise<void>((resolve, reject) =>
        c.connect((e?: Error) => (e ? reject(e) : resolve())),
      );
      while (next < n && performance.now() - started < timeoutMs) {
        const i = next++;
        const t = performance.now();
        const ok = await new Promise<boolean>((resolve) =>
          c.send(
            { from: 'bench@example.org', to: [`user${i}@bench.example`] },
            benchMessage(i, size),
            (e) => resolve(!e),
          ),
        );
        dataAck.push(performance.now() - t);
        if (ok) accepted++;
      }
      c.quit();
    }),
  );
  return { seconds: (performance.now() - started) / 1000, accepted, dataAck };
}

/** HTTP injection: `perRequest` recipients per request, `conc` requests in flight. */
export async function httpInject(
  base: string,
  n: number,
  size: number,
  conc: number,
  perRequest: number,
  timeoutMs: number,
): Promise<LoadResult> {
  const content = benchMessage(0, size);
  let next = 0;
  let accepted = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < n && performance.now() - started < timeoutMs) {
        const first = next;
        next += perRequest;
        const recipients = Array.from({ length: Math.min(perRequest, n - first) }, (_, k) => ({
          email: `user${first + k}@bench.example`,
        }));
        const t = performance.now();
        const count = await injectBatch(base, content, recipients);
        latencies.push(performance.now() - t);
        accepted += count;
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, accepted, dataAck: latencies };
}

/**
 * One `POST /api/inject/v1` of `content` (static, no templating) to `recipients`; resolves
 * with the daemon's `success_count`.
 */
export async function injectBatch(
  base: string,
  content: string,
  recipients: readonly { readonly email: string }[],
): Promise<number> {
  const response = await fetch(`${base}/api/inject/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      envelope_sender: 'bench@example.org',
      content,
      recipients,
      template_dialect: 'Static',
    }),
  });
  return ((await response.json()) as { success_count?: number }).success_count ?? 0;
}
