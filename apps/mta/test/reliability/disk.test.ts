// Suite 2, disk: the spool on a small tmpfs that fills up, then becomes read-only. Every reply is
// 250 or 4xx at DATA; nothing acknowledged is lost; the daemon recovers when space returns.
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, maildirMessages, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';
import { knob, report, sleep } from './support.js';

const SIZE_MB = knob('RELIABILITY_DISK_MB', 3);
const MESSAGE_KB = knob('RELIABILITY_DISK_MESSAGE_KB', 64);

// Until DIR/open exists, mail waits in the spool (a protocol nothing claims).
const GATED = `
kumo.on('get_queue_config', function(domain)
  local f = io.open(DIR .. '/open', 'r')
  if f then
    f:close()
    return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
  end
  return kumo.make_queue_config { retry_interval = '1s', max_retry_interval = '1s', protocol = { closed_gate = {} } }
end)
`;

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const mount = (...args: string[]) => execFileSync('mount', args, { stdio: 'pipe' });

let daemon: DaemonProcess | undefined;
let dir: PolicyDir | undefined;
let mounted: string | undefined;
afterAll(async () => {
  await daemon?.kill();
  if (mounted) execFileSync('umount', ['-l', mounted], { stdio: 'ignore' });
  await dir?.cleanup();
});

interface Attempt {
  subject: string;
  code: number;
  command: string;
}

async function attempt(subject: string): Promise<Attempt> {
  const body = `${'y'.repeat(76)}\r\n`.repeat(Math.ceil((MESSAGE_KB * 1024) / 78));
  try {
    const r = await sendMail(
      daemon!.smtp,
      { from: 'a@example.org', to: [`${subject}@disk.test`] },
      testMessage(subject, body),
    );
    return { subject, code: Number(r.response.slice(0, 3)), command: 'DATA' };
  } catch (error) {
    const e = error as { responseCode?: number; command?: string };
    return { subject, code: e.responseCode ?? 0, command: e.command ?? '' };
  }
}

describe.skipIf(!canMount())('disk: spool on a full, then read-only, filesystem', () => {
  it('answers 4xx at DATA, never 250 without a durable copy, and recovers', async () => {
    dir = await writePolicy(GATED);
    mounted = `${dir.dir}/spool`;
    await mkdir(mounted, { recursive: true });
    mount('-t', 'tmpfs', '-o', `size=${SIZE_MB}m`, 'tmpfs', mounted);
    // min_free_space 0: the guard stays out of the way, so the spool meets real ENOSPC.
    const text = (await readFile(dir.policy, 'utf8'))
      .replace("'/spool/data' }", "'/spool/data', min_free_space = 0, min_free_inodes = 0 }")
      .replace("'/spool/meta' }", "'/spool/meta', min_free_space = 0, min_free_inodes = 0 }");
    await writeFile(dir.policy, text);
    daemon = await startDaemon(dir.policy);

    // Fill: until three refusals in a row (bounded).
    const attempts: Attempt[] = [];
    let refusedInARow = 0;
    for (let i = 0; i < 500 && refusedInARow < 3; i++) {
      const a = await attempt(`full${i}`);
      attempts.push(a);
      refusedInARow = a.code === 250 ? 0 : refusedInARow + 1;
    }
    const fullRefusals = attempts.filter((a) => a.code !== 250);

    // Space returns: the same daemon takes mail again.
    mount('-o', `remount,size=${SIZE_MB * 8}m`, mounted);
    const recovered = await eventually(
      async () => {
        const a = await attempt(`recovered${attempts.length}`);
        attempts.push(a);
        return a.code === 250 ? a : undefined;
      },
      20_000,
      'a 250 once space returned',
    );

    // Read-only. A mounted filesystem with files open for writing refuses `remount,ro` (EBUSY),
    // so the running daemon cannot be shown a read-only spool; a start on one must fail instead.
    let readOnly = 'remount refused while the spool has files open (EBUSY)';
    try {
      mount('-o', 'remount,ro', mounted);
      readOnly = 'remounted read-only while running';
      for (let i = 0; i < 3; i++) attempts.push(await attempt(`readonly${i}`));
      mount('-o', 'remount,rw', mounted);
    } catch {
      // Expected on Linux; checked below by a start on the read-only spool.
    }
    const ackedBeforeKill = attempts.filter((a) => a.code === 250).map((a) => a.subject);
    await daemon.kill();
    daemon = undefined;
    let readOnlyStart = 'not tried';
    if (readOnly.startsWith('remount refused')) {
      mount('-o', 'remount,ro', mounted);
      const started = await startDaemon(dir.policy).then(
        async (d) => {
          const a = await sendMail(
            d.smtp,
            { from: 'a@example.org', to: ['ro@disk.test'] },
            testMessage('ro'),
          ).then(
            (r) => Number(r.response.slice(0, 3)),
            (e: { responseCode?: number }) => e.responseCode ?? 0,
          );
          await d.kill();
          return `started; a message got ${a}`;
        },
        (e: Error) =>
          `refused to start: ${e.message.split('\n').slice(1, 3).join(' ').slice(0, 200)}`,
      );
      readOnlyStart = started;
      mount('-o', 'remount,rw', mounted);
    }

    // Every 250 survives kill -9 and is delivered once the gate opens.
    await writeFile(`${dir.dir}/open`, 'yes');
    daemon = await startDaemon(dir.policy);
    const subjects = (files: string[]) =>
      new Set(files.map((f) => /Subject: (\S+)/.exec(f)?.[1] ?? ''));
    await eventually(
      async () => {
        const got = subjects(await maildirMessages(dir!.maildir));
        return ackedBeforeKill.every((s) => got.has(s)) ? true : undefined;
      },
      60_000,
      'every acknowledged message delivered',
    ).catch(() => undefined);
    await sleep(500);
    const delivered = subjects(await maildirMessages(dir.maildir));
    const lost = ackedBeforeKill.filter((s) => !delivered.has(s));
    report('disk', {
      'tmpfs size MB (then grown to)': [SIZE_MB, SIZE_MB * 8],
      'message size KiB': MESSAGE_KB,
      'sessions tried': attempts.length,
      'acknowledged with 250': ackedBeforeKill.length,
      'refused while full (code at command)': fullRefusals.map((a) => `${a.code}@${a.command}`),
      'first 250 after space returned': recovered.subject,
      'read-only while running': readOnly,
      'start on a read-only spool': readOnlyStart,
      'delivered after kill -9 and restart': delivered.size,
      'lost (250 but never delivered)': lost.length,
    });
    expect(fullRefusals.length).toBeGreaterThan(0);
    for (const a of attempts.filter((x) => x.code !== 250)) {
      expect(a.code).toBeGreaterThanOrEqual(400);
      expect(a.code).toBeLessThan(500);
      expect(a.command).toBe('DATA');
    }
    expect(readOnlyStart.startsWith('started; a message got 250')).toBe(false);
    expect(lost).toEqual([]);
  });
});
