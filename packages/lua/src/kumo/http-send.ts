import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { errorText, parseDuration } from '@sterna/core';
import type { HttpResult } from '../host/host-calls.js';
import { setOwn } from '../shared/own-key.js';

/**
 * Connections kept open between requests, per worker: a log hook posts one record after
 * another to the same endpoint, and a new connection (or `fetch`'s stream machinery, ~0.65 ms
 * of CPU per request) for each was most of its cost. Idle sockets do not keep the worker alive.
 */
const AGENTS = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
} as const;

/** As `fetch` and reqwest: at most 10 redirects are followed. */
const MAX_REDIRECTS = 10;

const DECODERS: Record<string, (body: Buffer) => Promise<Buffer>> = {
  gzip: promisify(zlib.gunzip),
  'x-gzip': promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
};

interface Request {
  method: string;
  url: URL;
  headers: Map<string, [name: string, value: string]>;
  body: Buffer | undefined;
}

/**
 * Sends a request built by `kumo.http.build_client():…` over `node:http(s)` with kept-alive
 * connections. The Lua side awaits the promise, so a webhook `send` blocks only its own call.
 * Redirects are followed (a 303, or a 301/302 after a POST, turns into a GET without a body);
 * `timeout` bounds the whole exchange, redirects and body included (default 60 s).
 */
export async function sendHttp(
  method: string,
  url: string,
  headers: unknown,
  body: unknown,
  auth: unknown,
  timeout: unknown,
): Promise<HttpResult> {
  try {
    const request: Request = {
      method,
      url: new URL(url),
      headers: new Map(),
      body: typeof body === 'string' ? Buffer.from(body, 'utf8') : undefined,
    };
    if (Array.isArray(headers)) {
      for (const pair of headers)
        if (Array.isArray(pair)) addHeader(request.headers, String(pair[0]), String(pair[1]));
    }
    if (Array.isArray(auth)) {
      const token = Buffer.from(`${auth[0]}:${auth[1] ?? ''}`).toString('base64');
      request.headers.set('authorization', ['Authorization', `Basic ${token}`]);
    }
    if (!request.headers.has('accept')) request.headers.set('accept', ['Accept', '*/*']);
    const seconds =
      timeout === undefined || timeout === null ? 60 : parseDuration(timeout as string);
    return await withDeadline(seconds, (signal) => follow(request, signal));
  } catch (error) {
    throw `kumo.http ${method} ${url}: ${errorText(error)}`;
  }
}

/** Repeated names are sent once, their values joined with `, ` (as `Headers.append` does). */
function addHeader(headers: Request['headers'], name: string, value: string): void {
  const key = name.toLowerCase();
  const had = headers.get(key);
  headers.set(key, had ? [had[0], `${had[1]}, ${value}`] : [name, value]);
}

async function withDeadline<T>(seconds: number, run: (signal: AbortSignal) => Promise<T>) {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`no complete answer within ${seconds} s`)),
    seconds * 1000,
  );
  try {
    return await run(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

async function follow(request: Request, signal: AbortSignal): Promise<HttpResult> {
  for (let redirects = 0; ; redirects++) {
    const response = await exchange(request, signal);
    const location = response.headers.location;
    if (!isRedirect(response.statusCode) || location === undefined) return read(response, signal);
    response.resume();
    if (redirects === MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, request.url);
    const status = response.statusCode ?? 0;
    const toGet =
      (status === 303 && request.method !== 'HEAD') ||
      ((status === 301 || status === 302) && request.method === 'POST');
    const headers = new Map(request.headers);
    if (toGet) {
      for (const name of ['content-type', 'content-length', 'content-encoding'])
        headers.delete(name);
    }
    // Credentials are for the origin they were given to.
    if (next.origin !== request.url.origin) headers.delete('authorization');
    request = {
      method: toGet ? 'GET' : request.method,
      url: next,
      headers,
      body: toGet ? undefined : request.body,
    };
  }
}

function isRedirect(status: number | undefined): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function exchange(request: Request, signal: AbortSignal): Promise<IncomingMessage> {
  const { url } = request;
  const agent = AGENTS[url.protocol as keyof typeof AGENTS];
  // A first URL or a redirect to file:, data: or anything else is refused here.
  if (!agent)
    return Promise.reject(new Error(`unsupported scheme ${url.protocol} (only http and https)`));
  const transport = url.protocol === 'https:' ? https : http;
  // Headers go in the options, so a bad one (a CR or LF in a value) throws before a socket
  // is taken.
  const headers = Object.fromEntries(request.headers.values());
  return new Promise((resolve, reject) => {
    const outgoing = transport.request(
      url,
      { method: request.method, agent, signal, headers },
      resolve,
    );
    outgoing.on('error', (error) => reject(signal.aborted ? signal.reason : error));
    outgoing.end(request.body);
  });
}

async function read(response: IncomingMessage, signal: AbortSignal): Promise<HttpResult> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of response) chunks.push(chunk as Buffer);
  } catch (error) {
    throw signal.aborted ? signal.reason : error;
  }
  let body: Buffer = Buffer.concat(chunks);
  const encoding = response.headers['content-encoding']?.trim().toLowerCase();
  const decode = encoding ? DECODERS[encoding] : undefined;
  if (decode && body.length > 0) body = await decode(body);
  const header_map: Record<string, string> = {};
  const raw = response.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const had = Object.hasOwn(header_map, name) ? header_map[name] : undefined;
    setOwn(header_map, name, had === undefined ? raw[i + 1]! : `${had}, ${raw[i + 1]}`);
  }
  return {
    status: response.statusCode ?? 0,
    reason: response.statusMessage ?? '',
    body: body.toString('utf8'),
    header_map,
  };
}
