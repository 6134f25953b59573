import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSternaError } from '@sterna/core';
import { DEFAULT_EGRESS_PATH } from '@sterna/core/engine';
import { describe, expect, it } from 'vitest';
import { parseConfigParams } from './config-params.js';
import {
  parseEgressPath,
  parseEgressPool,
  parseEgressSource,
  parseListenerDomain,
} from './egress-config.js';
import { parseQueueConfig } from './queue-config.js';

describe('parseQueueConfig', () => {
  it('applies KumoMTA’s defaults to an empty table or nil', () => {
    for (const table of [{}, undefined, null]) {
      const config = parseQueueConfig(table);
      expect(config).toMatchObject({
        retry_interval: 1200,
        max_age: 604_800,
        protocol: { smtp: {} },
        refresh_interval: 60,
        reap_interval: 600,
        refresh_strategy: 'Ttl',
        strategy: 'SingletonTimerWheel',
        shrink_policy: [],
      });
      // KumoMTA's keys as the schema reads them: unset optional keys stay absent.
      expect(config.max_retry_interval).toBeUndefined();
      expect(config.egress_pool).toBeUndefined();
    }
  });

  it('reads durations in KumoMTA’s forms', () => {
    const config = parseQueueConfig({
      retry_interval: '5 minutes',
      max_retry_interval: '1h 30m',
      max_age: 3600.5,
      max_message_rate: '1,000/hr',
      egress_pool: 'pool-a',
      protocol: { maildir_path: '/tmp/m' },
    });
    expect(config).toMatchObject({
      retry_interval: 300,
      max_retry_interval: 5400,
      max_age: 3600.5,
      max_message_rate: '1,000/hr',
      egress_pool: 'pool-a',
      protocol: { maildir_path: '/tmp/m' },
    });
  });

  it('refuses unknown keys and bad values, naming them', () => {
    const attempt = (table: unknown) => {
      try {
        parseQueueConfig(table);
      } catch (error) {
        expect(isSternaError(error, 'STERNA_LUA_CONFIG_INVALID')).toBe(true);
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(attempt({ retry_intervals: '5m' })).toBe(
      "make_queue_config: unknown field 'retry_intervals'",
    );
    expect(attempt({ max_age: '3 fortnights' })).toMatch(/max_age: .*unknown unit 'fortnights'/);
    expect(attempt({ refresh_strategy: 'Sometimes' })).toMatch(/refresh_strategy/);
  });
});

describe('parseEgressPath', () => {
  it('defaults to core’s egress path', () => {
    expect(parseEgressPath({})).toEqual(
      Object.fromEntries(Object.entries(DEFAULT_EGRESS_PATH).map(([k, v]) => [k, v])),
    );
  });

  it('reads counts, durations, an empty prohibited_hosts and key sources', () => {
    const path = parseEgressPath({
      connection_limit: '1,000',
      idle_timeout: '30s',
      prohibited_hosts: {},
      enable_tls: 'OpportunisticInsecure',
      smtp_auth_plain_password: { key_data: 'secret' },
      enable_mta_sts: false,
    });
    expect(path).toMatchObject({
      connection_limit: 1000,
      idle_timeout: 30,
      prohibited_hosts: [],
      enable_tls: 'OpportunisticInsecure',
      smtp_auth_plain_password: 'secret',
    });
  });

  it('refuses prohibited_hosts and skip_hosts that are not strict CIDR blocks, naming the entry', () => {
    expect(() => parseEgressPath({ skip_hosts: ['::/0', '10.0.0.1/8'] })).toThrow(
      /skip_hosts\[2\].*'10\.0\.0\.1\/8' is not a valid CIDR block/,
    );
    expect(() => parseEgressPath({ prohibited_hosts: ['not an address'] })).toThrow(
      /prohibited_hosts\[1\]/,
    );
    expect(parseEgressPath({ skip_hosts: ['::/0'] }).skip_hosts).toEqual(['::/0']);
  });

  it('refuses an unknown key', () => {
    expect(() => parseEgressPath({ connection_limits: 3 })).toThrow(
      /unknown field 'connection_limits'/,
    );
  });

  it('reads a key source given as a file path; refuses a missing file and vault sources', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sterna-lua-key-'));
    writeFileSync(join(dir, 'password'), 'from-a-file');
    const path = parseEgressPath({ smtp_auth_plain_password: join(dir, 'password') });
    expect(path.smtp_auth_plain_password).toBe('from-a-file');
    expect(() => parseEgressPath({ tls_private_key: join(dir, 'missing.pem') })).toThrow(
      /tls_private_key: cannot read key file/,
    );
    expect(() => parseEgressPath({ tls_certificate: { vault_path: 'x' } })).toThrow(/vault/);
  });

  it('does not echo a key source string that cannot be read (it may be the secret itself)', () => {
    let message = '';
    try {
      parseEgressPath({ smtp_auth_plain_password: 'Inline-Secret-31415' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/smtp_auth_plain_password: cannot read key file \(ENOENT\)/);
    expect(message).not.toContain('Inline-Secret-31415');
  });
});

describe('sources, pools, listener domains', () => {
  it('parse with defaults', () => {
    expect(parseEgressSource({ name: 's1', source_address: '10.0.0.1' })).toMatchObject({
      name: 's1',
      source_address: '10.0.0.1',
      ttl: 60,
    });
    expect(
      parseEgressPool({ name: 'p', entries: [{ name: 's1' }, { name: 's2', weight: 3 }] }),
    ).toEqual({
      name: 'p',
      entries: [
        { name: 's1', weight: 1 },
        { name: 's2', weight: 3 },
      ],
      ttl: 60,
    });
    expect(parseListenerDomain({ relay_to: true })).toEqual({
      relay_to: true,
      relay_from: [],
      relay_from_authz: [],
      log_oob: 'Ignore',
      log_arf: 'Ignore',
    });
    // KumoMTA's newer string modes, and the booleans of its earlier releases.
    expect(parseListenerDomain({ log_oob: 'LogThenDrop', log_arf: true })).toMatchObject({
      log_oob: 'LogThenDrop',
      log_arf: 'LogThenRelay',
    });
    expect(() => parseListenerDomain({ log_oob: 'Drop' })).toThrow(/log_oob/);
    expect(() => parseEgressSource({})).toThrow(/name/);
  });
});

describe('parseConfigParams', () => {
  it('applies the listener, spool and log defaults of KumoMTA', () => {
    expect(parseConfigParams('esmtp_listener', {})).toMatchObject({
      listen: '127.0.0.1:2025',
      relay_hosts: ['127.0.0.1', '::1'],
      banner: 'KumoMTA',
      max_message_size: 20 * 1024 * 1024,
      max_recipients_per_message: 1024,
      max_messages_per_connection: 10_000,
      client_timeout: 60,
      data_processing_timeout: 300,
      line_length_hard_limit: 998,
      invalid_line_endings: 'Deny',
      batch_handling: 'BifurcateAlways',
      trace_headers: { received_header: true, supplemental_header: true, header_name: 'X-KumoRef' },
    });
    expect(parseConfigParams('http_listener', { listen: '0.0.0.0:8000' })).toMatchObject({
      listen: '0.0.0.0:8000',
      trusted_hosts: ['127.0.0.1', '::1'],
      use_tls: false,
      request_body_limit: 2 * 1024 * 1024,
    });
    expect(parseConfigParams('spool', { name: 'data', path: '/s' })).toEqual({
      name: 'data',
      path: '/s',
      kind: 'LocalDisk',
      flush: false,
      min_free_space: '10%',
      min_free_inodes: '10%',
    });
    expect(
      parseConfigParams('local_logs', { log_dir: '/l', max_segment_duration: '10s' }),
    ).toMatchObject({
      log_dir: '/l',
      max_segment_duration: 10,
      max_file_size: 1_000_000_000,
      back_pressure: 128_000,
    });
    expect(() => parseConfigParams('spool', { name: 'data' })).toThrow(/kumo.define_spool: path/);
  });
});
