import nunjucks from 'nunjucks';

/** A template failed to compile or render; the inject endpoint answers 422 with its text. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** Renders one template for one recipient's variables. */
export type Render = (vars: Readonly<Record<string, unknown>>) => string;

// KumoMTA's MiniJinja renders an undefined variable as empty text; nunjucks does the same when
// throwOnUndefined is off. HTML templates auto-escape, as `.html` templates do in KumoMTA.
const textEnv = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });
const htmlEnv = new nunjucks.Environment(null, { autoescape: true, throwOnUndefined: false });

/**
 * Compiles a template of `dialect` (`Jinja` via nunjucks, or `Static`: the text as is). Syntax
 * errors surface here, before anything is generated.
 *
 * @throws TemplateError with the compiler's message (line and column included).
 */
export function compileTemplate(
  source: string,
  dialect: 'Jinja' | 'Static',
  options: { html?: boolean; what: string },
): Render {
  // Text with no template syntax needs no engine (and most header values have none).
  if (dialect === 'Static' || !/\{[{%#]/.test(source)) return () => source;
  let template: nunjucks.Template;
  try {
    template = new nunjucks.Template(source, options.html ? htmlEnv : textEnv, options.what, true);
  } catch (error) {
    throw new TemplateError(`${options.what}: ${cleanMessage(error)}`);
  }
  return (vars) => {
    try {
      return template.render(vars as object);
    } catch (error) {
      throw new TemplateError(`${options.what}: ${cleanMessage(error)}`);
    }
  };
}

// nunjucks prefixes "Template render error: (path)" and indents the detail; keep one line.
function cleanMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text
    .replace(/^Template render error:\s*/, '')
    .replace(/^\([^)]*\)\s*/, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}
