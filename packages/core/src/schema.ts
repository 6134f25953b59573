import type { StandardSchemaV1 } from '@standard-schema/spec';
import { SternaError } from './errors.js';

/**
 * An options schema: any Standard Schema (zod 4, valibot, arktype …). A driver's schema
 * validates its whole `protocol` table and returns the typed options.
 */
export type OptionsSchema<Options> = StandardSchemaV1<unknown, Options>;

/**
 * Formats a Standard Schema issue path the way a policy author reads it: `protocol.smtp.mx_list[2].addr`.
 * Array indices count from 1, as Lua tables do.
 */
export function formatIssuePath(prefix: string, path: StandardSchemaV1.Issue['path']): string {
  let out = prefix;
  for (const segment of path ?? []) {
    const key = typeof segment === 'object' ? segment.key : segment;
    if (typeof key === 'number') out += `[${key + 1}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/**
 * Validates `value` with `schema`. Every problem is listed, each prefixed by its path.
 *
 * @throws SternaError `STERNA_OPTIONS_INVALID`
 */
export async function validateOptions<Options>(
  schema: OptionsSchema<Options>,
  value: unknown,
  prefix: string,
  subject: string,
): Promise<Options> {
  const result = await schema['~standard'].validate(value);
  if (!result.issues) return result.value;
  const lines = result.issues.map(
    (issue) => `${formatIssuePath(prefix, issue.path)}: ${issue.message}`,
  );
  throw new SternaError(
    'STERNA_OPTIONS_INVALID',
    `invalid options for ${subject}:\n  ${lines.join('\n  ')}`,
  );
}
