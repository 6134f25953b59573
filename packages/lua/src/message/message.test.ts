import { describe, expect, it } from 'vitest';
import { inMs, loadedContext } from '../../test/helpers.js';
import type { MessageSnapshot } from './message-snapshot.js';

const CRLF = '\r\n';
const raw = [
  'Received: from client.example (client.example [10.1.2.3])',
  '\tby mx.sterna.test with ESMTP id 1234;',
  '\tMon, 1 Jan 2024 00:00:00 +0000',
  'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus',
  ' =?ISO-8859-1?B?S/Zsbg==?=',
  'To: one@dest.example',
  'to: two@dest.example',
  'X-Campaign-ID: spring-sale',
  'X-Drop-Me: yes',
  'Received: second',
  '',
  'Body line',
  '',
].join(CRLF);

function snapshot(data: string | Uint8Array = raw): MessageSnapshot {
  return {
    id: '0123456789abcdef0123456789abcdef',
    sender: 'bounce+x@sender.example',
    recipients: ['alice@dest.example'],
    meta: { existing: 'yes' },
    data: typeof data === 'string' ? new TextEncoder().encode(data) : data,
    num_attempts: 2,
  };
}

describe('the message object', () => {
  it('reads the envelope, folded and RFC 2047 headers, meta; edits reach the caller', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call(
      'smtp_server_message_received',
      [snapshot(), { received_from: '10.1.2.3:4567' }],
      inMs(1000),
    );
    expect(outcome.status).toBe('ok');
    if (outcome.status !== 'ok') return;
    expect(outcome.values[0]).toEqual({
      id: '0123456789abcdef0123456789abcdef',
      sender: 'bounce+x@sender.example',
      sender_user: 'bounce+x',
      sender_domain: 'sender.example',
      recipient: 'alice@dest.example',
      recipients: 1,
      subject: 'Grüße aus Köln',
      to_all: ['one@dest.example', 'two@dest.example'],
      queue: 'acme@dest.example',
      attempts: 2,
      header_count: 8,
      campaign_meta: 'spring-sale',
    });
    const changed = outcome.messages[0]!;
    expect(changed.meta).toEqual({
      existing: 'yes',
      tenant: 'acme',
      x_seen_by: '10.1.2.3:4567',
      x_campaign_id: 'spring-sale',
      x_drop_me: 'yes',
    });
    expect(changed.queue).toBe('acme@dest.example');
    const text = new TextDecoder().decode(changed.data);
    expect(text.startsWith(`X-Policy: checked${CRLF}Received: from client.example`)).toBe(true);
    expect(text).not.toContain('X-Drop-Me');
    expect(text).toContain('X-Campaign-ID: spring-sale');
    expect(text).toMatch(/X-Unicode: =\?UTF-8\?Q\?h=C3=A9llo_w=C3=B6rld\?=\r\n\r\nBody line/);
  });

  it('rewrites the envelope and data; removes every named header', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call('rewrite', [snapshot()], inMs(1000));
    if (outcome.status !== 'ok') throw new Error(JSON.stringify(outcome));
    const changed = outcome.messages[0]!;
    expect(changed.sender).toBe('new@sender.example');
    expect(changed.recipients).toEqual(['a@one.example', 'b@two.example']);
    const text = new TextDecoder().decode(changed.data);
    expect(text).not.toMatch(/^Received:/im);
    expect(text.endsWith(`Body line${CRLF}appended${CRLF}`)).toBe(true);
    expect(outcome.values[0]).toBe(changed.data.length);
  });

  it('returns no snapshot for a message the call did not change', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call('untouched', [snapshot()], inMs(1000));
    expect(outcome).toEqual({ status: 'ok', values: [], messages: [undefined] });
  });

  it('get_data and set_data are byte-exact for 8-bit data', async () => {
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('Subject: x\r\n\r\n'),
      0xe9,
      0xff,
      0x00,
      0x0d,
      0x0a,
    ]);
    const context = await loadedContext('events.lua');
    const outcome = await context.call('bytes', [snapshot(bytes)], inMs(1000));
    expect(outcome).toMatchObject({ status: 'ok', values: [bytes.length, 0xff, 0] });
  });

  it('import_x_headers takes the bottom-most repeated header, or the top-most when asked', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call(
      'import_order',
      [snapshot('X-Dup: one\r\nX-Dup: two\r\n\r\nbody\r\n')],
      inMs(1000),
    );
    expect(outcome).toMatchObject({ status: 'ok', values: ['two', 'one', 'one'] });
  });

  it('save, shrink, shrink_data and set_force_sync are accepted and change nothing', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call('housekeeping', [snapshot()], inMs(1000));
    expect(outcome).toEqual({ status: 'ok', values: ['ok'], messages: [undefined] });
  });

  it('a message kept past its call is refused clearly', async () => {
    const context = await loadedContext('events.lua');
    await context.call('keep_message', [snapshot()], inMs(1000));
    const outcome = await context.call('use_kept', [], inMs(1000));
    expect(outcome.status === 'error' && outcome.message).toMatch(/no longer valid/);
    expect(context.stats().messages).toBe(0);
  });
});

