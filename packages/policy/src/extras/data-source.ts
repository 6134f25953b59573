/**
 * What a data-file helper's `setup` does with its files, as the Lua helpers' `data_source`:
 * the compiled data kept for a while (read again after the TTL; a failed read is not kept, so
 * a file fixed after a failure is read on the next call), and a `validate_config` handler
 * reporting every problem of the files naming the file and the key.
 * @module
 */
import { type DurationInput, parseDuration } from '@sterna/core';
import { on } from '../events.js';
import { log, validationFailed } from './daemon.js';
import type { DataFile } from './data-files.js';
import { describe, type Problem, Problems, raise } from './support.js';

/** What a helper's compile step gives: the data, the problems that stop every use, and the
 * problems of single entries (which raise only when a call needs that entry). */
export interface Compiled<T> {
  readonly data: T;
  readonly fatal: readonly Problem[];
  readonly entries?: readonly Problem[];
}

/** Options of {@link dataSource}. */
export interface DataSourceOptions<T> {
  /** How long the compiled data is kept. @default '5 minutes' */
  readonly ttl?: DurationInput | undefined;
  /** Cross-checks for `validate_config` only (names other helpers define…). */
  readonly check?: ((data: T, problems: Problems) => void) | undefined;
}

/**
 * `make()`'s value kept for `ttlSeconds`; an error `make` throws is not kept.
 */
export function cached<T>(ttlSeconds: number, make: () => T): () => T {
  let value: T | undefined;
  let until = Number.NEGATIVE_INFINITY;
  return () => {
    const now = performance.now();
    if (value === undefined || now >= until) {
      value = make();
      until = now + ttlSeconds * 1000;
    }
    return value;
  };
}

/**
 * Registers the helper's `validate_config` handler (logging each problem as
 * `<helper>: <file>: <key path>: <what>` at error level, then marking the validation failed)
 * and returns a function giving the data, or throwing the problems that stop every use.
 */
export function dataSource<T>(
  helper: string,
  files: readonly DataFile[],
  compile: (files: readonly DataFile[]) => Compiled<T>,
  options: DataSourceOptions<T> = {},
): () => T {
  const ttl = parseDuration(options.ttl ?? '5 minutes', `${helper} cache ttl`);
  const data = cached(ttl, () => {
    const compiled = compile(files);
    raise(helper, compiled.fatal);
    return compiled.data;
  });
  on('validate_config', async () => {
    const compiled = compile(files);
    const problems = new Problems();
    problems.addAll(compiled.fatal);
    problems.addAll(compiled.entries ?? []);
    options.check?.(compiled.data, problems);
    for (const problem of problems.list) log('error', `${helper}: ${describe(problem)}`);
    if (problems.list.length > 0) await validationFailed();
    return undefined;
  });
  return data;
}
