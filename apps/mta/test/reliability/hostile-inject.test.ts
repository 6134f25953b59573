// Suite 8, hostile injection: what a trusted HTTP client (any ESP customer whose template an
// application passes through) may send. Template-sandbox escapes, deep and wide JSON, header
// names that would inject lines, oversized and malformed bodies. Each gets the documented status,
// never a 5xx; no payload runs code (the daemon's pid never appears in what is delivered); and
// the daemon keeps serving.

import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, maildirMessages } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';
import { report } from './support.js';

let daemon: DaemonProcess;
let dir: PolicyDir;

beforeAll(async () => {
  // http_message_generated runs for every injected copy, so client data crosses into a Lua
  // context's thread (where metadata nested 10,000 deep once ended the process).
  dir = await writePolicy(`
kumo.on('http_message_generated', function(msg)
  msg:set_meta('x_seen', 'yes')
end)
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
end)
`);
  daemon = await startDaemon(dir.policy);
}, 120_000);
afterAll(async () => {
  await daemon?.kill();
  await dir?.cleanup();
});

interface Answer {
  status: number;
  text: string;
  error?: string;
}

/** One request with Node's client; settles when the exchange is closed, errors included. */
function send(path: string, body: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve) => {
    const answer: Answer = { status: 0, text: '' };
    const req = request(
      `${daemon.http}${path}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length, ...headers },
      },
      (res) => {
        res.on('data', (chunk: Buffer) => (answer.text += chunk.toString()));
        res.on('end', () => (answer.status = res.statusCode ?? 0));
      },
    );
    req.on('error', (error) => (answer.error = error.message));
    req.on('close', () => resolve(answer));
    // A client that asks `Expect: 100-continue` sends its body only when told to continue (one
    // that sent it anyway could see EPIPE when the server refuses and closes, depending on how
    // much its socket had buffered).
    if (headers.expect === '100-continue') {
      req.on('continue', () => req.end(body));
      req.flushHeaders();
    } else {
      req.end(body);
    }
  });
}

const inject = (value: unknown, headers?: Record<string, string>) =>
  send(
    '/api/inject/v1',
    Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers,
  );

/** An inject request for one recipient whose content is `content`. */
const message = (content: unknown, extra: Record<string, unknown> = {}) => ({
  envelope_sender: 'sender@example.org',
  content,
  recipients: [{ email: 'user@hostile-inject.test', name: 'User', substitutions: { v: 'x' } }],
  ...extra,
});

async function serving(): Promise<boolean> {
  const res = await fetch(`${daemon.http}/api/check-liveness/v1`).catch(() => undefined);
  return res?.status === 200;
}

/**
 * Template payloads known to escape Jinja-like engines that are not sandboxes: prototype
 * chains, `constructor`, `__proto__`, the `range`/`cycler`/`joiner` globals, attribute access on
 * functions and filters, and loops and recursion that would pin a core.
 */
const TEMPLATE_PAYLOADS = [
  '{{ constructor.constructor("return process.pid")() }}',
  '{{ constructor }}',
  '{{ range.constructor("return process.pid")() }}',
  '{{ cycler.constructor("return process.pid")() }}',
  '{{ joiner.constructor("return process.pid")() }}',
  '{{ lipsum.constructor("return process.pid")() }}',
  `{{ ''.constructor.constructor('return process.pid')() }}`,
  '{{ [].constructor.constructor("return process.pid")() }}',
  '{{ v.constructor.constructor("return process.pid")() }}',
  '{{ v.toString.constructor("return process.pid")() }}',
  '{{ name.__class__ }}',
  '{{ __proto__ }}',
  '{{ {}.__proto__ }}',
  '{{ v.__proto__.constructor }}',
  '{{ range.__call__ }}',
  '{{ lipsum.__globals__ }}',
  '{{ self }}{{ self.__init__ }}',
  `{{ (1)|attr('constructor') }}`,
  `{{ "a"|attr("constructor")|attr("constructor") }}`,
  '{% set x = namespace() %}{{ x.constructor }}',
  '{{ process.pid }}{{ global.process }}{{ globalThis }}{{ this }}',
  `{{ require('child_process') }}`,
  '{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}',
  '{% for i in range(1000000000) %}x{% endfor %}',
  '{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}',
];

const results: Record<string, string> = {};
const MARK = 'hostile-mark';

describe('hostile injection', () => {
  it('renders every template escape literally or refuses it with 4xx, and runs no code', async () => {
    for (const [index, payload] of TEMPLATE_PAYLOADS.entries()) {
      const content = `Subject: payload ${index}\r\n\r\n<${MARK}>${payload}</${MARK}>\r\n`;
      const raw = await inject(message(content));
      const builder = await inject(
        message({ subject: `payload ${index}`, text_body: `<${MARK}>${payload}</${MARK}>` }),
      );
      for (const res of [raw, builder]) {
        expect(res.error, payload).toBeUndefined();
        expect(res.status === 200 || (res.status >= 400 && res.status < 500), payload).toBe(true);
      }
      results[payload] = `${raw.status}/${builder.status}`;
      expect(await serving()).toBe(true);
    }
    const accepted = Object.values(results)
      .flatMap((s) => s.split('/'))
      .filter((s) => s === '200');
    // Whatever was accepted is delivered; none of it carries the daemon's pid or its internals.
    const delivered = await eventually(async () => {
      const texts = await maildirMessages(dir.maildir);
      return texts.length >= accepted.length ? texts : undefined;
    }, 60_000);
    const pid = String(daemon.child.pid);
    for (const text of delivered) {
      const rendered = text.slice(text.indexOf(`<${MARK}>`), text.indexOf(`</${MARK}>`));
      expect(rendered).not.toMatch(new RegExp(`\\b${pid}\\b`));
      expect(rendered).not.toContain('[native code]');
      expect(rendered).not.toMatch(/function \w*\(/);
      expect(rendered).not.toContain(process.version);
    }
    report('hostile-inject/templates', { ...results, delivered: delivered.length });
  });

  it('refuses JSON nested past 128 levels with 400, accepts it up to there', async () => {
    const nested = (depth: number) => `${'{"a":'.repeat(depth - 1)}1${'}'.repeat(depth - 1)}`;
    const withMeta = (depth: number) =>
      JSON.stringify(message('Subject: deep\r\n\r\nbody\r\n')).replace(
        '"substitutions":{"v":"x"}',
        `"substitutions":{"v":"x"},"metadata":{"deep":${nested(depth)}}`,
      );
    const answers: Record<string, number> = {};
    for (const depth of [10_000, 5_000, 3_000, 129]) {
      const res = await inject(withMeta(depth));
      expect(res.status, `depth ${depth}`).toBe(400);
      expect(res.text).toContain('nested deeper than 128 levels');
      answers[`metadata ${depth} deep`] = res.status;
    }
    // The request and recipient objects count as two of the 128 levels.
    const fits = await inject(withMeta(120));
    expect(fits.status).toBe(200);
    answers['metadata 120 deep'] = fits.status;
    const deepArray = await inject(`${'['.repeat(50_000)}${']'.repeat(50_000)}`);
    expect(deepArray.status).toBe(400);
    answers['array 50,000 deep'] = deepArray.status;
    expect(await serving()).toBe(true);
    report('hostile-inject/depth', answers);
  });

  it('takes wide JSON and __proto__ keys as data', async () => {
    const wide = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i]));
    const res = await inject(message('Subject: wide\r\n\r\nbody\r\n', { substitutions: wide }));
    expect(res.status).toBe(200);
    const proto = await inject(
      JSON.stringify(message('Subject: {{ __proto__.p }}\r\n\r\nbody\r\n')).replace(
        '"substitutions":{"v":"x"}',
        '"substitutions":{"v":"x","__proto__":{"p":"own"}},"metadata":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}',
      ),
    );
    expect(proto.status).toBe(200);
    expect(await serving()).toBe(true);
    report('hostile-inject/wide', { '50,000 keys': res.status, __proto__: proto.status });
  });

  it('refuses header names that would write header lines, with 400', async () => {
    const names = [
      'X-A\r\nX-Injected-Name',
      'X-A\nBcc: victim@example.com',
      'X-A\0',
      'X-A:b',
      'X A',
      '',
    ];
    const answers: Record<string, number> = {};
    for (const name of names) {
      const res = await inject(message({ text_body: 'hi', headers: { [name]: 'v' } }));
      expect(res.status, JSON.stringify(name)).toBe(400);
      answers[JSON.stringify(name)] = res.status;
    }
    const trace = await inject(
      message('Subject: t\r\n\r\nb\r\n', {
        trace_headers: { header_name: 'X-R\r\nBcc: v@example.com' },
      }),
    );
    expect(trace.status).toBe(400);
    answers['trace header_name'] = trace.status;
    expect(await serving()).toBe(true);
    report('hostile-inject/header-names', answers);
  });

  it('answers oversized and malformed bodies with their 4xx', async () => {
    const cases: [string, Promise<Answer>, number][] = [
      ['3 MiB body', inject(message(`Subject: big\r\n\r\n${'x'.repeat(3 * 1024 * 1024)}`)), 413],
      [
        '3 MiB body, Expect: 100-continue',
        inject(message(`Subject: big\r\n\r\n${'x'.repeat(3 * 1024 * 1024)}`), {
          expect: '100-continue',
        }),
        413,
      ],
      ['not JSON', inject('{"envelope_sender": '), 400],
      ['empty', inject(''), 400],
      ['null', inject('null'), 400],
      ['an array', inject('[1,2,3]'), 400],
      ['unknown key', inject(message('x', { bogus: 1 })), 400],
      [
        'bad recipient',
        inject({ ...message('x'), recipients: [{ email: 'a\r\nRCPT TO:<b@c>' }] }),
        400,
      ],
      ['text/plain', inject(message('x'), { 'content-type': 'text/plain' }), 415],
      ['brotli', inject(message('x'), { 'content-encoding': 'br' }), 415],
      [
        'corrupt gzip',
        send('/api/inject/v1', Buffer.from([0x1f, 0x8b, 1, 2, 3]), { 'content-encoding': 'gzip' }),
        400,
      ],
      [
        'gzip bomb',
        send(
          '/api/inject/v1',
          gzipSync(JSON.stringify(message(`Subject: z\r\n\r\n${'z'.repeat(16 * 1024 * 1024)}`))),
          { 'content-encoding': 'gzip' },
        ),
        413,
      ],
      ['template syntax error', inject(message('Subject: {{ x\r\n\r\nb')), 422],
    ];
    const answers: Record<string, number> = {};
    for (const [what, pending, status] of cases) {
      const res = await pending;
      expect(res.error, what).toBeUndefined();
      expect(res.status, what).toBe(status);
      answers[what] = res.status;
    }
    expect(await serving()).toBe(true);
    report('hostile-inject/bodies', answers);
  });

  it('is still the same process, serving and delivering', async () => {
    expect(daemon.child.exitCode).toBeNull();
    const res = await inject(message('Subject: still here\r\n\r\nbody\r\n'));
    expect(res.status).toBe(200);
    await eventually(async () => {
      for (const text of await maildirMessages(dir.maildir))
        if (text.includes('still here')) return true;
      return undefined;
    }, 30_000);
    expect(daemon.output()).not.toMatch(/Maximum call stack|uncaught|unhandled/i);
  });
});
