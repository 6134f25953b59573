import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlinePolicy } from './inline-policy.js';

/** What the test servers saw: one entry per request. */
interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** The client's port: equal for two requests means one connection served both. */
  port: number;
}

function server(handle: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  const s = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        port: req.socket.remotePort ?? 0,
      });
      handle(req, body, res);
    });
  });
  return { s, seen };
}

const listen = (s: Server) =>
  new Promise<string>((resolve) =>
    s.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`),
    ),
  );

const POLICY = `
kumo.on('post', function(url, body, timeout)
  local client = kumo.http.build_client {}
  local req = client:post(url):header('Content-Type', 'application/json'):header('X-Tag', 'a')
    :header('x-tag', 'b'):basic_auth('user', 'secret'):body(body)
  if timeout then req = req:timeout(timeout) end
  local r = req:send()
  return { status = r:status_code(), reason = r:status_reason(), text = r:text(), headers = r:headers() }
end)
kumo.on('get', function(url)
  local r = kumo.http.build_client {}:get(url):send()
  return { status = r:status_code(), text = r:text(), headers = r:headers() }
end)
kumo.on('bad_header', function(url)
  return kumo.http.build_client {}:get(url):header('X-Bad', 'a\\r\\nInjected: yes'):send()
end)
kumo.on('guarded', function(url, timeout)
  local ok, err = pcall(function() return kumo.http.build_client {}:get(url):timeout(timeout):send() end)
  return tostring(err)
end)
`;

describe('kumo.http', () => {
  const main = server((req, body, res) => {
    switch (req.url) {
      case '/hook':
        res.writeHead(200, 'Fine', { 'X-Reply': ['one', 'two'] }).end(`got ${body}`);
        return;
      case '/see-other':
        res.writeHead(303, { Location: '/landing' }).end();
        return;
      case '/moved':
        res.writeHead(302, { Location: '/landing' }).end();
        return;
      case '/temporary':
        res.writeHead(307, { Location: '/hook' }).end();
        return;
      case '/away':
        res.writeHead(307, { Location: `${other.url}/elsewhere` }).end();
        return;
      case '/to-file':
        res.writeHead(302, { Location: 'file:///etc/passwd' }).end();
        return;
      case '/loop':
        res.writeHead(302, { Location: '/loop' }).end();
        return;
      case '/gzip':
        res.writeHead(200, { 'Content-Encoding': 'gzip' }).end(gzipSync('unpacked ✓'));
        return;
      case '/silent':
        return; // never answers
      default:
        res.writeHead(200).end(`${req.method} ${req.url}`);
    }
  });
  const other = {
    ...server((_req, body, res) => {
      res.writeHead(200).end(`elsewhere ${body}`);
    }),
    url: '',
  };
  let base = '';

  beforeAll(async () => {
    base = await listen(main.s);
    other.url = await listen(other.s);
  });
  afterAll(() => {
    main.s.closeAllConnections();
    other.s.closeAllConnections();
    main.s.close();
    other.s.close();
  });

  it('posts the body and headers, reads status, reason, text and headers, on one kept-alive connection', async () => {
    const policy = await inlinePolicy(POLICY);
    const before = main.seen.length;
    const first = (await policy.call('post', `${base}/hook`, '{"n":1}')) as Record<string, unknown>;
    const second = (await policy.call('post', `${base}/hook`, '{"n":2}')) as Record<
      string,
      unknown
    >;
    expect(first).toMatchObject({ status: 200, reason: 'Fine', text: 'got {"n":1}' });
    expect(second.text).toBe('got {"n":2}');
    // Repeated response headers come back joined, as fetch and reqwest give them.
    expect((first.headers as Record<string, string>)['x-reply']).toBe('one, two');
    const [a, b] = main.seen.slice(before);
    expect(a).toMatchObject({ method: 'POST', path: '/hook', body: '{"n":1}' });
    expect(a!.headers).toMatchObject({
      'content-type': 'application/json',
      'x-tag': 'a, b',
      authorization: `Basic ${Buffer.from('user:secret').toString('base64')}`,
      accept: '*/*',
    });
    expect(b!.port).toBe(a!.port);
  });

  it('follows redirects as fetch does: 303 and 302-after-POST become GET, 307 keeps the body', async () => {
    const policy = await inlinePolicy(POLICY);
    expect(await policy.call('post', `${base}/see-other`, 'x')).toMatchObject({
      status: 200,
      text: 'GET /landing',
    });
    expect(await policy.call('post', `${base}/moved`, 'x')).toMatchObject({ text: 'GET /landing' });
    expect(await policy.call('post', `${base}/temporary`, 'kept')).toMatchObject({
      text: 'got kept',
    });
  });

  it('does not carry credentials to another origin, and stops after ten redirects', async () => {
    const policy = await inlinePolicy(POLICY);
    const before = other.seen.length;
    expect(await policy.call('post', `${base}/away`, 'b')).toMatchObject({ text: 'elsewhere b' });
    const there = other.seen[before]!;
    expect(there.headers.authorization).toBeUndefined();
    expect(there.headers['x-tag']).toBe('a, b');
    expect(await policy.fail('get', `${base}/to-file`)).toContain('unsupported scheme file:');
    expect(await policy.fail('get', `${base}/loop`)).toContain(
      `kumo.http GET ${base}/loop: more than 10 redirects`,
    );
  });

  it('decodes a gzip answer', async () => {
    const policy = await inlinePolicy(POLICY);
    expect(await policy.call('get', `${base}/gzip`)).toMatchObject({ text: 'unpacked ✓' });
  });

  it('fails with the request and the reason: a refused connection, a header with a line break, a timeout', async () => {
    const policy = await inlinePolicy(POLICY);
    const closed = createServer();
    const dead = await listen(closed);
    closed.close();
    expect(await policy.fail('get', `${dead}/x`)).toMatch(
      new RegExp(`kumo\\.http GET ${dead}/x: .*ECONNREFUSED`),
    );
    const before = main.seen.length;
    expect(await policy.fail('bad_header', `${base}/x`)).toMatch(
      new RegExp(`kumo\\.http GET ${base}/x: .*X-Bad`),
    );
    expect(main.seen.length).toBe(before);
    expect(await policy.fail('get', 'file:///etc/passwd')).toContain(
      'kumo.http GET file:///etc/passwd: unsupported scheme file: (only http and https)',
    );
    expect(await policy.fail('get', 'not a url')).toContain('kumo.http GET not a url: ');
    expect(await policy.call('guarded', `${base}/silent`, '200ms')).toContain(
      `kumo.http GET ${base}/silent: no complete answer within 0.2 s`,
    );
  });
});
