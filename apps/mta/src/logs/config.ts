import { SternaError } from '@sterna/core';
import { formatIssuePath, type LogRecordType } from '@sterna/core/engine';
import { durationSchema as duration } from '@sterna/lua';
import { z } from 'zod';
import { compileTemplate, type RecordTemplate } from './template.js';

/** Every record type KumoMTA logs, plus `Any`, the fallback key of `per_record`. */
export const PER_RECORD_KEYS = [
  'Reception',
  'Delivery',
  'Bounce',
  'TransientFailure',
  'Expiration',
  'AdminBounce',
  'OOB',
  'Feedback',
  'Rejection',
  'AdminRebind',
  'DeferredInjectionRebind',
  'Delayed',
  'XferOut',
  'XferIn',
  'Any',
] as const satisfies readonly (LogRecordType | 'Any')[];

/** A key of `per_record`: a record type or `Any`. */
export type PerRecordKey = (typeof PER_RECORD_KEYS)[number];

/** A free-space floor: a percentage of the file system, or an absolute count (bytes or inodes). */
export type MinFree = { readonly percent: number } | { readonly absolute: number };

/** `per_record.<Type>` after validation. */
export interface LogRecordParams {
  /** Appended to the segment file name (`'_recv'`, `'.csv'`). @default `''` */
  readonly suffix: string;
  /** Another directory for this type. @default the top-level `log_dir` */
  readonly logDir?: string;
  /** `false` drops records of this type. @default true */
  readonly enable: boolean;
  /** Template source written instead of the JSON record (see docs/logs.md). */
  readonly template?: string;
  /** The compiled {@link template}. */
  readonly compiledTemplate?: RecordTemplate;
  /** Text written at the start of each new segment (a CSV header line…). @default `''` */
  readonly segmentHeader: string;
}

/** `kumo.configure_local_logs{…}` after validation, KumoMTA's defaults applied. */
export interface LocalLogsConfig {
  /** Directory of the segments; created if missing. Required. */
  readonly logDir: string;
  /** Uncompressed bytes after which a segment is finished. @default 1000000000 */
  readonly maxFileSize: number;
  /** Seconds after which an open segment is finished, if set. @default undefined (no limit) */
  readonly maxSegmentDuration?: number;
  /** zstd level; `0` in the policy means zstd's default, 3. @default 3 */
  readonly compressionLevel: number;
  /** Records queued before writers are asked to wait (see docs/logs.md). @default 128000 */
  readonly backPressure: number;
  /** Meta keys copied into each record (`prefix*` wildcards, case-sensitive). @default [] */
  readonly meta: readonly string[];
  /** Header names copied into each record (case-insensitive, `X-*` wildcards). @default [] */
  readonly headers: readonly string[];
  /** Settings per record type, and `Any` for the types not listed. @default {} */
  readonly perRecord: Readonly<Partial<Record<PerRecordKey, LogRecordParams>>>;
  /** Event the engine calls to decide whether a message's records go here. @default undefined */
  readonly filterEvent?: string;
  /** Free space the log file system should keep. @default `{ percent: 10 }` */
  readonly minFreeSpace: MinFree;
  /** Free inodes the log file system should keep. @default `{ percent: 10 }` */
  readonly minFreeInodes: MinFree;
}

/** An empty Lua table reaches TypeScript as `{}`; a Lua sequence may arrive as `{1=…, 2=…}`. */
const luaArray = <T extends z.ZodType>(item: T) =>
  z.preprocess((value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const keys = Object.keys(value);
    if (keys.every((key, i) => key === String(i + 1))) return Object.values(value);
    return value;
  }, z.array(item));

const count = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^[0-9][0-9,_]*$/, 'expected a number such as 1000 or "1,000"')
    .transform((s) => Number(s.replace(/[,_]/g, ''))),
]);

const minFree = z.union([z.number(), z.string()]).transform((input, ctx): MinFree => {
  if (typeof input === 'number' && Number.isInteger(input) && input >= 0) {
    return { absolute: input };
  }
  const match = typeof input === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(input) : null;
  if (match && Number(match[1]) <= 100) return { percent: Number(match[1]) };
  if (typeof input === 'string' && /^\d+$/.test(input.trim())) return { absolute: Number(input) };
  ctx.issues.push({ code: 'custom', message: `expected "N%" or a count, got ${input}`, input });
  return z.NEVER;
});

