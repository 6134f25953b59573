import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DaemonProcess, runSterna, startDaemon } from '../support/daemon-process.js';
import { eventually } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';
import { inject, type RunningSterna, recordsEventually, startSterna } from './cli-support.js';

const POLICY = `
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
end)
`;

/** Output lines of `tail` that are records (not segment names or notes on stderr). */
const recordLines = (output: string) => output.split('\n').filter((l) => l.startsWith('{'));

describe('sterna tail', { timeout: 300_000 }, () => {
  let dir: PolicyDir;
  let daemon: DaemonProcess;
  let following: RunningSterna | undefined;
  let deliveredId: string;

  beforeAll(async () => {
    dir = await writePolicy(POLICY);
    daemon = await startDaemon(dir.policy);
    await inject(daemon.http!, ['first@tail.example']);
    const [delivery] = await recordsEventually(
      dir.logs,
      (r) => r.type === 'Delivery',
      1,
      'a Delivery record',
    );
    deliveredId = delivery!.id;
  }, 180_000);
  afterEach(() => following?.kill());
  afterAll(async () => {
    await daemon?.kill();
    await dir?.cleanup();
  });

  it('prints the records of a real delivery as JSON lines, and filters by type, domain and id', async () => {
    const all = await runSterna(['tail', dir.logs]);
    expect(all.code).toBe(0);
    const records = recordLines(all.output).map(
      (l) => JSON.parse(l) as { type: string; id: string },
    );
    expect(records.map((r) => r.type)).toEqual(expect.arrayContaining(['Reception', 'Delivery']));
    expect(all.output).toMatch(/logs\/\d{8}-\d{6}/); // the segment's name, as tailer prints it

    const deliveries = await runSterna([
      'tail',
      '--log-dir',
      dir.logs,
      '--type',
      'Delivery',
      '--id',
      deliveredId,
    ]);
    const only = recordLines(deliveries.output).map(
      (l) => JSON.parse(l) as { type: string; id: string },
    );
    expect(only).toHaveLength(1);
    expect(only[0]).toMatchObject({ type: 'Delivery', id: deliveredId });

    const none = await runSterna(['tail', dir.logs, '--domain', 'elsewhere.example']);
    expect(none.code).toBe(0);
    expect(recordLines(none.output)).toEqual([]);
  });

  it('prints a readable line per record with --format line', async () => {
    const { code, output } = await runSterna([
      'tail',
      dir.logs,
      '--format',
      'line',
      '--domain',
      'TAIL.example',
    ]);
    expect(code).toBe(0);
    const lines = output.split('\n').filter((l) => /^\d{4}-\d\d-\d\dT/.test(l));
    expect(
      lines.some((l) =>
        /Reception\s+[0-9a-f]{32} <tests@example\.org> -> first@tail\.example: 250/.test(l),
      ),
    ).toBe(true);
    expect(lines.some((l) => /Delivery\s+[0-9a-f]{32} .*first@tail\.example/.test(l))).toBe(true);
  });

  it('follows: picks up a record written to a segment opened after it started', async () => {
    following = startSterna([
      'tail',
      dir.logs,
      '--follow',
      '--type',
      'Delivery',
      '--domain',
      'later.example',
      '--max-records',
      '1',
      '--timeout',
      '120',
      '--poll-interval',
      '100',
    ]);
    await eventually(
      () => (following!.stderr().includes('waiting for more records') ? true : undefined),
      60_000,
      'tail to wait',
    );
    // every segment that exists now is closed (read-only): the next record opens a new one
    const before = await readdir(dir.logs);
    await eventually(
      async () => {
        const modes = await Promise.all(
          before.map(async (n) => (await stat(join(dir.logs, n))).mode & 0o222),
        );
        return modes.every((m) => m === 0) ? true : undefined;
      },
      60_000,
      'the open segment to close',
    );
    await inject(daemon.http!, ['second@later.example']);
    expect(await following.exited).toBe(0);
    const [line] = recordLines(following.stdout());
    expect(JSON.parse(line!)).toMatchObject({
      type: 'Delivery',
      recipient: 'second@later.example',
    });
    const announced = following
      .stderr()
      .split('\n')
      .map((l) => l.split('/').at(-1));
    expect(
      announced.some(
        (name) => name !== undefined && /^\d{8}-/.test(name) && !before.includes(name),
      ),
    ).toBe(true);
  });

  it('names a log directory that is not there, on one line, with exit 1', async () => {
    const missing = join(dir.dir, 'no-logs-here');
    const { code, output } = await runSterna(['tail', '--log-dir', missing]);
    expect(code).toBe(1);
    expect(output.trim().split('\n')).toEqual([
      `error: the log directory ${missing} does not exist (give the policy's log_dir with --log-dir)`,
    ]);
  });
});
