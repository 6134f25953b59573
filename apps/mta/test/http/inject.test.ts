import { gzipSync } from 'node:zlib';
import { isSpoolId } from '@sterna/core/engine';
import { afterEach, describe, expect, it } from 'vitest';
import { BODY_LIMIT_TEXT } from '../../src/http/index.js';
import {
  postJson,
  reject,
  type Started,
  startTestListener,
  TestPolicy,
  textOf,
} from './fixtures.js';

let started: Started | undefined;
afterEach(async () => {
  await started?.listener.close();
  started = undefined;
});

const INJECT = '/api/inject/v1';

/** The decoded X-KumoRef payload of a message. */
function kumoRef(text: string): Record<string, unknown> {
  const m = /^X-KumoRef: ([^\r\n]*(?:\r\n\t[^\r\n]*)*)\r\n/.exec(text);
  if (!m) throw new Error('no X-KumoRef header first');
  return JSON.parse(Buffer.from(m[1]!.replace(/\r\n\t/g, ''), 'base64').toString('utf8'));
}

describe('POST /api/inject/v1 with RFC 822 content', () => {
  it('renders one copy per recipient with global and per-recipient substitutions, CRLF line endings', async () => {
    started = await startTestListener();
    const generated: { id: string; auth: unknown }[] = [];
    started.policy.events.http_message_generated = (message, auth) => {
      generated.push({ id: message.id, auth });
    };
    const content =
      'Subject: Hello {{ name }}\nTo: {{ to_header }}\n\nDear {{ name }}, your code is {{ code }}.\n{% if vip %}VIP{% endif %}\n';
    const res = await postJson(`${started.url}${INJECT}`, {
      envelope_sender: 'bounce@sender.example',
      content,
      substitutions: { code: 'GLOBAL' },
      recipients: [
        { email: 'ann@one.example', name: 'Ann' },
        { email: 'bob@two.example', name: 'Bob', substitutions: { code: 'B-42', vip: true } },
        { email: 'cy@three.example' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      success_count: 3,
      fail_count: 0,
      failed_recipients: [],
      errors: [],
    });
    const messages = started.receiver.messages;
    expect(messages.map((m) => m.recipients)).toEqual([
      ['ann@one.example'],
      ['bob@two.example'],
      ['cy@three.example'],
    ]);
    expect(started.receiver.batches).toHaveLength(1);
    expect(started.receiver.batches[0]!.peer).toEqual({ name: '', addr: '127.0.0.1' });
    const texts = messages.map(textOf);
    expect(texts[0]).toContain(
      'Subject: Hello Ann\r\nTo: Ann <ann@one.example>\r\n\r\nDear Ann, your code is GLOBAL.\r\n\r\n',
    );
    expect(texts[1]).toContain(
      'Subject: Hello Bob\r\nTo: Bob <bob@two.example>\r\n\r\nDear Bob, your code is B-42.\r\nVIP\r\n',
    );
    // No name given: the variable renders empty, as MiniJinja does.
    expect(texts[2]).toContain(
      'Subject: Hello \r\nTo: cy@three.example\r\n\r\nDear , your code is GLOBAL.\r\n',
    );
    for (const [i, m] of messages.entries()) {
      const text = texts[i]!;
      expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
      expect(isSpoolId(m.id)).toBe(true);
      expect(m.sender).toBe('bounce@sender.example');
      expect(kumoRef(text)).toEqual({ '_@_': '\\_/', recipient: m.recipients[0] });
      expect(text).not.toContain('Received:');
      expect(m.meta).toMatchObject({
        reception_protocol: 'HTTP',
        hostname: 'mta.sterna.test',
        http_auth: null,
      });
      expect(m.meta.received_from).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(m.meta.received_via).toBe(started.url.replace('http://', ''));
      expect('extra' in m.meta).toBe(false);
    }
    expect(generated.map((g) => g.id)).toEqual(messages.map((m) => m.id));
    expect(generated[0]!.auth).toEqual({
      peer_address: '127.0.0.1',
      identities: [],
      groups: ['kumomta:http-listener-trusted-ip'],
    });
  });

  it('puts recipient metadata in meta extra and keeps meta the policy set', async () => {
    started = await startTestListener();
    started.policy.events.http_message_generated = (message) => {
      message.meta.tenant = 'acme';
    };
    const res = await postJson(`${started.url}${INJECT}`, {
      envelope_sender: 's@x.example',
      content: 'Subject: hi\r\n\r\nbody\r\n',
      recipients: [
        { email: 'a@y.example', metadata: { customer: 17, tags: ['a', 'b'] } },
        { email: 'b@y.example' },
      ],
    });
    expect(res.status).toBe(200);
    const [a, b] = started.receiver.messages;
    expect(a!.meta.extra).toEqual({ customer: 17, tags: ['a', 'b'] });
    expect(a!.meta.tenant).toBe('acme');
    expect('extra' in b!.meta).toBe(false);
  });

  it('fails only the recipient the policy rejects', async () => {
    started = await startTestListener();
    started.policy.events.http_message_generated = (message) => {
      if (message.recipients[0] === 'no@y.example') reject(550, '5.7.1 not this one');
    };
    const res = await postJson(`${started.url}${INJECT}`, {
      envelope_sender: 's@x.example',
      content: 'Subject: hi\n\nbody\n',
      recipients: [
        { email: 'yes@y.example' },
        { email: 'no@y.example' },
        { email: 'also@y.example' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      success_count: 2,
      fail_count: 1,
      failed_recipients: ['no@y.example'],
      errors: ['no@y.example: 550 5.7.1 not this one'],
    });
    expect(started.receiver.messages.map((m) => m.recipients[0])).toEqual([
      'yes@y.example',
      'also@y.example',
    ]);
  });

  it('counts a message sent to queue null as a success without spooling it', async () => {
    started = await startTestListener();
    started.policy.events.http_message_generated = (message) => {
      if (message.recipients[0] === 'drop@y.example') message.meta.queue = 'null';
    };
    const res = await postJson(`${started.url}${INJECT}`, {
      envelope_sender: 's@x.example',
      content: 'Subject: hi\n\nbody\n',
      recipients: [{ email: 'drop@y.example' }, { email: 'keep@y.example' }],
    });
    expect(res.json).toMatchObject({ success_count: 2, fail_count: 0 });
    expect(started.receiver.messages.map((m) => m.recipients[0])).toEqual(['keep@y.example']);
  });

  it('answers 422 with the error text for a template syntax error, and spools nothing', async () => {
    started = await startTestListener();
    const res = await postJson(`${started.url}${INJECT}`, {
      envelope_sender: 's@x.example',
      content: 'Subject: {{ name \n\nbody',
      recipients: [{ email: 'a@y.example' }],
    });
    expect(res.status).toBe(422);
    // MiniJinja's wording (nunjucks said "expected variable end"), with the line it stopped at.
    expect(res.text).toBe(
      'content: syntax error: unexpected identifier, expected end of variable block (line 3: "body")',
    );
    expect(started.receiver.batches).toHaveLength(0);
  });

  it('leaves template syntax alone with template_dialect Static', async () => {
    started = await startTestListener();
    const res = await postJson(`${started.url}${INJECT}`, {
      envelope_sender: 's@x.example',
      content: 'Subject: {{ name }}\n\n{% raw %}',
      template_dialect: 'Static',
      recipients: [{ email: 'a@y.example', name: 'A' }],
    });
    expect(res.status).toBe(200);
    expect(textOf(started.receiver.messages[0]!)).toContain('Subject: {{ name }}\r\n\r\n{% raw %}');
  });

  it('adds a Received header only when trace_headers asks, and no X-KumoRef when disabled', async () => {
    started = await startTestListener();
    const res = await postJson(`${started.url}${INJECT}`, {
      envelope_sender: 's@x.example',
      content: 'Subject: hi\n\nbody\n',
      trace_headers: { received_header: true, supplemental_header: false },
      recipients: [{ email: 'a@y.example' }],
    });
    expect(res.status).toBe(200);
    const [m] = started.receiver.messages;
    const text = textOf(m!);
    expect(text).toMatch(
      /^Received: from 127\.0\.0\.1 \(127\.0\.0\.1\)\r\n {2}by mta\.sterna\.test /,
    );
    expect(text).toContain(`with HTTP id ${m!.id} for <a@y.example>;`);
    expect(text).not.toContain('X-KumoRef');
  });

  it('refuses unknown keys with 400 naming them', async () => {
    started = await startTestListener();
    const res = await postJson(`${started.url}${INJECT}`, {
      envelope_sender: 's@x.example',
      content: 'Subject: hi\n\nbody\n',
      recipients: [{ email: 'a@y.example', nmae: 'typo' }],
      colour: 'blue',
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain("recipients[0]: unknown key 'nmae'");
    expect(res.text).toContain("unknown key 'colour'");
    const missing = await postJson(`${started.url}${INJECT}`, { content: 'x', recipients: [] });
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('envelope_sender');
    // Addresses that could break an SMTP command or a header are refused.
    const evil = await postJson(`${started.url}${INJECT}`, {
      envelope_sender: 's@x.example>\r\nRCPT TO:<victim@z.example',
      content: 'x',
      recipients: [{ email: 'no-at-sign' }, { email: 'a@b c.example' }],
    });
    expect(evil.status).toBe(400);
    expect(evil.text).toContain('envelope_sender: ');
    expect(evil.text).toContain('recipients[0].email: expected an address like user@example.com');
    expect(evil.text).toContain('recipients[1].email: ');
    // No recipients is not an error (as in KumoMTA): nothing to do.
    const none = await postJson(`${started.url}${INJECT}`, {
      envelope_sender: '',
      content: 'x',
      recipients: [],
    });
    expect(none.json).toEqual({
      success_count: 0,
      fail_count: 0,
      failed_recipients: [],
      errors: [],
    });
    expect(started.receiver.batches).toHaveLength(0);
  });

  it('answers 413 with KumoMTA’s text over request_body_limit', async () => {
    started = await startTestListener({ request_body_limit: 4096 });
    const body = {
      envelope_sender: 's@x.example',
      content: `Subject: big\n\n${'x'.repeat(5000)}\n`,
      recipients: [{ email: 'a@y.example' }],
    };
    const res = await postJson(`${started.url}${INJECT}`, body);
    expect(res.status).toBe(413);
    expect(res.text).toBe(BODY_LIMIT_TEXT);
    // Just under the limit passes.
    const small = await postJson(`${started.url}${INJECT}`, {
      ...body,
      content: `Subject: ok\n\n${'x'.repeat(3000)}\n`,
    });
    expect(small.status).toBe(200);
  });

  it('accepts a gzip body and applies the limit after decompression', async () => {
    started = await startTestListener({ request_body_limit: 64 * 1024 });
    const body = {
      envelope_sender: 's@x.example',
      content: 'Subject: zipped {{ name }}\n\nhello\n',
      recipients: [{ email: 'a@y.example', name: 'Zed' }],
    };
    const ok = await postJson(`${started.url}${INJECT}`, gzipSync(JSON.stringify(body)), {
      'content-encoding': 'gzip',
    });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ success_count: 1 });
    expect(textOf(started.receiver.messages[0]!)).toContain('Subject: zipped Zed\r\n');
    // 1 MiB of one letter compresses to about 1 KiB: under the limit on the wire, over it unpacked.
    const bomb = gzipSync(
      JSON.stringify({ ...body, content: `Subject: x\n\n${'y'.repeat(1024 * 1024)}` }),
    );
    expect(bomb.length).toBeLessThan(64 * 1024);
    const big = await postJson(`${started.url}${INJECT}`, bomb, { 'content-encoding': 'gzip' });
    expect(big.status).toBe(413);
    expect(big.text).toBe(BODY_LIMIT_TEXT);
    const corrupt = await postJson(`${started.url}${INJECT}`, new Uint8Array([1, 2, 3, 4]), {
      'content-encoding': 'gzip',
    });
    expect(corrupt.status).toBe(400);
    const brotli = await postJson(`${started.url}${INJECT}`, body, { 'content-encoding': 'br' });
    expect(brotli.status).toBe(415);
    expect(brotli.text).toContain("'br'");
    const form = await postJson(`${started.url}${INJECT}`, body, { 'content-type': 'text/plain' });
    expect(form.status).toBe(415);
    expect(started.receiver.messages).toHaveLength(1);
  });

  it('answers 503 and acknowledges nothing when the spool fails', async () => {
    started = await startTestListener();
    started.receiver.failWith = new Error('ENOSPC: no space left on device');
    const res = await postJson(`${started.url}${INJECT}`, {
      envelope_sender: 's@x.example',
      content: 'Subject: hi\n\nbody\n',
      recipients: [{ email: 'a@y.example' }, { email: 'b@y.example' }],
    });
    expect(res.status).toBe(503);
    expect(res.text).toContain('ENOSPC');
    expect(res.json).toBeUndefined();
  });

  it('spools a large request in batches, and lists the copies a later batch could not spool as failed', async () => {
    started = await startTestListener();
    const body = {
      envelope_sender: 's@x.example',
      content: `Subject: big\n\n${'0123456789abcdef'.repeat(6400)}\n`,
      recipients: Array.from({ length: 100 }, (_, i) => ({ email: `r${i}@y.example` })),
    };
    const all = await postJson(`${started.url}${INJECT}`, body);
    expect(all.json).toMatchObject({ success_count: 100, fail_count: 0 });
    // About 100 KiB a copy: the first batch closes at 8 MiB, the rest go at the end.
    expect(started.receiver.batches.map((b) => b.messages.length)).toEqual([82, 18]);

    started.receiver.batches.length = 0;
    started.receiver.failWith = new Error('EIO: i/o error');
    started.receiver.failAfter = 1;
    const partial = await postJson(`${started.url}${INJECT}`, body);
    expect(partial.status).toBe(200);
    const json = partial.json as {
      success_count: number;
      fail_count: number;
      failed_recipients: string[];
      errors: string[];
    };
    expect(json.success_count).toBe(82);
    expect(json.fail_count).toBe(18);
    expect(json.failed_recipients).toEqual(body.recipients.slice(82).map((r) => r.email));
    expect(json.errors[0]).toBe('r82@y.example: could not spool the messages: EIO: i/o error');
    expect(started.receiver.messages).toHaveLength(82);
  });

  it('refuses the parts of KumoMTA’s API Sterna does not implement with a clear 400', async () => {
    started = await startTestListener({}, { policy: new TestPolicy() });
    const base = {
      envelope_sender: 's@x.example',
      content: 'Subject: hi\n\nbody\n',
      recipients: [{ email: 'a@y.example' }],
    };
    const hb = await postJson(`${started.url}${INJECT}`, {
      ...base,
      template_dialect: 'Handlebars',
    });
    expect(hb.status).toBe(400);
    expect(hb.text).toContain('Handlebars');
    const deferred = await postJson(`${started.url}${INJECT}`, {
      ...base,
      deferred_generation: true,
    });
    expect(deferred.status).toBe(400);
    expect(deferred.text).toContain('deferred_generation');
  });

  it('hands deferred_spool to the receiver, which keeps such messages in memory first', async () => {
    started = await startTestListener();
    const base = {
      envelope_sender: 's@x.example',
      content: 'Subject: hi\n\nbody\n',
      recipients: [{ email: 'a@y.example' }],
    };
    expect((await postJson(`${started.url}${INJECT}`, base)).status).toBe(200);
    const res = await postJson(`${started.url}${INJECT}`, { ...base, deferred_spool: true });
    expect(res.status).toBe(200);
    expect(started.receiver.batches.map((b) => b.options?.deferredSpool)).toEqual([false, true]);
  });
});
