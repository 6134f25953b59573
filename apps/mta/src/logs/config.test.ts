import { isSternaError } from '@sterna/core';
import { describe, expect, it } from 'vitest';
import { paramsFor, parseLocalLogsConfig } from './config.js';

function configError(table: unknown): string {
  try {
    parseLocalLogsConfig(table);
  } catch (error) {
    expect(isSternaError(error, 'STERNA_LOGS_CONFIG')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected STERNA_LOGS_CONFIG');
}

describe('parseLocalLogsConfig', () => {
  it("applies KumoMTA's defaults", () => {
    expect(parseLocalLogsConfig({ log_dir: '/var/log/kumo' })).toEqual({
      logDir: '/var/log/kumo',
      maxFileSize: 1_000_000_000,
      compressionLevel: 3,
      backPressure: 128_000,
      meta: [],
      headers: [],
      perRecord: {},
      minFreeSpace: { percent: 10 },
      minFreeInodes: { percent: 10 },
    });
  });

  it('reads every key in the forms a policy writes them', () => {
    const config = parseLocalLogsConfig({
      log_dir: 'logs',
      max_file_size: '10_000',
      max_segment_duration: '5 minutes',
      compression_level: 9,
      back_pressure: '1,000',
      meta: { 1: 'tenant', 2: 'xfer_*' }, // a Lua sequence as a table
      headers: {}, // an empty Lua table
      per_record: { Reception: { suffix: '_recv' }, Any: { enable: false } },
      filter_event: 'should_log',
      min_free_space: '5%',
      min_free_inodes: 10_000,
    });
    expect(config).toMatchObject({
      maxFileSize: 10_000,
      maxSegmentDuration: 300,
      compressionLevel: 9,
      backPressure: 1000,
      meta: ['tenant', 'xfer_*'],
      headers: [],
      filterEvent: 'should_log',
      minFreeSpace: { percent: 5 },
      minFreeInodes: { absolute: 10_000 },
    });
    expect(config.perRecord.Reception).toEqual({
      suffix: '_recv',
      enable: true,
      segmentHeader: '',
    });
    expect(paramsFor(config, 'Reception')?.suffix).toBe('_recv');
    expect(paramsFor(config, 'Delivery')?.enable).toBe(false);
    expect(
      parseLocalLogsConfig({ log_dir: 'x', max_segment_duration: 10 }).maxSegmentDuration,
    ).toBe(10);
  });

  it('accepts the already-parsed table of the Lua runtime (defaults filled, seconds)', () => {
    const config = parseLocalLogsConfig({
      log_dir: 'logs',
      max_file_size: 1_000_000_000,
      max_segment_duration: 10,
      compression_level: 0,
      back_pressure: 128_000,
      meta: [],
      headers: ['Subject'],
      per_record: { Delivery: { enable: true, template: '{{ id }}' } },
      min_free_space: '10%',
      min_free_inodes: '10%',
    });
    expect(config.perRecord.Delivery?.compiledTemplate).toBeTypeOf('function');
  });

  it('names unknown keys with their path', () => {
    expect(configError({ log_dir: 'x', max_size: 1 })).toContain("unknown key 'max_size'");
    expect(configError({ log_dir: 'x', per_record: { Delivery: { sufix: '_d' } } })).toContain(
      "per_record.Delivery: unknown key 'sufix'",
    );
    expect(configError({ log_dir: 'x', per_record: { Deliveries: {} } })).toContain(
      "per_record: unknown record type 'Deliveries'",
    );
  });

  it('refuses missing and ill-typed values', () => {
    expect(configError({})).toContain('log_dir');
    expect(configError(undefined)).toContain('log_dir');
    expect(configError({ log_dir: 'x', max_segment_duration: '5 fortnights' })).toContain(
      'max_segment_duration',
    );
    expect(configError({ log_dir: 'x', max_segment_duration: 0 })).toContain(
      'max_segment_duration',
    );
    expect(configError({ log_dir: 'x', compression_level: 23 })).toContain('compression_level');
    expect(configError({ log_dir: 'x', back_pressure: 0 })).toContain('back_pressure');
    expect(configError({ log_dir: 'x', meta: 'tenant' })).toContain('meta');
    expect(configError({ log_dir: 'x', min_free_space: 'lots' })).toContain('min_free_space');
    expect(configError({ log_dir: 'x', per_record: { Bounce: { enable: 'no' } } })).toContain(
      'per_record.Bounce.enable',
    );
  });

  it('compiles templates when the policy loads', () => {
    expect(configError({ log_dir: 'x', per_record: { Bounce: { template: '{{ id' } } })).toContain(
      'per_record.Bounce.template',
    );
  });
});
