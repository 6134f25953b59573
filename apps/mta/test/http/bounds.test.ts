// Client data crossing into the daemon is bounded and checked: JSON nesting, header names,
// `__proto__` as plain data, and answers given before the body arrives reach the client.

import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { BODY_LIMIT_TEXT } from '../../src/http/index.js';
import { MAX_JSON_DEPTH, parseJsonBody } from '../../src/http/json-body.js';
import { postJson, type Started, startTestListener, TestPolicy, textOf } from './fixtures.js';

let started: Started | undefined;
afterEach(async () => {
  await started?.listener.close();
  started = undefined;
});

const INJECT = '/api/inject/v1';
const base = {
  envelope_sender: 's@x.example',
  content: 'Subject: hi\n\nbody\n',
  recipients: [{ email: 'a@y.example' }],
};

/** `depth` objects nested inside each other, as JSON text. */
const nested = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;

/** What a raw Node client saw: the answer, whether it was told to continue, or its error. */
interface RawAnswer {
  status?: number;
  text?: string;
  continued: boolean;
  error?: string;
}

/**
 * POSTs `body` with Node's own client, which writes the whole body unless told otherwise, and
 * settles once the request is closed: an error after the answer (a reset while the client was
 * still writing) is reported too.
 */
function rawPost(url: string, body: Buffer, headers: Record<string, string> = {}, agent?: false) {
  return new Promise<RawAnswer>((resolve) => {
    const seen: RawAnswer = { continued: false };
    const expectContinue = headers.expect === '100-continue';
    const req = request(
      url,
      {
        method: 'POST',
        ...(agent === false ? { agent } : {}),
        headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => {
          seen.status = res.statusCode;
          seen.text = text;
        });
      },
    );
    req.on('continue', () => {
      seen.continued = true;
      req.end(body);
    });
    req.on('error', (error) => {
      seen.error = error.message;
    });
    req.on('close', () => resolve(seen));
    if (expectContinue) req.flushHeaders();
    else req.end(body);
  });
}

