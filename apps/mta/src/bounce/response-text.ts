import { formatEnhancedCode, parseSmtpReply, type Response } from '@sterna/core';

/** A response as a policy may give it to `kumo.classify_bounce`: KumoMTA's record shape. */
export interface ResponseLike {
  readonly code?: unknown;
  readonly enhanced_code?: unknown;
  readonly content?: unknown;
}

/**
 * The single line the classifier's rules match, as KumoMTA builds it: the code, the enhanced
 * code when there is one, then the content — `550 5.1.1 user unknown`, `421 try later`. Rules
 * files anchor on it (`^552 [45]\.2\.2 `), so the spacing is part of the format.
 */
export function responseText(response: Pick<Response, 'code' | 'enhanced_code' | 'content'>) {
  const enhanced = response.enhanced_code ? `${formatEnhancedCode(response.enhanced_code)} ` : '';
  return `${response.code} ${enhanced}${response.content}`;
}

/**
 * What a policy passed to `kumo.classify_bounce` as the line to match: a reply text is read as
 * an SMTP reply (multi-line replies folded, as records hold them) and kept as it is when it
 * does not start with a code; a table is a record's `response` (`enhanced_code` as a
 * `{class, subject, detail}` table or an `x.y.z` string).
 *
 * @throws Error when a table has no numeric `code`.
 */
export function responseTextOf(input: string | ResponseLike): string {
  if (typeof input === 'string') {
    const reply = parseSmtpReply(withoutRepeatedCodes(input));
    return reply ? responseText(reply) : input;
  }
  const code = Number(input.code);
  if (!Number.isInteger(code)) throw new Error('the response table needs a numeric code');
  const content = typeof input.content === 'string' ? input.content : '';
  const enhanced = enhancedText(input.enhanced_code);
  return `${code} ${enhanced ? `${enhanced} ` : ''}${content}`;
}

function enhancedText(value: unknown): string | undefined {
  if (typeof value === 'string') return /^[245]\.\d{1,3}\.\d{1,3}$/.test(value) ? value : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  const { class: c, subject, detail } = value as Record<string, unknown>;
  if (![c, subject, detail].every((n) => typeof n === 'number')) return undefined;
  return `${c}.${subject}.${detail}`;
}

// A multi-line reply repeats its enhanced code on every line (`550-5.1.1 …`, `550 5.1.1 …`);
// it is said once in the folded line.
function withoutRepeatedCodes(reply: string): string {
  const lines = reply.split(/\r?\n/);
  const code = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3}) /.exec(lines[0] ?? '')?.[1];
  if (code === undefined) return reply;
  const again = `${code} `;
  return lines
    .map((line, i) =>
      i > 0 && line.slice(4).startsWith(again)
        ? line.slice(0, 4) + line.slice(4 + again.length)
        : line,
    )
    .join('\r\n');
}
