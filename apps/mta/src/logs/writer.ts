import {
  errorText,
  type HeaderField,
  type Logger,
  type MetaValue,
  SternaError,
  silentLogger,
} from '@sterna/core';
import type { LogRecord } from '@sterna/core/engine';
import { timeLogSubmit } from '../observe/instrument.js';
import { telemetry } from '../observe/telemetry.js';
import { type LocalLogsConfig, type LogRecordParams, paramsFor } from './config.js';
import { filterRecordHeaders, selectHeaders, selectMeta } from './select.js';
import { markExistingSegments } from './startup.js';
import { LogStream } from './stream.js';
import { loadZstd } from './zstd.js';

/** Tuning of a {@link LocalLogWriter}; the policy's settings come in the config. */
export interface LocalLogWriterOptions {
  /** Where I/O problems and dropped records are reported. @default silentLogger */
  readonly logger?: Logger;
  /** Longest time a record waits in memory before it is compressed and written. @default 100 */
  readonly flushIntervalMs?: number;
  /** Records queued that trigger a write at once instead of waiting for the timer. @default 1000 */
  readonly batchRecords?: number;
}

/** The message a record is about: the source of its `meta` and `headers`. */
export interface LogWriteContext {
  readonly meta: Readonly<Record<string, MetaValue>>;
  readonly headers: readonly HeaderField[];
}

/** Counters of a writer, for metrics and tests. */
export interface LocalLogWriterStats {
  /** Records accepted and not yet on disk. */
  readonly queued: number;
  /** Records written to segments. */
  readonly written: number;
  /** Records dropped: the queue was at twice `back_pressure`, or a template failed. */
  readonly dropped: number;
  /** Times `write()` asked its caller to wait (KumoMTA's `log_submit_full`). */
  readonly submitFull: number;
  /** Segments created. */
  readonly segments: number;
}

/** After a failed write, queued records are retried this often. */
const RETRY_MS = 1000;
const noop = () => {};

/**
 * Writes log records as KumoMTA's local logs do: zstd-compressed JSON lines in segment files
 * named by their UTC opening time, rotated by size and age, made read-only when finished.
 *
 * `write()` does no I/O: it renders the line and queues it; a timer (or a full batch) writes
 * each stream's queued lines as one zstd frame. See docs/logs.md for back-pressure.
 */
export class LocalLogWriter {
  private readonly logger: Logger;
  private readonly flushIntervalMs: number;
  private readonly batchRecords: number;
  private readonly streams = new Map<string, LogStream>();
  private readonly defaultParams: LogRecordParams = { suffix: '', enable: true, segmentHeader: '' };
  private chain: Promise<void> = Promise.resolve();
  private queuedRun: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;
  private room: { promise: Promise<void>; resolve: () => void } | undefined;
  private lastDropReport = 0;
  /** Records queued since the last write run started (a full batch starts one at once). */
  private sinceRun = 0;
  private counts = { queued: 0, written: 0, dropped: 0, submitFull: 0, segments: 0 };

  private constructor(
    /** The validated policy settings. */
    readonly config: LocalLogsConfig,
    options: LocalLogWriterOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.flushIntervalMs = options.flushIntervalMs ?? 100;
    this.batchRecords = options.batchRecords ?? 1000;
  }

  /**
   * Starts a writer: loads zstd, creates the log directories and marks segments left by an
   * earlier run read-only (they will not be appended to), as KumoMTA does at startup.
   */
  static async open(
    config: LocalLogsConfig,
    options: LocalLogWriterOptions = {},
  ): Promise<LocalLogWriter> {
    await loadZstd();
    const dirs = new Set([config.logDir]);
    for (const params of Object.values(config.perRecord))
      if (params?.logDir) dirs.add(params.logDir);
    for (const dir of dirs) await markExistingSegments(dir, options.logger ?? silentLogger);
    for (const dir of dirs) telemetry.watchDisk(`log dir ${dir}`, dir);
    return timeLogSubmit(new LocalLogWriter(config, options), 'local');
  }

