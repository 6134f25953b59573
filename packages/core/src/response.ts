import { SternaError } from './errors.js';

/** An RFC 3463 enhanced status code, as KumoMTA logs it. */
export interface EnhancedCode {
  readonly class: number;
  readonly subject: number;
  readonly detail: number;
}

/** A response as it appears in a log record's `response` field. */
export interface Response {
  /** The three-digit reply code (200 for a successful Lua or Maildir delivery). */
  readonly code: number;
  readonly enhanced_code: EnhancedCode | null;
  /** The reply text with line breaks folded to spaces, without the code or enhanced code. */
  readonly content: string;
  /** The command that drew this reply, e.g. `".\r\n"`; null where there was none. */
  readonly command: string | null;
}

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)/;

/** Parses `x.y.z` into an {@link EnhancedCode}, or null. */
export function parseEnhancedCode(text: string): EnhancedCode | null {
  const m = ENHANCED.exec(text);
  return m ? { class: Number(m[1]), subject: Number(m[2]), detail: Number(m[3]) } : null;
}

/** `{class: 4, subject: 4, detail: 4}` → `4.4.4`. */
export function formatEnhancedCode(code: EnhancedCode): string {
  return `${code.class}.${code.subject}.${code.detail}`;
}

/**
 * Builds a response. When `enhanced` is not given, a leading `x.y.z` in `content` is parsed
 * out of it (SMTP replies); pass `null` to keep the content whole (Lua and Maildir replies).
 */
export function makeResponse(
  code: number,
  content: string,
  options: { enhanced?: EnhancedCode | null; command?: string | null } = {},
): Response {
  if (!Number.isInteger(code) || code < 100 || code > 599) {
    throw new SternaError('STERNA_RESPONSE_INVALID', `response code ${code} is outside 100-599`);
  }
  let text = content.replace(/\r?\n/g, ' ').trim();
  let enhanced = options.enhanced;
  if (enhanced === undefined) {
    enhanced = parseEnhancedCode(text);
    if (enhanced) text = text.replace(ENHANCED, '');
  }
  return { code, enhanced_code: enhanced, content: text, command: options.command ?? null };
}

/**
 * Parses an SMTP reply (one or more `250-…`/`250 …` lines) into a response. Returns null when
 * the text does not start with a reply code.
 */
export function parseSmtpReply(reply: string, command: string | null = null): Response | null {
  const lines = reply.split(/\r?\n/).filter((l) => l.length > 0);
  const first = lines[0];
  const m = first ? /^(\d{3})(?:[ -]|$)/.exec(first) : null;
  if (!m) return null;
  const code = Number(m[1]);
  if (code < 100 || code > 599) return null;
  const text = lines.map((l) => l.slice(4)).join(' ');
  return makeResponse(code, text, { command });
}

/** How a response ends a delivery attempt. */
export type Disposition = 'delivered' | 'transient' | 'permanent';

/**
 * Classifies a reply as KumoMTA does: 2xx delivered; 4xx, 3xx, 503 and "too many recipients"
 * (any `x.5.3`, or a 552 to RCPT without an enhanced code) transient; every other 5xx permanent.
 * Anything else (1xx, nonsense) is transient: the mail is kept, never dropped.
 */
export function classifyResponse(
  response: Pick<Response, 'code' | 'enhanced_code'> & { readonly command?: string | null },
): Disposition {
  const { code, enhanced_code: enhanced } = response;
  if (code >= 200 && code < 300) return 'delivered';
  if (code >= 500 && code < 600) {
    if (code === 503) return 'transient';
    if (enhanced && enhanced.subject === 5 && enhanced.detail === 3) return 'transient';
    if (!enhanced && code === 552 && /^RCPT\b/i.test(response.command ?? '')) return 'transient';
    return 'permanent';
  }
  return 'transient';
}
