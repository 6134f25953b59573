import { randomUUID } from 'node:crypto';
import type { Environment } from 'minijinja-js';
import {
  type CompiledTemplate,
  SandboxEnvironment,
  TEMPLATE_LIMITS,
  TemplateEngineFailure,
} from './template-engine.js';

/** A template failed to compile or render; the inject endpoint answers 422 with its text. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** Renders one template for one recipient's variables. */
export type Render = (vars: Readonly<Record<string, unknown>>) => string;

// As KumoMTA's inject templates: MiniJinja with its default (lenient) undefined behaviour, so an
// undefined variable renders empty while an attribute of one is an error; Python-style methods
// (`name.upper()`); HTML escaping for `.html` templates. Unlike KumoMTA, the trailing newline of
// a template is kept, as Sterna always did: a message written with a final newline ends in CRLF.
// `debug()` is removed: it would list the (random) names of other requests' templates.
function configure(env: Environment): void {
  env.undefinedBehavior = 'lenient';
  env.keepTrailingNewline = true;
  env.enablePyCompat();
  env.fuel = TEMPLATE_LIMITS.fuel;
  env.removeGlobal('debug');
}
const textEnv = new SandboxEnvironment(configure);
const htmlEnv = new SandboxEnvironment(configure, { suffix: '.html' });

/** The two environments (tests look at how many templates they keep). */
export function templateEnvironmentsForTests(): {
  text: SandboxEnvironment;
  html: SandboxEnvironment;
} {
  return { text: textEnv, html: htmlEnv };
}

/**
 * Compiles a template of `dialect` (`Jinja`: MiniJinja, sandboxed; `Static`: the text as is).
 * Syntax errors surface here, before anything is generated.
 *
 * @throws TemplateError with MiniJinja's message (and the line) prefixed by `what`.
 */
export function compileTemplate(
  source: string,
  dialect: 'Jinja' | 'Static',
  options: { html?: boolean; what: string },
): Render {
  // Text with no template syntax needs no engine (and most header values have none).
  if (!needsEngine(source, dialect)) return () => source;
  const fail = (error: unknown): never => {
    const text = error instanceof Error ? error.message : String(error);
    throw new TemplateError(`${options.what}: ${text}`);
  };
  let template: CompiledTemplate;
  try {
    template = (options.html ? htmlEnv : textEnv).compile(source);
  } catch (error) {
    return fail(error);
  }
  return (vars) => {
    try {
      return template.render(vars);
    } catch (error) {
      return fail(error);
    }
  };
}

function needsEngine(source: string, dialect: 'Jinja' | 'Static'): boolean {
  return dialect === 'Jinja' && /\{[{%#]/.test(source);
}

/** One of several templates rendered together. */
export interface TemplatePart {
  source: string;
  /** Names the part in errors: `text_body`, `headers.X-Campaign`. */
  what: string;
  /** HTML-escape substituted values. */
  html?: boolean;
}

// Separates the parts in the output of a combined template. Random per process and never
// returned, so a template cannot write it; should the output still not split into the expected
// number of parts, the parts are rendered one by one.
const SEPARATOR = `\u0000${randomUUID()}\u0000`;

/**
 * Compiles `parts` that are rendered for the same variables (the builder's bodies, subject, names
 * and header values) and returns a function rendering all of them, in order. Each part is
 * compiled on its own, so errors name it; when two or more need the engine they are also joined
 * into one template (each part in its own scope, escaped or not), so a message costs one call of
 * the engine and one conversion of the variables. The separate templates render the parts when
 * the joined one fails, and report the error of the part that failed.
 *
 * @throws TemplateError on a syntax error, naming the part.
 */
export function compileTemplates(
  parts: readonly TemplatePart[],
  dialect: 'Jinja' | 'Static',
): (vars: Readonly<Record<string, unknown>>) => string[] {
  const renders = parts.map((part) => compileTemplate(part.source, dialect, part));
  const one = (vars: Readonly<Record<string, unknown>>) => renders.map((render) => render(vars));
  const joined = parts.filter((part) => needsEngine(part.source, dialect));
  if (joined.length < 2) return one;
  const source = joined
    .map(
      (part) =>
        `{% autoescape ${part.html ? 'true' : 'false'} %}{% with %}${part.source}` +
        '{% endwith %}{% endautoescape %}',
    )
    .join(SEPARATOR);
  let together: CompiledTemplate;
  try {
    together = textEnv.compile(source);
  } catch {
    return one; // e.g. a part that nests just below the limit; the parts compiled on their own
  }
  return (vars) => {
    let pieces: string[];
    try {
      pieces = together.render(vars).split(SEPARATOR);
    } catch (error) {
      // Running out of time or memory together would happen again apart: say so at once.
      if (error instanceof TemplateEngineFailure) {
        throw new TemplateError(`${joined.map((part) => part.what).join(', ')}: ${error.message}`);
      }
      return one(vars); // the part that fails reports its own error
    }
    if (pieces.length !== joined.length) return one(vars);
    let next = 0;
    return parts.map((part) => (needsEngine(part.source, dialect) ? pieces[next++]! : part.source));
  };
}
