/** How listeners mark what they receive (KumoMTA's `trace_headers`). */
export interface TraceHeaders {
  /** @default true (SMTP), false (HTTP) */
  readonly received_header: boolean;
  /** @default true */
  readonly supplemental_header: boolean;
  /** @default 'X-KumoRef' */
  readonly header_name: string;
  /** Meta keys copied into the supplemental header. @default [] */
  readonly include_meta_names: readonly string[];
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** An RFC 5322 date in UTC: `Sat, 28 Nov 2026 02:05:31 +0000`. */
export function rfc2822Date(time: number): string {
  const d = new Date(time);
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** What a Received header says about the hop. */
export interface ReceivedFacts {
  readonly ehlo: string;
  readonly peerIp: string;
  readonly hostname: string;
  readonly localIp: string;
  /** `ESMTP`, `ESMTPS` (TLS), `HTTP`. */
  readonly protocol: string;
  readonly tls?: string | undefined;
  readonly id: string;
  readonly recipient: string;
  readonly time: number;
}

/** The `Received:` header KumoMTA prepends, with Sterna in the `by` comment. */
export function receivedHeader(f: ReceivedFacts): string {
  const tls = f.tls ? ` (${f.tls})` : '';
  return (
    `Received: from ${f.ehlo} (${f.peerIp})\r\n` +
    `  by ${f.hostname} (Sterna ${f.localIp}) \r\n` +
    `  with ${f.protocol}${tls} id ${f.id} for <${f.recipient}>;\r\n` +
    `  ${rfc2822Date(f.time)}\r\n`
  );
}

/**
 * The supplemental trace header: base64 of `{"_@_":"\\_/","recipient":…}` plus the chosen meta,
 * folded near 75 columns (KumoMTA uses it to recognise its own messages in bounces).
 */
export function supplementalHeader(
  name: string,
  recipients: readonly string[],
  meta: Readonly<Record<string, unknown>>,
  include: readonly string[],
): string {
  const payload: Record<string, unknown> = {
    '_@_': '\\_/',
    recipient: recipients.length === 1 ? recipients[0] : recipients,
  };
  for (const key of include) {
    // Names come from the client (HTTP trace_headers): only the message's own keys count.
    if (Object.hasOwn(meta, key) && meta[key] !== undefined)
      Object.defineProperty(payload, key, { value: meta[key], enumerable: true });
  }
  const encoded = Buffer.from(JSON.stringify(payload)).toString('base64');
  const first = 75 - name.length - 2;
  const lines = [encoded.slice(0, first)];
  for (let at = first; at < encoded.length; at += 74) lines.push(encoded.slice(at, at + 74));
  return `${name}: ${lines.join('\r\n\t')}\r\n`;
}

/** Prepends header text (already CRLF-terminated) to message bytes. */
export function prependHeader(data: Uint8Array, header: string): Uint8Array {
  return Buffer.concat([Buffer.from(header, 'utf8'), data]);
}
