import { randomBytes } from 'node:crypto';
import libmime from 'libmime';
import { rfc2822Date } from '../reception/trace-headers.js';

// The builder is ours, not nodemailer's MailComposer (measured in bench/mime-build.ts, reasons in
// docs/performance.md): KumoMTA's tree puts multipart/related around the alternative bodies
// (MailComposer nests it beside the HTML), bodies are always quoted-printable, a lone CR is
// encoded rather than written raw, and a message is built synchronously in a tenth of the CPU
// time. Encoded words, folding and header parameters are libmime's.

/** An address as the inject API gives it. */
export interface MailAddress {
  readonly email: string;
  readonly name?: string | undefined;
}

/** One attachment of a builder-mode message. */
export interface MimeAttachment {
  readonly data: string;
  readonly content_type: string;
  readonly file_name?: string | undefined;
  /** Makes the attachment inline (multipart/related) with this `Content-ID`. */
  readonly content_id?: string | undefined;
  /** `data` is already base64 (binary content). @default false */
  readonly base64?: boolean | undefined;
}

/** A builder-mode message with its templates already rendered for one recipient. */
export interface MimeInput {
  readonly text?: string | undefined;
  readonly html?: string | undefined;
  readonly amp?: string | undefined;
  readonly subject?: string | undefined;
  readonly from?: MailAddress | undefined;
  readonly replyTo?: MailAddress | undefined;
  /** The recipient; the `To:` header unless `headers` has one. */
  readonly to: MailAddress;
  /** Extra headers in order; a name Sterna generates (From, To, Subject, Date, Message-ID…) is replaced. */
  readonly headers: readonly (readonly [string, string])[];
  readonly attachments: readonly MimeAttachment[];
  /** `Message-ID` without the angle brackets. */
  readonly messageId: string;
  /** Epoch ms for `Date`. */
  readonly date: number;
}

// The MIME structure is Sterna's; a user header must not contradict it.
const STRUCTURAL = new Set(['mime-version', 'content-type', 'content-transfer-encoding']);
const ATEXT_PHRASE = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]*$/;

/** `Name <email>` with the display name quoted or RFC 2047 encoded as needed. */
export function formatAddress(address: MailAddress): string {
  const name = address.name?.replace(/[\r\n]+/g, ' ').trim();
  if (!name) return address.email;
  if (ATEXT_PHRASE.test(name)) return `${name} <${address.email}>`;
  if (/^[\x20-\x7e]*$/.test(name))
    return `"${name.replace(/(["\\])/g, '\\$1')}" <${address.email}>`;
  return `${libmime.encodeWord(name, 'Q', 52)} <${address.email}>`;
}

/** One folded header line ending in CRLF; non-ASCII text is RFC 2047 encoded unless `raw`. */
export function headerLine(name: string, value: string, raw = false): string {
  // A CR or LF in a value would start a new header (header injection): fold it into a space.
  const flat = value.replace(/[\r\n]+/g, ' ');
  const text = !raw && /[^\x20-\x7e\t]/.test(flat) ? libmime.encodeWords(flat, 'Q', 52) : flat;
  return `${libmime.foldLines(`${name}: ${text}`, 76).replace(/[ \t]+(?=\r\n|$)/g, '')}\r\n`;
}

/** Quoted-printable (RFC 2045) of UTF-8 text, CRLF line breaks, lines at most 76 characters. */
export function quotedPrintable(text: string): string {
  let out = '';
  let first = true;
  for (const line of text.split(/\r?\n/)) {
    if (!first) out += '\r\n';
    first = false;
    out += quotedPrintableLine(line);
  }
  return out;
}

// Each byte as quoted-printable writes it in the middle of a line: printable ASCII but `=` as
// itself, white space as itself (a line's last one is encoded by the caller), the rest `=XX`.
const QP_TOKENS = Array.from({ length: 256 }, (_, b) =>
  (b >= 33 && b <= 126 && b !== 61) || b === 32 || b === 9
    ? String.fromCharCode(b)
    : `=${b.toString(16).toUpperCase().padStart(2, '0')}`,
);
const PLAIN_LINE = /^[\x21-\x3c\x3e-\x7e](?:[\x20\x21-\x3c\x3e-\x7e]{0,73}[\x21-\x3c\x3e-\x7e])?$/;