  /**
   * Queues one record. `meta` and `headers` are filled from `context` per the config's lists
   * (without a context, the record's own are filtered by the same lists); a type with
   * `enable = false` is dropped here.
   *
   * @returns `undefined` normally; a promise when more than `back_pressure` records are
   *   queued: await it before writing more (KumoMTA blocks the submitter at that point).
   * @throws SternaError `STERNA_LOGS_CLOSED` after {@link close}.
   */
  write(record: LogRecord, context?: LogWriteContext): Promise<void> | undefined {
    if (this.closing) {
      throw new SternaError('STERNA_LOGS_CLOSED', `log writer for ${this.config.logDir} is closed`);
    }
    const params = paramsFor(this.config, record.type) ?? this.defaultParams;
    if (!params.enable) return undefined;
    const { backPressure } = this.config;
    if (this.counts.queued >= 2 * backPressure) {
      this.drop(`the queue holds ${this.counts.queued} records (2 × back_pressure)`);
      return this.waitForRoom();
    }
    const full: LogRecord = {
      ...record,
      meta: selectMeta(context?.meta ?? record.meta, this.config.meta),
      headers: context
        ? selectHeaders(context.headers, this.config.headers)
        : filterRecordHeaders(record.headers, this.config.headers),
    };
    let line: string;
    try {
      line = params.compiledTemplate ? params.compiledTemplate(full) : JSON.stringify(full);
    } catch (error) {
      this.drop(`the ${record.type} template failed: ${errorText(error)}`);
      return undefined;
    }
    if (!line.endsWith('\n')) line += '\n';
    this.streamFor(params).pending.push({ line, header: params.segmentHeader });
    this.counts.queued++;
    this.sinceRun++;
    if (this.sinceRun >= this.batchRecords || this.counts.queued > backPressure) {
      this.runSoon().catch(this.reportFailure);
    } else {
      this.flushTimer ??= setTimeout(this.onFlushTimer, this.flushIntervalMs).unref();
    }
    return this.counts.queued > backPressure ? this.waitForRoom() : undefined;
  }

  /**
   * Resolves when every record written before the call is in its segment file, compressed.
   *
   * @throws SternaError `STERNA_LOGS_WRITE` when a segment could not be written; the records
   *   stay queued and are retried.
   */
  flush(): Promise<void> {
    return this.runSoon();
  }

  /**
   * Writes what is queued, finishes every open segment (synced, closed, read-only) and refuses
   * further writes. Idempotent: later calls return the first call's promise.
   *
   * @throws SternaError `STERNA_LOGS_WRITE` when the last records could not be written.
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      let failure: unknown;
      await this.runSoon().catch((error: unknown) => {
        failure = error;
      });
      await this.enqueue(async () => {
        for (const stream of this.streams.values()) await stream.finish();
      });
      this.room?.resolve();
      if (failure !== undefined) {
        throw new SternaError(
          'STERNA_LOGS_WRITE',
          `${this.counts.queued} log records were not written: ${errorText(failure)}`,
          { cause: failure },
        );
      }
    })();
    return this.closed;
  }

  /** Current counters. */
  stats(): LocalLogWriterStats {
    return { ...this.counts };
  }

  private streamFor(params: LogRecordParams): LogStream {
    const dir = params.logDir ?? this.config.logDir;
    const key = `${params.suffix}\0${dir}`;
    let stream = this.streams.get(key);
    if (!stream) {
      stream = new LogStream(dir, params.suffix, this.config, {
        written: (count) => {
          this.counts.queued -= count;
          this.counts.written += count;
          if (this.room && this.counts.queued <= this.config.backPressure) {
            this.room.resolve();
            this.room = undefined;
          }
        },
        opened: () => {
          this.counts.segments++;
        },
        expired: (rotate) => {
          this.enqueue(rotate).catch(this.reportFailure);
        },
        warn: (message, fields) => this.logger.warn(message, fields),
      });
      this.streams.set(key, stream);
    }
    return stream;
  }

  private readonly onFlushTimer = () => {
    this.flushTimer = undefined;
    this.runSoon().catch(this.reportFailure);
  };

  private readonly reportFailure = (error: unknown) => {
    this.logger.error('writing log records failed; they stay queued and are retried', {
      logDir: this.config.logDir,
      queued: this.counts.queued,
      error: errorText(error),
    });
  };

  private drop(reason: string): void {
    this.counts.dropped++;
    const now = Date.now();
    if (now - this.lastDropReport < 60_000) return;
    this.lastDropReport = now;
    this.logger.error('log records dropped', {
      logDir: this.config.logDir,
      reason,
      dropped: this.counts.dropped,
    });
  }

  private waitForRoom(): Promise<void> {
    this.counts.submitFull++;
    if (!this.room) {
      let resolve = noop;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.room = { promise, resolve };
    }
    return this.room.promise;
  }

  /** Runs jobs one at a time, in order: segment files have a single writer. */
  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.chain.then(job);
    this.chain = run.then(noop, noop);
    return run;
  }

  /**
   * Schedules a write run, or joins the one already scheduled and not yet started (it will
   * take every record queued before it starts, so callers of `flush()` are covered).
   */
  private runSoon(): Promise<void> {
    if (this.queuedRun) return this.queuedRun;
    const run = this.enqueue(async () => {
      this.queuedRun = undefined;
      await this.writeAll();
    });
    this.queuedRun = run;
    return run;
  }

  private async writeAll(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.sinceRun = 0;
    let failure: unknown;
    for (const stream of this.streams.values()) {
      if (stream.pending.length === 0) continue;
      try {
        await stream.write();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) {
      if (!this.closing) this.flushTimer ??= setTimeout(this.onFlushTimer, RETRY_MS).unref();
      throw new SternaError(
        'STERNA_LOGS_WRITE',
        `cannot write log segment in ${this.config.logDir}: ${errorText(failure)}`,
        { cause: failure },
      );
    }
  }
}