describe('JSON bodies', () => {
  it('parses up to KumoMTA’s nesting limit and refuses deeper with 400', () => {
    expect(parseJsonBody(nested(MAX_JSON_DEPTH))).toBeTypeOf('object');
    expect(() => parseJsonBody(nested(MAX_JSON_DEPTH + 1))).toThrow(
      'Body is nested deeper than 128 levels of arrays and objects',
    );
    // Brackets inside strings are text, not nesting.
    expect(parseJsonBody(JSON.stringify({ s: '['.repeat(1000) }))).toEqual({ s: '['.repeat(1000) });
    expect(() => parseJsonBody('{"a": ')).toThrow(/^Body is not valid JSON: /);
  });

  it('answers 400 for metadata nested 10,000 deep and goes on serving', async () => {
    started = await startTestListener(
      {},
      { policy: new TestPolicy({ http_message_generated() {} }) },
    );
    const deep = `{"envelope_sender":"s@x.example","content":"Subject: x\\n\\nx\\n","recipients":[{"email":"a@y.example","metadata":{"m":${nested(10_000)}}}]}`;
    for (const body of [deep, deep.replace('10', '1')]) {
      const res = await postJson(`${started.url}${INJECT}`, Buffer.from(body));
      expect(res.status).toBe(400);
      expect(res.text).toContain('nested deeper than 128 levels');
    }
    const ok = await postJson(`${started.url}${INJECT}`, base);
    expect(ok.status).toBe(200);
    expect(started.receiver.messages).toHaveLength(1);
  });

  it('keeps __proto__ and constructor keys as data, polluting nothing', async () => {
    started = await startTestListener();
    const body = `{"envelope_sender":"s@x.example","content":"Subject: {{ __proto__.v }}\\n\\nbody\\n","substitutions":{"__proto__":{"v":"sub"}},"recipients":[{"email":"a@y.example","metadata":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}]}`;
    const res = await postJson(`${started.url}${INJECT}`, Buffer.from(body));
    expect(res.status).toBe(200);
    const [message] = started.receiver.messages;
    const extra = message!.meta.extra as Record<string, unknown>;
    expect(Object.keys(extra)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(extra)).toBe(Object.prototype);
    expect(JSON.stringify(extra)).toBe(
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(textOf(message!)).toMatch(/^Subject: sub\r\n/m);
  });
});

describe('builder header names', () => {
  const builder = (headers: Record<string, string>) => ({
    ...base,
    content: { text_body: 'hi', subject: 's', headers },
  });

  it.each([
    ['CR LF', 'X-A\r\nX-Injected-Name'],
    ['LF', 'X-A\nX-B'],
    ['NUL', 'X-A\0'],
    ['colon', 'X-A: b'],
    ['space', 'X A'],
    ['non-ASCII', 'X-Ä'],
    ['empty', ''],
  ])('refuses a name with %s with 400 and spools nothing', async (_what, name) => {
    started ??= await startTestListener();
    const res = await postJson(`${started.url}${INJECT}`, builder({ [name]: 'v' }));
    expect(res.status).toBe(400);
    expect(res.text).toContain('expected a header name of printable ASCII characters');
    expect(started.receiver.messages).toHaveLength(0);
  });

  it('refuses a trace header_name with CR LF', async () => {
    started = await startTestListener();
    const res = await postJson(`${started.url}${INJECT}`, {
      ...base,
      trace_headers: { header_name: 'X-Ref\r\nBcc: victim@example.com' },
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain('trace_headers.header_name');
  });

  it('accepts every printable name and never adds a header line', async () => {
    started = await startTestListener();
    const res = await postJson(
      `${started.url}${INJECT}`,
      builder({ 'X-Odd_!#$%&*+.^`|~': 'v\r\nX-Injected: no' }),
    );
    expect(res.status).toBe(200);
    const text = textOf(started.receiver.messages[0]!);
    expect(text).toContain('X-Odd_!#$%&*+.^`|~: ');
    expect(text).not.toMatch(/^X-Injected:/m);
  });
});

describe('answers given before the body is read', () => {
  // Far more than loopback's socket buffers hold, so a server that closed without reading
  // would reset the client mid-upload.
  const bigBody = Buffer.from(JSON.stringify({ ...base, content: 'x'.repeat(24 * 1024 * 1024) }));

  it('a client writing a body over the limit reads 413, not a reset', async () => {
    started = await startTestListener();
    const answer = await rawPost(`${started.url}${INJECT}`, bigBody);
    expect(answer).toEqual({ continued: false, status: 413, text: BODY_LIMIT_TEXT });
    // Also when the client asked to close the connection after this request.
    const closing = await rawPost(`${started.url}${INJECT}`, bigBody, {}, false);
    expect(closing).toEqual({ continued: false, status: 413, text: BODY_LIMIT_TEXT });
    // The connection was drained, not broken: the listener still answers.
    expect((await postJson(`${started.url}${INJECT}`, base)).status).toBe(200);
  });

  it('a client sending Expect: 100-continue gets 413 without sending its body', async () => {
    started = await startTestListener();
    const answer = await rawPost(`${started.url}${INJECT}`, bigBody, { expect: '100-continue' });
    expect(answer).toEqual({ continued: false, status: 413, text: BODY_LIMIT_TEXT });
    const small = Buffer.from(JSON.stringify(base));
    const ok = await rawPost(`${started.url}${INJECT}`, small, { expect: '100-continue' });
    expect(ok).toMatchObject({ continued: true, status: 200 });
  });

  it('an unauthenticated client writing a large body reads 401', async () => {
    started = await startTestListener({ trusted_hosts: ['10.0.0.0/8'] });
    const answer = await rawPost(`${started.url}${INJECT}`, bigBody, {}, false);
    expect(answer).toMatchObject({ status: 401, text: 'unauthorized' });
    expect(answer.error).toBeUndefined();
  });
});
