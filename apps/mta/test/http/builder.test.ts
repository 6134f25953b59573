import { randomBytes } from 'node:crypto';
import libmime from 'libmime';
import { afterEach, describe, expect, it } from 'vitest';
import { postJson, type Started, startTestListener, textOf } from './fixtures.js';

let started: Started | undefined;
afterEach(async () => {
  await started?.listener.close();
  started = undefined;
});

interface Entity {
  headers: { name: string; value: string }[];
  body: string;
}

/** Splits a MIME entity into unfolded headers and body; CRLF only. */
function parseEntity(text: string): Entity {
  const end = text.indexOf('\r\n\r\n');
  expect(end).toBeGreaterThan(0);
  const headers = text
    .slice(0, end)
    .replace(/\r\n[ \t]+/g, ' ')
    .split('\r\n')
    .map((line) => {
      const colon = line.indexOf(':');
      return { name: line.slice(0, colon), value: line.slice(colon + 1).trim() };
    });
  return { headers, body: text.slice(end + 4) };
}

const header = (e: Entity, name: string) =>
  e.headers.filter((h) => h.name.toLowerCase() === name.toLowerCase()).map((h) => h.value);
const one = (e: Entity, name: string) => {
  const values = header(e, name);
  expect(values, name).toHaveLength(1);
  return values[0]!;
};

/** The parts of a multipart entity, checking the boundary structure (preamble, delimiters, close). */
function parts(e: Entity): Entity[] {
  const type = one(e, 'Content-Type');
  const boundary = /boundary="([^"]+)"/.exec(type)?.[1];
  expect(boundary, type).toBeDefined();
  const delimiter = `--${boundary}`;
  expect(e.body.startsWith(`${delimiter}\r\n`)).toBe(true);
  const close = e.body.lastIndexOf(`\r\n${delimiter}--`);
  expect(close).toBeGreaterThan(0);
  return e.body
    .slice(delimiter.length + 2, close)
    .split(`\r\n${delimiter}\r\n`)
    .map(parseEntity);
}

