import { policyBridge } from '@sterna/lua';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bumpConfigEpoch,
  configureAccountingDbPath,
  configureBounceClassifier,
  configureLocalLogs,
  configureLogHook,
  configureRedisThrottles,
  configureResolver,
  configureShapingAutomation,
  defineSpool,
  setConfigMonitorGlobs,
  setDiagnosticLogFilter,
  setMxConcurrencyLimit,
  setMxNegativeCacheTtl,
  setMxTimeout,
  startEsmtpListener,
  startHttpListener,
  validationFailed,
} from './configure.js';
import { on } from './events.js';
import { testPolicy } from './testing/index.js';

afterEach(() => {
  policyBridge().host = undefined;
});

// A policy module written in the test: its handlers are registered by `load`.
const policyOf = (register: () => void) => async () => {
  register();
  return {};
};

describe('configuration calls', () => {
  it('reach the daemon parsed, with KumoMTA defaults and durations in seconds', async () => {
    const policy = await testPolicy(
      policyOf(() => {
        on('init', async () => {
          await startEsmtpListener({ listen: '0.0.0.0:2525', hostname: 'mx.test' });
          await startHttpListener({ listen: '127.0.0.1:8000' });
          await defineSpool({ name: 'data', path: '/var/spool/sterna/data' });
          await configureLocalLogs({ log_dir: '/var/log/sterna', max_segment_duration: '5 min' });
          await configureLogHook({ name: 'hook' });
          await configureBounceClassifier({ files: ['sterna:bounce-rules.toml'] });
          await configureAccountingDbPath('/var/lib/sterna/accounting.db');
          await setDiagnosticLogFilter('info');
          await setConfigMonitorGlobs(['/etc/sterna/*.toml']);
          await configureRedisThrottles({ node: 'redis://127.0.0.1/' });
          await configureResolver({ name_servers: ['1.1.1.1:53'] });
          await setMxTimeout('2s');
          await setMxNegativeCacheTtl('10m');
          await setMxConcurrencyLimit(16);
          await bumpConfigEpoch();
        });
      }),
    );
    await policy.init();
    expect(policy.configured.map((c) => c.kind)).toEqual([
      'esmtp_listener',
      'http_listener',
      'spool',
      'local_logs',
      'log_hook',
      'bounce_classifier',
      'accounting_db_path',
      'diagnostic_log_filter',
      'config_monitor_globs',
      'redis_throttles',
      'dns_resolver',
      'mx_resolver',
      'mx_resolver',
      'mx_resolver',
      'config_epoch_bump',
    ]);
    expect(policy.configured.slice(11, 14).map((c) => c.params)).toEqual([
      { timeout: 2 },
      { negative_cache_ttl: 600 },
      { concurrency_limit: 16 },
    ]);
    expect(policy.configured[0]).toMatchObject({
      kind: 'esmtp_listener',
      params: {
        listen: '0.0.0.0:2525',
        hostname: 'mx.test',
        banner: 'KumoMTA',
        relay_hosts: ['127.0.0.1', '::1'],
        max_message_size: 20 * 1024 * 1024,
        client_timeout: 60,
      },
    });
    expect(policy.configured[2]).toMatchObject({ params: { kind: 'LocalDisk', flush: false } });
    expect(policy.configured[3]).toMatchObject({ params: { max_segment_duration: 300 } });
    expect(policy.configured[6]).toEqual({
      kind: 'accounting_db_path',
      params: { path: '/var/lib/sterna/accounting.db' },
    });
    expect(policy.configured[9]).toMatchObject({
      params: { node: 'redis://127.0.0.1/', pool_size: 10, connection_lease_duration: 60 },
    });
  });

  it('name the function and the key of a bad table, and send nothing', async () => {
    const policy = await testPolicy();
    // @ts-expect-error a misspelled key is a compile error too
    await expect(startEsmtpListener({ lisen: '0.0.0.0:25' })).rejects.toThrow(
      "startEsmtpListener: unknown field 'lisen'",
    );
    await expect(configureLocalLogs({ log_dir: '/x', max_file_size: 'big' })).rejects.toThrow(
      /configureLocalLogs: max_file_size: /,
    );
    // @ts-expect-error log_dir is required
    await expect(configureLocalLogs({})).rejects.toThrow(/configureLocalLogs: log_dir: /);
    await expect(configureResolver({ search: 'x' as never })).rejects.toThrow(
      /dns\.configureResolver: search: /,
    );
    await expect(setMxConcurrencyLimit(0)).rejects.toThrow(/dns\.setMxConcurrencyLimit: /);
    await expect(setMxTimeout('soon')).rejects.toThrow(/dns\.setMxTimeout: /);
    expect(policy.configured).toEqual([]);
  });

  it("report the daemon's refusal under the function's name", async () => {
    await testPolicy(undefined, {
      calls: {
        configure: (kind) => {
          throw new Error(`${kind} refused: the path is not writable`);
        },
      },
    });
    await expect(defineSpool({ name: 'data', path: '/nope' })).rejects.toThrow(
      'defineSpool: spool refused: the path is not writable',
    );
  });

  it('fail clearly with no daemon', async () => {
    policyBridge().host = undefined;
    await expect(startEsmtpListener({})).rejects.toThrow(
      'startEsmtpListener: no daemon to configure: call it from init, under sterna, or under @sterna/policy/testing',
    );
    await expect(validationFailed()).rejects.toThrow(/^validationFailed: no daemon to configure/);
  });

  it('hand the shaping helper its automation rules (internal)', async () => {
    const policy = await testPolicy();
    await configureShapingAutomation([
      {
        scope: 'domain',
        name: 'example.com',
        file: 'shaping.toml',
        regex: '^421 ',
        action: 'Suspend',
        duration: '1h',
      },
    ]);
    expect(policy.configured).toEqual([
      {
        kind: 'shaping_automation',
        params: {
          rules: [
            {
              scope: 'domain',
              name: 'example.com',
              file: 'shaping.toml',
              regex: '^421 ',
              action: 'Suspend',
              duration: 3600,
              trigger: 'Immediate',
              match_internal: false,
            },
          ],
        },
      },
    ]);
  });
});
