import { parseDuration } from '@sterna/core';
import { formatIssuePath, throttleSpecProblem } from '@sterna/core/engine';
import { z } from 'zod';
import { luaError } from '../shared/errors.js';
import { setOwn } from '../shared/own-key.js';

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

/**
 * A whole number at least zero, which may be written as a string with digit separators and
 * KumoMTA's `local:` prefix (`'1,000'`, `'10_000'`, `'local:20'`).
 */
export const count = z.unknown().transform((input, ctx) => {
  const text = typeof input === 'string' ? /^(?:local:)?([0-9][0-9,_]*)$/.exec(input.trim()) : null;
  const value =
    typeof input === 'number' ? input : text ? Number(text[1]!.replace(/[,_]/g, '')) : Number.NaN;
  if (Number.isInteger(value) && value >= 0) return value;
  const got =
    typeof input === 'string'
      ? `'${input}'`
      : typeof input === 'object' && input !== null
        ? 'a table'
        : String(input);
  ctx.issues.push({
    code: 'custom',
    message: `expected a whole number such as 32 or "1,000", got ${got}`,
    input,
  });
  return z.NEVER;
});

/** A key or secret: inline text or a KumoMTA KeySource table (`{ key_data = '…' }`, vault…). */
export const keySource = z.union([z.string(), luaTable]);

/**
 * A throttle spec as KumoMTA writes it, `[local:]quantity/period[,max_burst=N]` (`'100/s'`,
 * `'1,000/hr'`, `'20/30min'`, `'local:10/s,max_burst=1'`): exactly what core's
 * `parseThrottleSpec` accepts, refused with its text. The output stays the string as written
 * (the daemon parses it again where it runs the throttle).
 */
export const throttle = z
  .string({ error: "expected a throttle spec string such as '100/h'" })
  .superRefine((text, ctx) => {
    const problem = throttleSpecProblem(text);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: text });
  });

/**
 * A table of names to values (`additional_connection_limits = { ['global'] = 100 }`), each
 * value checked with `item`; a problem names the entry (`entry 'global': …`). `what` says
 * what a value is, for the error when the table is not one of names.
 */
export function namedMap<T extends z.ZodType>(item: T, what: string) {
  return z
    .record(z.string(), z.unknown(), { error: `expected a table of names to ${what}` })
    .transform((map, ctx) => {
      const out: Record<string, z.output<T>> = {};
      for (const [name, value] of Object.entries(map)) {
        const result = item.safeParse(value);
        if (result.success) {
          setOwn(out, name, result.data);
          continue;
        }
        for (const issue of result.error.issues) {
          ctx.issues.push({
            code: 'custom',
            message: `entry '${name}': ${issue.message}`,
            input: value,
          });
        }
      }
      return out;
    });
}

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
