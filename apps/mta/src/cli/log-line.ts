/** What `sterna tail` keeps: record types, recipient/queue domains, ids. Empty lets all pass. */
export interface RecordFilter {
  readonly types?: readonly string[] | undefined;
  readonly domains?: readonly string[] | undefined;
  readonly ids?: readonly string[] | undefined;
}

type Json = Record<string, unknown>;

const recipients = (record: Json): string[] =>
  [record.recipient].flat().filter((r): r is string => typeof r === 'string');

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/** Whether a record passes the filter (types compare without case; domains too). */
export function recordMatches(record: Json, filter: RecordFilter): boolean {
  if (filter.types?.length) {
    const type = String(record.type ?? '').toLowerCase();
    if (!filter.types.some((t) => t.toLowerCase() === type)) return false;
  }
  if (filter.ids?.length && !filter.ids.includes(String(record.id ?? ''))) return false;
  if (filter.domains?.length) {
    const wanted = filter.domains.map((d) => d.toLowerCase());
    const queue = String(record.queue ?? '').toLowerCase();
    const queueDomain = queue.slice(queue.lastIndexOf('@') + 1).split('!')[0];
    const hit =
      recipients(record).some((r) => wanted.includes(domainOf(r))) ||
      (queueDomain !== undefined && wanted.includes(queueDomain));
    if (!hit) return false;
  }
  return true;
}

function responseText(response: unknown): string {
  if (typeof response !== 'object' || response === null) return '';
  const r = response as { code?: number; enhanced_code?: Json | null; content?: string };
  const e = r.enhanced_code;
  const enhanced = e ? `${e.class}.${e.subject}.${e.detail} ` : '';
  return `${r.code ?? ''} ${enhanced}${r.content ?? ''}`.trim();
}

/**
 * One readable line per record: time, type, id, sender → recipients, the response, and where
 * it went (site, else queue). Sterna's own format, for people; `--format json` is for tools.
 */
export function formatRecordLine(record: Json): string {
  const ts =
    typeof record.timestamp === 'number'
      ? new Date(record.timestamp * 1000).toISOString().replace('.000Z', 'Z')
      : '';
  const sender = record.sender === '' ? '<>' : `<${String(record.sender ?? '')}>`;
  const to = recipients(record).join(',');
  const where = record.site
    ? ` site=${String(record.site)}`
    : record.queue
      ? ` queue=${String(record.queue)}`
      : '';
  const attempts =
    typeof record.num_attempts === 'number' && record.num_attempts > 0
      ? ` attempts=${record.num_attempts}`
      : '';
  const cls =
    typeof record.bounce_classification === 'string' &&
    record.bounce_classification !== 'Uncategorized'
      ? ` class=${record.bounce_classification}`
      : '';
  const response = responseText(record.response);
  return (
    `${ts} ${String(record.type ?? '?').padEnd(16)} ${String(record.id ?? '') || '-'} ${sender} -> ${to}` +
    `${response ? `: ${response}` : ''}${where}${attempts}${cls}`
  );
}
