import type { Journey, JourneyEvent, MessageLocation } from './wire.js';

/** A log record as read back from a segment: KumoMTA's JSON, trusted only as far as checked. */
export type RawRecord = Readonly<Record<string, unknown>>;

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The recipients of a record (`recipient` is a string, or an array for several). */
export function recordRecipients(record: RawRecord): string[] {
  const r = record.recipient;
  if (typeof r === 'string') return [r];
  return Array.isArray(r) ? r.filter((x): x is string => typeof x === 'string') : [];
}

/** True when the record's sender or one of its recipients is `address` (case-insensitive). */
export function recordMentions(record: RawRecord, address: string): boolean {
  const want = address.toLowerCase();
  if (str(record.sender).toLowerCase() === want) return true;
  return recordRecipients(record).some((r) => r.toLowerCase() === want);
}

/** One record as a journey event. */
export function journeyEvent(record: RawRecord): JourneyEvent {
  const response = (record.response ?? {}) as Record<string, unknown>;
  const enhanced = response.enhanced_code as Record<string, unknown> | null | undefined;
  const peer = record.peer_address as Record<string, unknown> | null | undefined;
  const recipient = record.recipient;
  return {
    type: str(record.type, 'Unknown'),
    time: Math.round(num(record.timestamp) * 1000),
    recipient: Array.isArray(recipient)
      ? recordRecipients(record)
      : typeof recipient === 'string'
        ? recipient
        : [],
    queue: str(record.queue),
    site: str(record.site),
    num_attempts: num(record.num_attempts),
    response: {
      code: num(response.code),
      enhanced_code:
        enhanced && typeof enhanced === 'object'
          ? {
              class: num(enhanced.class),
              subject: num(enhanced.subject),
              detail: num(enhanced.detail),
            }
          : null,
      content: str(response.content),
    },
    peer_address:
      peer && typeof peer === 'object' ? { name: str(peer.name), addr: str(peer.addr) } : null,
    egress_pool: strOrNull(record.egress_pool),
    egress_source: strOrNull(record.egress_source),
    bounce_classification: str(record.bounce_classification, 'Uncategorized'),
    reception_protocol: strOrNull(record.reception_protocol),
    delivery_protocol: strOrNull(record.delivery_protocol),
  };
}

/** Final record types: the message is gone once one of these is written for its last recipient. */
const FINAL: Readonly<Record<string, Journey['outcome']>> = {
  Delivery: 'delivered',
  Bounce: 'bounced',
  AdminBounce: 'bounced',
  Expiration: 'expired',
};

/**
 * The outcome of a message: queued while the engine holds it, else what its last final record
 * says (delivered, bounced, expired), else unknown (the logs hold no final record, or were cut).
 */
export function journeyOutcome(events: readonly JourneyEvent[], held: boolean): Journey['outcome'] {
  if (held) return 'queued';
  for (let i = events.length - 1; i >= 0; i--) {
    const outcome = FINAL[events[i]!.type];
    if (outcome) return outcome;
  }
  return 'unknown';
}

/** What the engine says of one message, for {@link assembleJourneys}. */
export interface EngineMessage {
  readonly sender: string;
  readonly recipients: readonly string[];
  readonly now: MessageLocation;
}

const receptionFirst = (e: JourneyEvent) => (e.type === 'Reception' ? 0 : 1);

/**
 * Groups records by message id into journeys: events oldest first, sender and recipients from
 * the engine when it holds the message (else from the records), the outcome from both. Ids the
 * engine holds without a record are journeys too. Newest first (by the last event, or the due
 * time), at most `limit`.
 */
export function assembleJourneys(
  records: Iterable<RawRecord>,
  engine: ReadonlyMap<string, EngineMessage>,
  limit = 50,
): Journey[] {
  const byId = new Map<string, RawRecord[]>();
  for (const record of records) {
    const id = str(record.id);
    if (id === '') continue;
    const list = byId.get(id);
    if (list) list.push(record);
    else byId.set(id, [record]);
  }
  for (const id of engine.keys()) if (!byId.has(id)) byId.set(id, []);
  const journeys: { journey: Journey; latest: number }[] = [];
  for (const [id, list] of byId) {
    // Stable: records of one second keep the order they were written in, a Reception first.
    const events = list
      .map(journeyEvent)
      .sort((a, b) => a.time - b.time || receptionFirst(a) - receptionFirst(b));
    const held = engine.get(id);
    const first = list.find((r) => r.type === 'Reception') ?? list[0];
    const recipients = new Set<string>();
    for (const r of list) for (const rcpt of recordRecipients(r)) recipients.add(rcpt);
    const journey: Journey = {
      id,
      sender: held?.sender ?? (first ? str(first.sender) : ''),
      recipients: held ? [...held.recipients] : [...recipients],
      events,
      outcome: journeyOutcome(events, held !== undefined),
      now: held?.now ?? null,
    };
    const latest = events.at(-1)?.time ?? held?.now.due ?? 0;
    journeys.push({ journey, latest });
  }
  return journeys
    .sort((a, b) => b.latest - a.latest || a.journey.id.localeCompare(b.journey.id))
    .slice(0, limit)
    .map((j) => j.journey);
}
