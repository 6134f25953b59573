import { parseDuration } from '@sterna/core';
import { formatIssuePath } from '@sterna/core/engine';
import { z } from 'zod';
import { luaError } from '../shared/errors.js';

/** A duration in KumoMTA's forms (`'20 minutes'`, `'10s'`, seconds as a number) → seconds. */
export const duration = z.union([z.number(), z.string()]).transform((input, ctx) => {
  try {
    return parseDuration(input);
  } catch (error) {
    ctx.issues.push({ code: 'custom', message: (error as Error).message, input });
    return z.NEVER;
  }
});

/** An array that also accepts `{}` (how an empty Lua table reaches TypeScript). */
export function luaArray<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (v) =>
      typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0
        ? []
        : v,
    z.array(item),
  );
}

/** A table of any keys (meta, headers…). */
export const luaTable = z.record(z.string(), z.unknown());

/** An integer that may be written as a string with digit separators (`'1,000'`, `'10_000'`). */
export const count = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^(local:)?[0-9][0-9,_]*$/, 'expected a number such as 32 or "1,000"')
    .transform((s) => Number(s.replace(/^local:/, '').replace(/[,_]/g, ''))),
]);

/** A key or secret: inline text or a KumoMTA KeySource table (`{ key_data = '…' }`, vault…). */
export const keySource = z.union([z.string(), luaTable]);

/** A throttle such as `'100/s'`, `'1,000/hr'`. */
export const throttle = z
  .string()
  .regex(
    /^(local:)?[0-9][0-9,_]*(\s*\/\s*|\s+per\s+)(s|sec|second|m|min|minute|h|hr|hour|d|day)$/i,
    'expected a rate such as "100/s" or "1,000/hr"',
  );

/**
 * Validates `value` with `schema`, KumoMTA style: an unknown key is an error naming the key.
 *
 * @throws SternaError `STERNA_LUA_CONFIG_INVALID` listing every problem.
 */
export function parseWith<T extends z.ZodType>(
  schema: T,
  value: unknown,
  what: string,
): z.output<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const at = formatIssuePath('', issue.path);
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => `'${at === '' ? '' : `${at}.`}${k}'`).join(', ');
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}`;
    }
    return `${at === '' ? '(table)' : at}: ${issue.message}`;
  });
  throw luaError('STERNA_LUA_CONFIG_INVALID', `${what}: ${lines.join('; ')}`);
}
