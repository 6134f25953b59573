import { z } from 'zod';
import { luaArray, parseWith } from '../config/schema-helpers.js';

const specSchema = z
  .strictObject({
    name: z.string().regex(/^[^*]+\*?$/, 'a header name, optionally with one trailing *'),
    match: z.enum(['first', 'last', 'all']).default('last'),
    transform: z
      .enum(['snake_case', 'kebab_case', 'camel_case', 'pascal_case'])
      .default('snake_case'),
    target: z.string().optional(),
    remove: z.boolean().default(false),
  })
  .refine((s) => s.target === undefined || !s.name.endsWith('*'), {
    message: 'target cannot be used with a wildcard name',
  });

/** One rule of `msg:import_headers{…}`. */
export type ImportSpec = z.output<typeof specSchema>;

/** Validates `import_headers` specs. @throws SternaError `STERNA_LUA_CONFIG_INVALID` */
export function parseImportSpecs(value: unknown): ImportSpec[] {
  return parseWith(luaArray(specSchema), value, 'import_headers');
}

/** The meta key for a header name under a transform (`X-Campaign-Id` → `x_campaign_id`…). */
export function metaKey(header: string, transform: ImportSpec['transform']): string {
  const words = header
    .split(/[-_]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
  const cap = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);
  switch (transform) {
    case 'kebab_case':
      return words.join('-');
    case 'camel_case':
      return words.map((w, i) => (i === 0 ? w : cap(w))).join('');
    case 'pascal_case':
      return words.map(cap).join('');
    default:
      return words.join('_');
  }
}

/** Whether a spec's name (exact, or with a trailing `*`) matches a header name. */
export function specMatches(spec: ImportSpec, header: string): boolean {
  const name = spec.name.toLowerCase();
  const lower = header.toLowerCase();
  return name.endsWith('*') ? lower.startsWith(name.slice(0, -1)) : lower === name;
}