// One line of text, in lines of at most 76 characters (75 and a soft break `=`).
function quotedPrintableLine(line: string): string {
  // Most lines of a text body are short printable ASCII and come out as they are.
  if (line === '' || PLAIN_LINE.test(line)) return line;
  const bytes = Buffer.from(line, 'utf8');
  const last = bytes.length - 1;
  let out = '';
  let width = 0;
  for (let i = 0; i <= last; i++) {
    const b = bytes[i]!;
    const token = i === last && (b === 32 || b === 9) ? (b === 32 ? '=20' : '=09') : QP_TOKENS[b]!;
    if (width + token.length > 75) {
      out += '=\r\n';
      width = 0;
    }
    out += token;
    width += token.length;
  }
  return out;
}

/** Base64 in lines of 76 characters joined by CRLF. */
export function base64Lines(data: Uint8Array): string {
  return (
    Buffer.from(data)
      .toString('base64')
      .match(/.{1,76}/g) ?? []
  ).join('\r\n');
}

interface Entity {
  readonly headers: string;
  readonly body: string;
}

const textEntity = (type: string, text: string): Entity => ({
  headers:
    headerLine('Content-Type', `${type}; charset=utf-8`) +
    headerLine('Content-Transfer-Encoding', 'quoted-printable'),
  body: quotedPrintable(text),
});

function attachmentEntity(a: MimeAttachment): Entity {
  const bytes = a.base64 ? Buffer.from(a.data, 'base64') : Buffer.from(a.data, 'utf8');
  const type = a.content_type.replace(/[\r\n]+/g, ' ');
  const params: Record<string, string> = a.file_name ? { name: a.file_name } : {};
  let headers = headerLine('Content-Type', libmime.buildHeaderValue({ value: type, params }), true);
  headers += headerLine('Content-Transfer-Encoding', 'base64');
  const disposition = a.content_id ? 'inline' : 'attachment';
  const dparams: Record<string, string> = a.file_name ? { filename: a.file_name } : {};
  headers += headerLine(
    'Content-Disposition',
    libmime.buildHeaderValue({ value: disposition, params: dparams }),
    true,
  );
  if (a.content_id)
    headers += headerLine('Content-ID', `<${a.content_id.replace(/^<|>$/g, '')}>`, true);
  return { headers, body: base64Lines(bytes) };
}

function multipart(subtype: string, parts: readonly Entity[]): Entity {
  if (parts.length === 1) return parts[0]!;
  const boundary = `----=_sterna_${randomBytes(12).toString('hex')}`;
  const body = `${parts.map((p) => `--${boundary}\r\n${p.headers}\r\n${p.body}\r\n`).join('')}--${boundary}--`;
  return {
    headers: headerLine('Content-Type', `multipart/${subtype}; boundary="${boundary}"`, true),
    body,
  };
}

/**
 * Writes a complete RFC 5322 message (CRLF line endings): text, AMP and HTML bodies as
 * multipart/alternative, inline attachments (with `content_id`) in multipart/related, other
 * attachments in multipart/mixed; bodies quoted-printable, attachments base64.
 */
export function buildMime(input: MimeInput): string {
  const bodies: Entity[] = [];
  if (input.text !== undefined) bodies.push(textEntity('text/plain', input.text));
  if (input.amp !== undefined) bodies.push(textEntity('text/x-amp-html', input.amp));
  if (input.html !== undefined) bodies.push(textEntity('text/html', input.html));
  let root = multipart('alternative', bodies);
  const inline = input.attachments.filter((a) => a.content_id);
  const attached = input.attachments.filter((a) => !a.content_id);
  if (inline.length > 0) root = multipart('related', [root, ...inline.map(attachmentEntity)]);
  if (attached.length > 0) root = multipart('mixed', [root, ...attached.map(attachmentEntity)]);

  // Generated headers in a fixed order; a user header of the same name takes its place.
  const fields: [string, string, boolean][] = [];
  if (input.from) fields.push(['From', formatAddress(input.from), true]);
  if (input.replyTo) fields.push(['Reply-To', formatAddress(input.replyTo), true]);
  fields.push(['To', formatAddress(input.to), true]);
  if (input.subject !== undefined) fields.push(['Subject', input.subject, false]);
  fields.push(['Date', rfc2822Date(input.date), true]);
  fields.push(['Message-ID', `<${input.messageId}>`, true]);
  for (const [name, value] of input.headers) {
    if (STRUCTURAL.has(name.toLowerCase())) continue;
    const at = fields.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
    if (at >= 0) fields[at] = [name, value, false];
    else fields.push([name, value, false]);
  }
  const head = fields.map(([n, v, raw]) => headerLine(n, v, raw)).join('');
  return `${head}${headerLine('MIME-Version', '1.0')}${root.headers}\r\n${root.body}\r\n`;
}
