import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, type Started, startTestListener, textOf } from './fixtures.js';
import { expectNoLeak, SANDBOX_PAYLOADS } from './template-payloads.js';

// POST /api/inject/v1 with template-sandbox escapes, in RFC 822 content and in builder content:
// each is answered 200 with the payload rendered empty or as data, or refused with 422; nothing
// the listener delivers shows that JavaScript ran; runaway templates end within their limits.

let started: Started;
beforeAll(async () => {
  started = await startTestListener();
});
afterAll(async () => {
  await started?.listener.close();
});

const INJECT = '/api/inject/v1';
const MARK = 'sandbox-mark';

/** The text between the marks of the last message received. */
function rendered(): string {
  const text = textOf(started.receiver.messages.at(-1)!);
  const from = text.indexOf(`<${MARK}>`);
  const to = text.indexOf(`</${MARK}>`);
  expect(from).toBeGreaterThanOrEqual(0);
  expect(to).toBeGreaterThan(from);
  return text.slice(from + MARK.length + 2, to);
}

async function inject(content: unknown, substitutions: Record<string, unknown> = {}) {
  const before = started.receiver.messages.length;
  const res = await postJson(`${started.url}${INJECT}`, {
    envelope_sender: 'sender@example.org',
    content,
    recipients: [{ email: 'user@example.com', name: 'User', substitutions }],
  });
  if (res.status === 200) {
    expect(res.json).toMatchObject({ success_count: 1, fail_count: 0 });
    expect(started.receiver.messages.length).toBe(before + 1);
  } else {
    expect(res.status, res.text).toBe(422);
    expectNoLeak(res.text);
    expect(started.receiver.messages.length).toBe(before);
  }
  return res;
}

describe('POST /api/inject/v1 renders templates in a sandbox', () => {
  const vars = { v: 'x', x: JSON.parse('{"__proto__": {"polluted": "data"}}') };

  it.each(SANDBOX_PAYLOADS)('%s: rendered empty or as data, or 422', async (payload) => {
    const wrapped = `<${MARK}>${payload}</${MARK}>`;
    const raw = await inject(`Subject: sandbox\r\n\r\n${wrapped}\r\n`, vars);
    if (raw.status === 200) expectNoLeak(rendered());
    for (const part of ['text_body', 'html_body', 'subject'] as const) {
      const res = await inject({ text_body: 'body', [part]: wrapped }, vars);
      if (res.status === 200) expectNoLeak(rendered());
    }
  });

  it('renders substitutions with __proto__ and constructor keys as data', async () => {
    const res = await postJson(
      `${started.url}${INJECT}`,
      JSON.parse(`{
        "envelope_sender": "sender@example.org",
        "content": "Subject: data\\r\\n\\r\\n<${MARK}>{{ x.__proto__.polluted }}|{{ x.constructor }}|{{ x|tojson }}</${MARK}>\\r\\n",
        "recipients": [{ "email": "user@example.com",
          "substitutions": { "x": { "__proto__": { "polluted": "yes" }, "constructor": "c" } } }]
      }`),
    );
    expect(res.status).toBe(200);
    expect(rendered()).toBe('yes|c|{"__proto__":{"polluted":"yes"},"constructor":"c"}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers 422, naming the limit that stopped it, to recursion, huge ranges, runaway loops and memory bombs', async () => {
    const bombs: [string, RegExp][] = [
      ['{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}', /recursion limit exceeded/],
      ['{% for i in range(10**9) %}x{% endfor %}', /range has too many elements/],
      [
        '{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}',
        /ran out of fuel|longer than 1000 ms|256 MiB/,
      ],
      [
        '{% set ns = namespace(s="") %}{% for i in range(100000) %}' +
          '{% set ns.s = ns.s ~ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" %}{% endfor %}',
        /longer than 1000 ms/,
      ],
      ['{{ "x" * n }}', /256 MiB/],
    ];
    // The reason in each answer is the proof that a limit stopped the template (unbounded, these
    // run for minutes to hours); elapsed time is not asserted, as it depends on the machine.
    for (const [template, reason] of bombs) {
      const res = await inject(`Subject: bomb\r\n\r\n${template}\r\n`, { n: 3_000_000_000 });
      expect(res.status, template).toBe(422);
      expect(res.text).toMatch(/^content: /);
      expect(res.text).toMatch(reason);
    }
    // The listener and the engine keep working.
    const ok = await inject(`Subject: after\r\n\r\n<${MARK}>{{ v }}</${MARK}>\r\n`, {
      v: 'fine',
    });
    expect(ok.status).toBe(200);
    expect(rendered()).toBe('fine');
  });

  it('escapes HTML bodies and leaves text alone, in one message', async () => {
    const res = await inject(
      {
        subject: 'Hi {{ v }}',
        text_body: `<${MARK}>{{ v }}</${MARK}>`,
        html_body: '<p>{{ v }}</p>',
      },
      { v: '<b>&' },
    );
    expect(res.status).toBe(200);
    expect(rendered()).toBe('<b>&');
    expect(textOf(started.receiver.messages.at(-1)!)).toContain('&lt;b&gt;&amp;');
  });
});
