import type { BuilderContent, InjectRequest } from './inject-request.js';
import { buildMime, formatAddress } from './mime.js';
import { compileTemplate, type Render } from './template.js';

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
  const opt = (source: string | undefined, what: string, html = false): Render | undefined =>
    source === undefined ? undefined : compileTemplate(source, dialect, { what, html });
  const text = opt(content.text_body, 'text_body');
  const html = opt(content.html_body, 'html_body', true);
  const amp = opt(content.amp_html_body, 'amp_html_body', true);
  const subject = opt(content.subject, 'subject');
  const fromName = opt(content.from?.name, 'from.name');
  const replyName = opt(content.reply_to?.name, 'reply_to.name');
  const headers = Object.entries(content.headers ?? {}).map(
    ([name, value]) =>
      [name, compileTemplate(value, dialect, { what: `headers.${name}` })] as const,
  );
  return (
    r: InjectRecipient,
    v: Record<string, unknown>,
    messageId: string,
    date: number,
  ): string =>
    buildMime({
      text: text?.(v),
      html: html?.(v),
      amp: amp?.(v),
      subject: subject?.(v),
      from: content.from && { email: content.from.email, name: fromName?.(v) },
      replyTo: content.reply_to && { email: content.reply_to.email, name: replyName?.(v) },
      to: { email: r.email, name: r.name },
      headers: headers.map(([name, render]) => [name, render(v)] as const),
      attachments: content.attachments ?? [],
      messageId,
      date,
    });
}