/** Decodes a quoted-printable body. */
function decodeQp(body: string): string {
  const bytes = body
    .replace(/=\r\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

describe('POST /api/inject/v1 with builder content', () => {
  it('writes a multipart message per recipient: alternative bodies, a base64 attachment, encoded headers', async () => {
    started = await startTestListener();
    const pdf = randomBytes(3000);
    const res = await postJson(`${started.url}/api/inject/v1`, {
      envelope_sender: 'news@sender.example',
      recipients: [
        { email: 'ann@one.example', name: 'Ann Example', substitutions: { plan: 'gold' } },
        { email: 'zoe@two.example', name: 'Zoë Ünïcode' },
      ],
      substitutions: { plan: 'basic' },
      content: {
        subject: 'Grüße, {{ name }}',
        from: { email: 'news@sender.example', name: 'The Newsletter' },
        reply_to: { email: 'help@sender.example' },
        headers: { 'X-Campaign': 'spring-{{ plan }}' },
        text_body:
          'Hello {{ name }},\nyour plan is {{ plan }}. Ünïcode façade, and a long line: ' +
          'word '.repeat(30),
        html_body: '<p>Hello {{ name }}, plan <b>{{ plan }}</b></p>',
        attachments: [
          {
            data: pdf.toString('base64'),
            base64: true,
            content_type: 'application/pdf',
            file_name: 'report.pdf',
          },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      success_count: 2,
      fail_count: 0,
      failed_recipients: [],
      errors: [],
    });
    const [ann, zoe] = started.receiver.messages;

    for (const [message, to, name, plan] of [
      [ann!, 'Ann Example <ann@one.example>', 'Ann Example', 'gold'],
      [zoe!, '=?UTF-8?Q?Zo=C3=AB_=C3=9Cn=C3=AFcode?= <zoe@two.example>', 'Zoë Ünïcode', 'basic'],
    ] as const) {
      const text = textOf(message);
      // Only ASCII on the wire, CRLF only, no line over 998 octets.
      expect([...Buffer.from(message.data)].every((b) => b < 0x80)).toBe(true);
      expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
      expect(text.split('\r\n').every((l) => l.length <= 998)).toBe(true);
      const root = parseEntity(text);
      expect(one(root, 'To')).toBe(to);
      expect(one(root, 'From')).toBe('The Newsletter <news@sender.example>');
      expect(one(root, 'Reply-To')).toBe('help@sender.example');
      expect(libmime.decodeWords(one(root, 'Subject'))).toBe(`Grüße, ${name}`);
      expect(one(root, 'Subject')).toMatch(/=\?UTF-8\?Q\?/);
      expect(one(root, 'X-Campaign')).toBe(`spring-${plan}`);
      expect(one(root, 'MIME-Version')).toBe('1.0');
      expect(one(root, 'Message-ID')).toBe(`<${message.id}@mta.sterna.test>`);
      expect(Number.isNaN(Date.parse(one(root, 'Date')))).toBe(false);
      expect(one(root, 'Content-Type')).toMatch(/^multipart\/mixed; boundary=/);

      const [body, attachment] = parts(root);
      expect(parts(root)).toHaveLength(2);
      expect(one(body!, 'Content-Type')).toMatch(/^multipart\/alternative; boundary=/);
      const [plain, html] = parts(body!);
      expect(one(plain!, 'Content-Type')).toBe('text/plain; charset=utf-8');
      expect(one(plain!, 'Content-Transfer-Encoding')).toBe('quoted-printable');
      expect(plain!.body.split('\r\n').every((l) => l.length <= 76)).toBe(true);
      expect(decodeQp(plain!.body)).toBe(
        `Hello ${name},\r\nyour plan is ${plan}. Ünïcode façade, and a long line: ${'word '.repeat(30)}`,
      );
      expect(one(html!, 'Content-Type')).toBe('text/html; charset=utf-8');
      expect(decodeQp(html!.body)).toBe(`<p>Hello ${name}, plan <b>${plan}</b></p>`);

      expect(one(attachment!, 'Content-Type')).toBe('application/pdf; name=report.pdf');
      expect(one(attachment!, 'Content-Disposition')).toBe('attachment; filename=report.pdf');
      expect(one(attachment!, 'Content-Transfer-Encoding')).toBe('base64');
      expect(attachment!.body.split('\r\n').every((l) => l.length <= 76)).toBe(true);
      expect(Buffer.from(attachment!.body.replace(/\r\n/g, ''), 'base64').equals(pdf)).toBe(true);
    }
    // Each copy has its own boundary and Message-ID.
    expect(one(parseEntity(textOf(ann!)), 'Content-Type')).not.toBe(
      one(parseEntity(textOf(zoe!)), 'Content-Type'),
    );
  });

  it('keeps a To header given in headers, and escapes HTML substitutions', async () => {
    started = await startTestListener();
    const res = await postJson(`${started.url}/api/inject/v1`, {
      envelope_sender: 's@x.example',
      recipients: [{ email: 'a@y.example', name: '<Al & "Co">' }],
      content: {
        headers: { To: 'Undisclosed recipients:;' },
        html_body: '<p>{{ name }}</p>',
        attachments: [
          { data: 'plain text attachment', content_type: 'text/plain', file_name: 'notes.txt' },
        ],
      },
    });
    expect(res.status).toBe(200);
    const root = parseEntity(textOf(started.receiver.messages[0]!));
    expect(header(root, 'To')).toEqual(['Undisclosed recipients:;']);
    const [html, attachment] = parts(root);
    expect(one(html!, 'Content-Type')).toBe('text/html; charset=utf-8');
    expect(decodeQp(html!.body)).toBe('<p>&lt;Al &amp; &quot;Co&quot;&gt;</p>');
    expect(Buffer.from(attachment!.body, 'base64').toString()).toBe('plain text attachment');
  });

  it('quotes a display name with specials in the generated To header', async () => {
    started = await startTestListener();
    await postJson(`${started.url}/api/inject/v1`, {
      envelope_sender: 's@x.example',
      recipients: [{ email: 'a@y.example', name: 'Doe, Jane "JD"' }],
      content: { text_body: 'hi' },
    });
    const root = parseEntity(textOf(started.receiver.messages[0]!));
    expect(one(root, 'To')).toBe('"Doe, Jane \\"JD\\"" <a@y.example>');
    expect(one(root, 'Content-Type')).toBe('text/plain; charset=utf-8');
  });

  it('puts inline attachments in multipart/related with their Content-ID', async () => {
    started = await startTestListener();
    const png = randomBytes(100);
    await postJson(`${started.url}/api/inject/v1`, {
      envelope_sender: 's@x.example',
      recipients: [{ email: 'a@y.example' }],
      content: {
        text_body: 'see the logo',
        html_body: '<img src="cid:logo">',
        attachments: [
          {
            data: png.toString('base64'),
            base64: true,
            content_type: 'image/png',
            content_id: 'logo',
          },
        ],
      },
    });
    const root = parseEntity(textOf(started.receiver.messages[0]!));
    expect(one(root, 'Content-Type')).toMatch(/^multipart\/related;/);
    const [alternative, image] = parts(root);
    expect(parts(alternative!).map((p) => one(p, 'Content-Type'))).toEqual([
      'text/plain; charset=utf-8',
      'text/html; charset=utf-8',
    ]);
    expect(one(image!, 'Content-ID')).toBe('<logo>');
    expect(one(image!, 'Content-Disposition')).toBe('inline');
    expect(Buffer.from(image!.body.replace(/\r\n/g, ''), 'base64').equals(png)).toBe(true);
  });

  it('refuses a builder with neither text_body nor html_body, and template errors in any field with 422', async () => {
    started = await startTestListener();
    const none = await postJson(`${started.url}/api/inject/v1`, {
      envelope_sender: 's@x.example',
      recipients: [{ email: 'a@y.example' }],
      content: { subject: 'only a subject' },
    });
    expect(none.status).toBe(400);
    expect(none.text).toContain('text_body or html_body');
    const bad = await postJson(`${started.url}/api/inject/v1`, {
      envelope_sender: 's@x.example',
      recipients: [{ email: 'a@y.example' }],
      content: { text_body: 'ok', headers: { 'X-Bad': '{% for %}' } },
    });
    expect(bad.status).toBe(422);
    expect(bad.text).toMatch(/^headers\.X-Bad: /);
    expect(started.receiver.batches).toHaveLength(0);
  });
});