describe('check_fix_conformance', () => {
  const sloppy = 'Subject : hi\nFrom: a@b.example\nX-Orphan\n\nbody\n';
  it('reports the checked issues, in KumoMTA’s order, as the text to reject with', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call(
      'conformance',
      [snapshot(sloppy), 'MISSING_MIME_VERSION|MISSING_COLON_VALUE|NON_CANONICAL_LINE_ENDINGS', ''],
      inMs(1000),
    );
    expect(outcome).toEqual({
      status: 'reject',
      code: 552,
      text: '5.6.0 Message has conformance issues: MISSING_COLON_VALUE|NON_CANONICAL_LINE_ENDINGS|MISSING_MIME_VERSION',
    });
  });

  it('fixes line endings, header names and missing headers', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call(
      'conformance',
      [
        snapshot('Subject : hi\nFrom: a@b.example\n\nbody\n'),
        '',
        'NON_CANONICAL_LINE_ENDINGS|NAME_ENDS_WITH_SPACE|MISSING_DATE_HEADER|MISSING_MESSAGE_ID_HEADER|MISSING_MIME_VERSION',
      ],
      inMs(1000),
    );
    expect(outcome).toMatchObject({ status: 'ok', values: ['1.0', true] });
    const text = new TextDecoder().decode(
      outcome.status === 'ok' ? outcome.messages[0]!.data : undefined,
    );
    expect(text).toMatch(
      /^Subject: hi\r\nFrom: a@b.example\r\nDate: .+\r\nMessage-ID: <.+>\r\nMIME-Version: 1.0\r\n\r\nbody\r\n$/,
    );
  });

  it('a clean message passes and is left alone; an unknown label is an error', async () => {
    const context = await loadedContext('events.lua');
    const clean =
      'Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@x>\r\nMIME-Version: 1.0\r\nSubject: ok\r\n\r\nbody\r\n';
    const outcome = await context.call(
      'conformance',
      [
        snapshot(clean),
        'MISSING_COLON_VALUE|NON_CANONICAL_LINE_ENDINGS|MISSING_DATE_HEADER',
        'MISSING_MIME_VERSION',
      ],
      inMs(1000),
    );
    expect(outcome).toEqual({ status: 'ok', values: ['1.0', true], messages: [undefined] });
    const bad = await context.call('conformance', [snapshot(clean), 'NOPE', ''], inMs(1000));
    expect(bad.status === 'error' && bad.message).toMatch(/unknown check label 'NOPE'/);
  });
});

