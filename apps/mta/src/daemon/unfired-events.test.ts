import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UNFIRED_EVENTS, unfiredEventWarnings } from './unfired-events.js';

// docs/policy-api.md's Events table says, per event, whether the daemon fires it; the daemon
// warns from UNFIRED_EVENTS. The two must say the same.
const doc = readFileSync(new URL('../../../../docs/policy-api.md', import.meta.url), 'utf8');
const table = doc.slice(doc.indexOf('| event | arguments |'), doc.indexOf('## Message methods'));
const rows = table
  .split('\n')
  .map((line) => /^\| `([a-z_]+)` \| [^|]* \| [^|]* \| ([^|]*) \|/.exec(line))
  .filter((m): m is RegExpExecArray => m !== null)
  .map((m) => ({ event: m[1]!, daemon: m[2]!.trim() }));

describe('events the daemon does not fire yet', () => {
  it('are exactly those docs/policy-api.md marks "not fired yet"', () => {
    expect(rows.length).toBeGreaterThan(20);
    const notFired = rows.filter((r) => r.daemon === '**not fired yet**').map((r) => r.event);
    expect([...notFired].sort()).toEqual([...UNFIRED_EVENTS].sort());
  });

  it('give one warning per such event the policy handles', () => {
    const handled = new Set(['smtp_server_mail_from', 'requeue_message', 'get_acl_definition']);
    expect(unfiredEventWarnings((event) => handled.has(event))).toEqual([
      'policy handles requeue_message, which Sterna does not fire yet (docs/policy-api.md)',
      'policy handles get_acl_definition, which Sterna does not fire yet (docs/policy-api.md)',
    ]);
  });
});
