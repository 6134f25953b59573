/** One SMTP reply: its code and every line's text after the code. */
export interface SmtpReply {
  /** The three-digit code; 0 when the peer sent something that is not a reply. */
  readonly code: number;
  /** The reply as received, lines joined by CRLF, without the final CRLF. */
  readonly raw: string;
}

// Bounds that stop a peer from growing our memory with one endless reply.
const MAX_LINE = 64 * 1024;
const MAX_LINES = 512;

/** Thrown when a peer's reply breaks the bounds above. */
export class ReplyTooLargeError extends Error {
  constructor() {
    super('reply from the peer is too large');
  }
}

/**
 * Splits the text a peer sends into replies (RFC 5321 §4.2: `250-…` lines continue, `250 …`
 * ends). Stateful: feed it chunks as they arrive.
 */
export class ReplyParser {
  #partial = '';
  #lines: string[] = [];

  /** Adds received text; returns the replies it completed. */
  push(text: string): SmtpReply[] {
    const replies: SmtpReply[] = [];
    let buffer = this.#partial + text;
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      let line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.#lines.push(line);
      const continued = line.length >= 4 && line[3] === '-' && /^\d{3}$/.test(line.slice(0, 3));
      if (!continued) {
        const code = /^\d{3}(?:\s|$)/.test(line) ? Number(line.slice(0, 3)) : 0;
        replies.push({ code, raw: this.#lines.join('\r\n') });
        this.#lines = [];
      } else if (this.#lines.length > MAX_LINES) {
        throw new ReplyTooLargeError();
      }
      newline = buffer.indexOf('\n');
    }
    if (buffer.length > MAX_LINE) throw new ReplyTooLargeError();
    this.#partial = buffer;
    return replies;
  }
}
