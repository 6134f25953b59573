import { SternaError } from '@sterna/core';

/**
 * The variables a `maildir_path` template may name (KumoMTA's set), besides `meta.NAME`.
 */
export const TEMPLATE_VARIABLES = [
  'local_part',
  'domain_part',
  'email',
  'sender_local_part',
  'sender_domain_part',
  'sender_email',
  'queue',
  'domain',
  'tenant',
  'campaign',
  'routing_domain',
] as const;

/** A variable of {@link TEMPLATE_VARIABLES}. */
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

/** One `{{ … }}` of a template: a named variable or a meta key. */
export type TemplateReference =
  | { readonly kind: 'variable'; readonly name: TemplateVariable }
  | { readonly kind: 'meta'; readonly name: string };

/** A compiled template: literal text alternating with references. */
export interface CompiledTemplate {
  readonly source: string;
  /** `parts[i]` is literal text (string) or a reference. */
  readonly parts: readonly (string | TemplateReference)[];
}

const KNOWN = new Set<string>(TEMPLATE_VARIABLES);
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function invalid(source: string, why: string): SternaError {
  return new SternaError(
    'STERNA_MAILDIR_TEMPLATE_INVALID',
    `maildir_path template ${JSON.stringify(source)}: ${why}`,
  );
}

function parseExpression(source: string, expr: string): TemplateReference {
  if (expr.includes('|')) {
    throw invalid(source, `filters are not supported in {{ ${expr} }}; name a variable only`);
  }
  if (IDENT.test(expr)) {
    if (KNOWN.has(expr)) return { kind: 'variable', name: expr as TemplateVariable };
    if (expr === 'meta') throw invalid(source, 'use {{ meta.NAME }} to name one meta value');
    throw invalid(
      source,
      `unknown variable '${expr}' (known: ${TEMPLATE_VARIABLES.join(', ')}, meta.NAME)`,
    );
  }
  const dotted = /^meta\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
  if (dotted) return { kind: 'meta', name: dotted[1]! };
  const indexed = /^meta\s*\[\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*\]$/.exec(expr);
  if (indexed) return { kind: 'meta', name: (indexed[1] ?? indexed[2])! };
  throw invalid(source, `cannot read the expression {{ ${expr} }}`);
}

/**
 * Compiles the MiniJinja subset `maildir_path` uses: literal text and `{{ expr }}`, where `expr`
 * is a variable of {@link TEMPLATE_VARIABLES}, `meta.NAME` or `meta["NAME"]`. `{{-`/`-}}` trim
 * the whitespace beside them, as in MiniJinja. Statements (`{% %}`), comments (`{# #}`) and
 * filters are refused rather than half-supported.
 *
 * @throws SternaError `STERNA_MAILDIR_TEMPLATE_INVALID` naming the problem
 */
export function compileTemplate(source: string): CompiledTemplate {
  const parts: (string | TemplateReference)[] = [];
  let literal = '';
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{', i);
    if (open < 0 || open === source.length - 1) {
      literal += source.slice(i);
      break;
    }
    const next = source[open + 1];
    if (next === '%' || next === '#') {
      throw invalid(source, `'{${next}' (statements and comments) is not supported`);
    }
    if (next !== '{') {
      literal += source.slice(i, open + 1);
      i = open + 1;
      continue;
    }
    literal += source.slice(i, open);
    const close = source.indexOf('}}', open + 2);
    if (close < 0) throw invalid(source, `'{{' at offset ${open} is never closed with '}}'`);
    let inner = source.slice(open + 2, close);
    if (inner.startsWith('-')) {
      inner = inner.slice(1);
      literal = literal.trimEnd();
    }
    let trimAfter = false;
    if (inner.endsWith('-')) {
      inner = inner.slice(0, -1);
      trimAfter = true;
    }
    const expr = inner.trim();
    if (expr === '') throw invalid(source, `empty expression at offset ${open}`);
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push(parseExpression(source, expr));
    i = close + 2;
    if (trimAfter) {
      while (i < source.length && /\s/.test(source[i]!)) i++;
    }
  }
  if (literal !== '') parts.push(literal);
  return { source, parts };
}

/** `{{ local_part }}` or `{{ meta.x }}`, for messages. */
export function describeReference(ref: TemplateReference): string {
  return ref.kind === 'meta' ? `{{ meta.${ref.name} }}` : `{{ ${ref.name} }}`;
}