describe('scheduling', () => {
  it('set_scheduling and set_due come back on the snapshot', async () => {
    const context = await loadedContext('events.lua');
    const params = {
      first_attempt: '2030-03-01T17:00:00-08:00',
      dow: 'Mon,Wed',
      tz: 'America/Phoenix',
      start: '09:00:00',
      end: '17:00:00',
    };
    const outcome = await context.call(
      'schedule',
      [snapshot(), params, '2030-01-01T00:00:00Z'],
      inMs(1000),
    );
    if (outcome.status !== 'ok') throw new Error(JSON.stringify(outcome));
    expect(outcome.messages[0]).toMatchObject({
      scheduling: params,
      due: Date.parse('2030-01-01T00:00:00Z'),
    });
  });

  it('refuses a partial delivery window and an unknown zone', async () => {
    const context = await loadedContext('events.lua');
    const partial = await context.call(
      'schedule',
      [snapshot(), { dow: 'Mon', tz: 'UTC' }],
      inMs(1000),
    );
    expect(partial.status === 'error' && partial.message).toMatch(/must be given together/);
    const zone = await context.call(
      'schedule',
      [snapshot(), { dow: 'Mon', tz: 'Mars/Olympus', start: '09:00', end: '10:00' }],
      inMs(1000),
    );
    expect(zone.status === 'error' && zone.message).toMatch(/tz: expected an IANA time zone/);
  });

  it('import_scheduling_header reads JSON from a header and removes it', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call(
      'schedule_header',
      [
        snapshot(
          'X-Schedule: {"first_attempt": "2030-03-01T17:00:00Z"}\r\nSubject: s\r\n\r\nb\r\n',
        ),
      ],
      inMs(1000),
    );
    if (outcome.status !== 'ok') throw new Error(JSON.stringify(outcome));
    expect(outcome.values).toEqual(['2030-03-01T17:00:00Z']);
    expect(outcome.messages[0]?.scheduling).toEqual({ first_attempt: '2030-03-01T17:00:00Z' });
    expect(new TextDecoder().decode(outcome.messages[0]?.data)).toBe('Subject: s\r\n\r\nb\r\n');
  });
});

describe('address headers', () => {
  it('from_header, to_header and get_address_header', async () => {
    const context = await loadedContext('events.lua');
    const data =
      'From: =?UTF-8?Q?J=C3=B6rg_=22Q=22?= <jorg@sender.example>\r\nTo: "Smith, J" <j@a.example>, b@b.example\r\n\r\nx\r\n';
    const outcome = await context.call('addresses', [snapshot(data)], inMs(1000));
    expect(outcome).toMatchObject({
      status: 'ok',
      values: [
        {
          from_email: 'jorg@sender.example',
          from_name: 'Jörg "Q"',
          from_domain: 'sender.example',
          to: ['Smith, J/j/a.example', '-/b/b.example'],
          to_single_error: true,
          missing: true,
          text: '[{"name":"Jörg \\u0022Q\\u0022","address":"jorg@sender.example"}]',
        },
      ],
    });
  });
});

describe('import_headers', () => {
  const data =
    'X-Campaign-Id: c1\r\nReceived: one\r\nReceived: two\r\nX-Tenant: t1\r\nSubject: hi\r\n\r\nbody\r\n';
  it('first spec wins; match first/last/all; target; transform; remove', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call(
      'import_specs',
      [
        snapshot(data),
        [
          { name: 'X-Campaign-Id', target: 'campaign_id' },
          { name: 'Received', match: 'all' },
          { name: 'X-*', transform: 'camel_case', remove: true },
          { name: 'received', match: 'first' },
          { name: 'Subject', match: 'first', transform: 'pascal_case' },
        ],
      ],
      inMs(1000),
    );
    if (outcome.status !== 'ok') throw new Error(JSON.stringify(outcome));
    const changed = outcome.messages[0]!;
    expect(changed.meta).toEqual({
      existing: 'yes',
      campaign_id: 'c1',
      received: ['one', 'two'],
      xTenant: 't1',
      Subject: 'hi',
    });
    // Only X-Tenant matched the removing spec (X-Campaign-Id went to the first spec).
    expect(new TextDecoder().decode(changed.data)).toBe(
      'X-Campaign-Id: c1\r\nReceived: one\r\nReceived: two\r\nSubject: hi\r\n\r\nbody\r\n',
    );
  });

  it('refuses target with a wildcard', async () => {
    const context = await loadedContext('events.lua');
    const outcome = await context.call(
      'import_specs',
      [snapshot(data), [{ name: 'X-*', target: 'x' }]],
      inMs(1000),
    );
    expect(outcome.status === 'error' && outcome.message).toMatch(
      /target cannot be used with a wildcard/,
    );
  });
});
