import type { ClientTraceEvent, ServerTraceEvent } from './types.js';

/** Colours for the readable form, or none. */
export interface Palette {
  readonly read: (text: string) => string;
  readonly write: (text: string) => string;
  readonly note: (text: string) => string;
}

const plain = (text: string) => text;
/** No colour (a pipe, `--color no`). */
export const NO_COLOR: Palette = { read: plain, write: plain, note: plain };
/** ANSI colours: what the peer sent in green, what the daemon wrote in yellow, notes in cyan. */
export const ANSI_COLOR: Palette = {
  read: (t) => `\u001b[32m${t}\u001b[0m`,
  write: (t) => `\u001b[33m${t}\u001b[0m`,
  note: (t) => `\u001b[36m${t}\u001b[0m`,
};

/** The lines of a read or written text, without their line endings. */
function lines(text: string): string[] {
  const all = text.split(/\r?\n/);
  if (all.at(-1) === '') all.pop();
  return all;
}

/**
 * Remembers when each session was first seen, to print how far into it an event came; keyed by
 * what identifies a session (`received_from` → `received_via` for the server, the session number
 * for the client).
 */
export class SessionClock {
  readonly #started = new Map<string, number>();

  elapsed(key: string, when: string, closing: boolean): string {
    const at = Date.parse(when);
    const first = this.#started.get(key) ?? at;
    if (!this.#started.has(key)) this.#started.set(key, at);
    if (closing) this.#started.delete(key);
    return `${((at - first) / 1000).toFixed(3)}s`;
  }
}

/** The key of an inbound session: `peer->local`. */
export function serverSessionKey(event: ServerTraceEvent): string {
  return `${String(event.conn_meta.received_from ?? '?')}->${String(event.conn_meta.received_via ?? '?')}`;
}

/** The key of an outbound session: the ready queue and Sterna's session number. */
export function clientSessionKey(event: ClientTraceEvent): string {
  const meta = event.conn_meta;
  return `${String(meta.ready_queue ?? meta.site ?? '?')}#${String(meta.session_id ?? '?')}`;
}

/**
 * One inbound event as readable lines: `[peer->local@0.012s] <- EHLO x` for what the client
 * sent, `->` for what the daemon wrote, `===` for the rest.
 */
export function formatServerEvent(
  event: ServerTraceEvent,
  clock: SessionClock,
  color: Palette,
): string[] {
  const key = serverSessionKey(event);
  const p = event.payload;
  const head = `[${key}@${clock.elapsed(key, event.when, p === 'Closed')}]`;
  if (p === 'Connected') return [color.note(`${head} === Connected ${event.when}`)];
  if (p === 'Closed') return [color.note(`${head} === Closed`)];
  if ('Read' in p) return lines(p.Read).map((l) => color.read(`${head} <- ${l}`));
  if ('Write' in p) return lines(p.Write).map((l) => color.write(`${head} -> ${l}`));
  if ('AbbreviatedRead' in p) {
    const { snippet, len } = p.AbbreviatedRead;
    return [color.read(`${head} <- ${snippet.trimEnd()} (${len} bytes)`)];
  }
  if ('Diagnostic' in p) {
    return [color.note(`${head} === ${p.Diagnostic.level}: ${p.Diagnostic.message}`)];
  }
  if ('Callback' in p) {
    const { name, result, error } = p.Callback;
    const outcome = error !== null ? `error: ${error}` : `-> ${JSON.stringify(result)}`;
    return [color.note(`${head} === Callback ${name} ${outcome}`)];
  }
  const d = p.MessageDisposition;
  const recipients = Array.isArray(d.recipient) ? d.recipient.join(', ') : d.recipient;
  return [
    color.note(
      `${head} === Message from=${d.sender} to=${recipients} id=${d.id} queue=${d.queue} relay=${d.relay ? 'yes' : 'no'}`,
    ),
  ];
}

/** One outbound event as readable lines, as {@link formatServerEvent} (`<-` the peer's replies). */
export function formatClientEvent(
  event: ClientTraceEvent,
  clock: SessionClock,
  color: Palette,
): string[] {
  const key = clientSessionKey(event);
  const p = event.payload;
  const meta = event.conn_meta;
  const head = `[${key}@${clock.elapsed(key, event.when, p === 'Closed')}]`;
  switch (p) {
    case 'BeginSession':
      return [color.note(`${head} === BeginSession ${event.when}`)];
    case 'Connected':
      return [
        color.note(
          `${head} === Connected to ${String(meta.mx_host ?? '?')} ${String(meta.mx_addr ?? '')} from ${String(meta.source_address ?? '?')}`,
        ),
      ];
    case 'Closed':
      return [color.note(`${head} === Closed`)];
    case 'MessageObtained': {
      const to = Array.isArray(meta.rcpt_to) ? meta.rcpt_to.join(', ') : String(meta.rcpt_to);
      return [color.note(`${head} === Message from=${String(meta.mail_from)} to=${to}`)];
    }
  }
  if ('Read' in p) return lines(p.Read).map((l) => color.read(`${head} <- ${l}`));
  if ('Write' in p) return lines(p.Write).map((l) => color.write(`${head} -> ${l}`));
  if ('AbbreviatedWrite' in p) {
    const { snippet, len } = p.AbbreviatedWrite;
    return [color.write(`${head} -> ${snippet.trimEnd()} (${len} bytes)`)];
  }
  return [color.note(`${head} === ${p.Diagnostic.level}: ${p.Diagnostic.message}`)];
}
