// kumo.set_diagnostic_log_filter in init sets the daemon's diagnostic level, as in KumoMTA.
import { afterEach, describe, expect, it } from 'vitest';
import { type DaemonProcess, runSterna, startDaemon } from '../support/daemon-process.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

let daemon: DaemonProcess | undefined;
let dir: PolicyDir | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  await dir?.cleanup();
  dir = undefined;
});

describe('kumo.set_diagnostic_log_filter', () => {
  it('applies the policy’s filter once init has run (over STERNA_LOG)', async () => {
    dir = await writePolicy('', "kumo.set_diagnostic_log_filter 'kumod=info'");
    // startDaemon runs with STERNA_LOG=warn: the info line shows only once the filter applied.
    daemon = await startDaemon(dir.policy);
    expect(daemon.output()).toContain("diagnostic log filter 'kumod=info' applied: level info");
  });

  it('refuses a filter it cannot read, naming the call, from --validate', async () => {
    dir = await writePolicy('', "kumo.set_diagnostic_log_filter 'kumod=loud'");
    const { code, output } = await runSterna(['--policy', dir.policy, '--validate']);
    expect(code).toBe(1);
    expect(output).toContain("kumo.set_diagnostic_log_filter: 'kumod=loud': 'loud' is not a level");
  });
});
