import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A webhook receiver on loopback: records each request, answers with `status()`. */
export interface HttpReceiver {
  readonly url: string;
  readonly requests: {
    readonly path: string;
    readonly contentType: string;
    readonly body: string;
  }[];
  close(): Promise<void>;
}

export async function startHttpReceiver(
  status: (index: number) => number = () => 200,
): Promise<HttpReceiver> {
  const requests: HttpReceiver['requests'] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const code = status(requests.length);
      requests.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        body: Buffer.concat(chunks).toString(),
      });
      res
        .writeHead(code, { 'content-type': 'text/plain' })
        .end(code < 300 ? 'thanks' : 'try later');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
