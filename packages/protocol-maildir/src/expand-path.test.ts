import { createMessage } from '@sterna/core';
import { describe, expect, it } from 'vitest';
import { expandMaildirPath, unsafeValueReason } from './expand-path.js';
import { compileTemplate } from './template.js';

const ALL =
  '/m/{{ local_part }}|{{ domain_part }}|{{ email }}|{{ sender_local_part }}|' +
  '{{ sender_domain_part }}|{{ sender_email }}|{{ queue }}|{{ domain }}|{{ tenant }}|' +
  '{{ campaign }}|{{ routing_domain }}|{{ meta.box }}';

function message(init: { recipients?: string[]; sender?: string; queue?: string; meta?: object }) {
  return createMessage({
    sender: init.sender ?? 'bounce@sender.example',
    recipients: init.recipients ?? ['Alice@Example.COM'],
    data: 'Subject: t\r\n\r\nx\r\n',
    queue: init.queue ?? 'spring:acme@example.com!relay.example',
    meta: (init.meta ?? { box: 'inbox' }) as never,
  });
}

describe('expandMaildirPath', () => {
  it('fills every variable from the recipient, the sender, the queue name and meta', () => {
    const m = message({});
    expect(expandMaildirPath(compileTemplate(ALL), m, 'Alice@Example.COM')).toEqual({
      ok: true,
      path:
        '/m/Alice|Example.COM|Alice@Example.COM|bounce|sender.example|bounce@sender.example|' +
        'spring:acme@example.com!relay.example|example.com|acme|spring|relay.example|inbox',
    });
  });

  it('unquotes a quoted local part', () => {
    const m = message({ recipients: ['"john doe"@example.com'] });
    const out = expandMaildirPath(
      compileTemplate('/m/{{ local_part }}'),
      m,
      '"john doe"@example.com',
    );
    expect(out).toEqual({ ok: true, path: '/m/john doe' });
  });

  it('renders numbers in meta', () => {
    const m = message({ meta: { box: 7 } });
    expect(expandMaildirPath(compileTemplate('/m/{{ meta.box }}'), m, 'a@b')).toEqual({
      ok: true,
      path: '/m/7',
    });
  });

  it.each([
    ['../../etc@example.com', 'contains "/"'],
    ['..@example.com', 'is ".."'],
    ['.@example.com', 'is "."'],
    ['a/b@example.com', 'contains "/"'],
    ['a\0b@example.com', 'contains a NUL byte'],
    ['"../x"@example.com', 'contains "/"'],
    ['""@example.com', 'is empty'],
    [`${'a'.repeat(256)}@example.com`, 'is longer than 255 bytes'],
  ])('refuses the hostile recipient %j permanently', (recipient, why) => {
    const m = message({ recipients: [recipient] });
    const out = expandMaildirPath(compileTemplate('/m/{{ local_part }}/x'), m, recipient);
    expect(out.ok).toBe(false);
    if (!out.ok) {
      expect(out.kind).toBe('permanent');
      expect(out.reason).toContain(why);
      expect(out.reason).toContain('{{ local_part }}');
    }
  });

  it('refuses a hostile domain part or sender too', () => {
    const t = compileTemplate('/m/{{ domain_part }}/{{ sender_local_part }}');
    const badDomain = expandMaildirPath(t, message({}), 'a@../../etc');
    expect(badDomain).toMatchObject({ ok: false, kind: 'permanent' });
    const badSender = expandMaildirPath(t, message({ sender: '../x@y' }), 'a@b');
    expect(badSender).toMatchObject({ ok: false, kind: 'permanent' });
  });

  it('fails transiently for a value the queue or meta lacks, naming it', () => {
    const m = message({ queue: 'example.com', meta: {} });
    const tenant = expandMaildirPath(compileTemplate('/m/{{ tenant }}'), m, 'a@example.com');
    expect(tenant).toMatchObject({ ok: false, kind: 'transient' });
    if (!tenant.ok) expect(tenant.reason).toContain('tenant is not set');
    const meta = expandMaildirPath(compileTemplate('/m/{{ meta.box }}'), m, 'a@example.com');
    expect(meta).toMatchObject({ ok: false, kind: 'transient' });
    if (!meta.ok) expect(meta.reason).toContain("meta 'box'");
    const badMeta = message({ meta: { box: '../x' } });
    expect(
      expandMaildirPath(compileTemplate('/m/{{ meta.box }}'), badMeta, 'a@example.com'),
    ).toMatchObject({ ok: false, kind: 'transient' });
  });

  it('accepts values that only look odd', () => {
    for (const value of ['...', '.x', 'x..', '-', 'a b', 'ü']) {
      expect(unsafeValueReason(value)).toBeUndefined();
    }
  });
});
