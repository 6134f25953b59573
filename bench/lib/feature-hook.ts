// The HTTP receiver of bench/cluster.ts's `logs` variant: the log hook's webhook on loopback. It
// counts the log records POSTed to it (one record's JSON per request, or a JSON array of them
// when the hook batches) and answers 200, as a webhook endpoint that stores them would.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HookReceiver {
  readonly url: string;
  /** Records received so far. */
  records(): number;
  /** Requests received so far. */
  requests(): number;
  /** Records by `type` (Reception, Delivery, …). */
  byType(): Record<string, number>;
  /** performance.now() when the last record arrived (0: none yet). */
  lastAt(): number;
  close(): Promise<void>;
}

export async function startHookReceiver(): Promise<HookReceiver> {
  let records = 0;
  let requests = 0;
  let lastAt = 0;
  let bad = 0;
  const types: Record<string, number> = {};
  const count = (record: unknown) => {
    const type = (record as { type?: unknown } | null)?.type;
    const key = typeof type === 'string' ? type : '?';
    types[key] = (types[key] ?? 0) + 1;
    records++;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        if (Array.isArray(body)) for (const record of body) count(record);
        else count(body);
        lastAt = performance.now();
        res.writeHead(200, { 'content-type': 'text/plain' }).end('stored');
      } catch {
        bad++;
        res.writeHead(400, { 'content-type': 'text/plain' }).end('not JSON');
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/log`,
    records: () => records,
    requests: () => requests,
    byType: () => ({ ...types, ...(bad ? { 'not JSON': bad } : {}) }),
    lastAt: () => lastAt,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