const template = z.string().transform((source, ctx) => {
  try {
    return { source, compiled: compileTemplate(source) };
  } catch (error) {
    ctx.issues.push({ code: 'custom', message: (error as Error).message, input: source });
    return z.NEVER;
  }
});

const recordParams = z.strictObject({
  suffix: z.string().optional(),
  log_dir: z.string().min(1).optional(),
  enable: z.boolean().default(true),
  template: template.optional(),
  segment_header: z.string().optional(),
});

const schema = z.strictObject({
  log_dir: z.string().min(1),
  max_file_size: count.refine((n) => n > 0, 'must be at least 1').default(1_000_000_000),
  max_segment_duration: duration.refine((s) => s > 0, 'must be longer than 0s').optional(),
  compression_level: z.number().int().min(-131_072).max(22).default(0),
  back_pressure: count.refine((n) => n > 0, 'must be at least 1').default(128_000),
  meta: luaArray(z.string().min(1)).default([]),
  headers: luaArray(z.string().min(1)).default([]),
  per_record: z.partialRecord(z.enum(PER_RECORD_KEYS), recordParams).default({}),
  filter_event: z.string().min(1).optional(),
  min_free_space: minFree.default({ percent: 10 }),
  min_free_inodes: minFree.default({ percent: 10 }),
});

/**
 * Validates the table given to `kumo.configure_local_logs{…}`, with KumoMTA's names and
 * defaults (kumo-reference §5b). Durations may be seconds or humantime strings; templates are
 * compiled here so a broken one fails when the policy loads.
 *
 * @throws SternaError `STERNA_LOGS_CONFIG` listing every problem with its path
 *   (`per_record.Delivery: unknown key 'sufix'`).
 */
export function parseLocalLogsConfig(table: unknown): LocalLogsConfig {
  const result = schema.safeParse(table ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const at = formatIssuePath('', issue.path);
      if (issue.code === 'unrecognized_keys' && at === 'per_record') {
        const types = issue.keys.map((key) => `'${key}'`).join(', ');
        return `per_record: unknown record type ${types} (expected one of ${PER_RECORD_KEYS.join(', ')})`;
      }
      if (issue.code === 'unrecognized_keys') {
        return issue.keys
          .map((key) => `${at === '' ? '' : `${at}: `}unknown key '${key}'`)
          .join('; ');
      }
      return `${at === '' ? '(table)' : at}: ${issue.message}`;
    });
    throw new SternaError('STERNA_LOGS_CONFIG', `kumo.configure_local_logs: ${lines.join('; ')}`);
  }
  const t = result.data;
  const perRecord: Partial<Record<PerRecordKey, LogRecordParams>> = {};
  for (const [key, p] of Object.entries(t.per_record) as [
    PerRecordKey,
    z.output<typeof recordParams>,
  ][]) {
    perRecord[key] = {
      suffix: p.suffix ?? '',
      ...(p.log_dir !== undefined && { logDir: p.log_dir }),
      enable: p.enable,
      ...(p.template !== undefined && {
        template: p.template.source,
        compiledTemplate: p.template.compiled,
      }),
      segmentHeader: p.segment_header ?? '',
    };
  }
  return {
    logDir: t.log_dir,
    maxFileSize: t.max_file_size,
    ...(t.max_segment_duration !== undefined && { maxSegmentDuration: t.max_segment_duration }),
    compressionLevel: t.compression_level === 0 ? 3 : t.compression_level,
    backPressure: t.back_pressure,
    meta: t.meta,
    headers: t.headers,
    perRecord,
    ...(t.filter_event !== undefined && { filterEvent: t.filter_event }),
    minFreeSpace: t.min_free_space,
    minFreeInodes: t.min_free_inodes,
  };
}

/** The settings that apply to a record type: its own entry, else `Any`, else none. */
export function paramsFor(
  config: LocalLogsConfig,
  type: LogRecordType,
): LogRecordParams | undefined {
  return config.perRecord[type] ?? config.perRecord.Any;
}
