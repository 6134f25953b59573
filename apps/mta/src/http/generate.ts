import type { BuilderContent, InjectRequest } from './inject-request.js';
import { buildMime, formatAddress } from './mime.js';
import { compileTemplate, compileTemplates, type TemplatePart } from './template.js';

/** One recipient of an inject request. */
export type InjectRecipient = InjectRequest['recipients'][number];

/** Writes the message text for one recipient (before line endings are normalized). */
export type Generate = (recipient: InjectRecipient, id: string) => string;

/**
 * Compiles every template of a request once and returns the per-recipient generator. The whole
 * RFC 822 string is a template; in builder mode the bodies, subject, header values and display
 * names are (attachments are not).
 *
 * @throws TemplateError on a syntax error (the endpoint answers 422).
 */
export function compileRequest(
  request: InjectRequest,
  hostname: string,
  now: () => number,
): Generate {
  const dialect = request.template_dialect === 'Static' ? 'Static' : 'Jinja';
  const vars = (r: InjectRecipient): Record<string, unknown> => ({
    ...request.substitutions,
    ...r.substitutions,
    email: r.email,
    ...(r.name !== undefined ? { name: r.name } : {}),
    to_header: formatAddress(r),
  });
  if (typeof request.content === 'string') {
    const render = compileTemplate(request.content, dialect, { what: 'content' });
    return (r) => render(vars(r));
  }
  const build = compileBuilder(request.content, dialect);
  return (r, id) => build(r, vars(r), `${id}@${hostname}`, now());
}

function compileBuilder(content: BuilderContent, dialect: 'Jinja' | 'Static') {
  // Every template of the message, rendered together (one call of the engine per recipient).
  const parts: TemplatePart[] = [];
  const add = (source: string | undefined, what: string, html = false): number | undefined => {
    if (source === undefined) return undefined;
    parts.push({ source, what, html });
    return parts.length - 1;
  };
  const text = add(content.text_body, 'text_body');
  const html = add(content.html_body, 'html_body', true);
  const amp = add(content.amp_html_body, 'amp_html_body', true);
  const subject = add(content.subject, 'subject');
  const fromName = add(content.from?.name, 'from.name');
  const replyName = add(content.reply_to?.name, 'reply_to.name');
  const headers = Object.entries(content.headers ?? {}).map(
    ([name, value]) => [name, add(value, `headers.${name}`)!] as const,
  );
  const render = compileTemplates(parts, dialect);
  return (
    r: InjectRecipient,
    v: Record<string, unknown>,
    messageId: string,
    date: number,
  ): string => {
    const out = render(v);
    const at = (i: number | undefined) => (i === undefined ? undefined : out[i]);
    return buildMime({
      text: at(text),
      html: at(html),
      amp: at(amp),
      subject: at(subject),
      from: content.from && { email: content.from.email, name: at(fromName) },
      replyTo: content.reply_to && { email: content.reply_to.email, name: at(replyName) },
      to: { email: r.email, name: r.name },
      headers: headers.map(([name, i]) => [name, out[i]!] as const),
      attachments: content.attachments ?? [],
      messageId,
      date,
    });
  };
}
