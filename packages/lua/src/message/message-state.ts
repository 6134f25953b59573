import type { MetaValue } from '@sterna/core';
import { setOwn } from '../shared/own-key.js';
import {
  applyFixes,
  CONFORMANCE_LABELS,
  type ConformanceIssue,
  findIssues,
} from './conformance.js';
import {
  decodeFieldValue,
  type HeaderBlock,
  makeField,
  parseHeaderBlock,
  type RawHeaderField,
  sameName,
  serializeHeaderBlock,
} from './header-block.js';
import { type ImportSpec, metaKey, specMatches } from './import-headers.js';
import { type MessageSnapshot, queueNameOf } from './message-snapshot.js';
import type { Scheduling } from './scheduling.js';

const ROUTING_KEYS = new Set(['queue', 'tenant', 'campaign', 'routing_domain']);

/**
 * A message while a Lua call works on it, inside the worker: the snapshot's fields, made
 * mutable, with the header operations of KumoMTA's message object. `changed` tells whether
 * a new snapshot must go back to the daemon.
 */
export class MessageState {
  readonly id: string;
  sender: string;
  recipients: string[];
  meta: Record<string, MetaValue>;
  num_attempts: number;
  changed = false;
  /** Set when something the queue name derives from changed. */
  private routingChanged = false;
  private bytes: Uint8Array;
  private block: HeaderBlock | undefined;
  private readonly queue: string | undefined;
  private readonly created: number | undefined;
  scheduling: Scheduling | undefined;
  due: number | null | undefined;

  constructor(snapshot: MessageSnapshot) {
    this.id = snapshot.id;
    this.sender = snapshot.sender;
    this.recipients = [...snapshot.recipients];
    this.meta = { ...snapshot.meta };
    this.bytes = snapshot.data;
    this.queue = snapshot.queue;
    this.num_attempts = snapshot.num_attempts ?? 0;
    this.created = snapshot.created;
    this.scheduling = snapshot.scheduling;
    this.due = snapshot.due;
  }

  /** The current bytes (headers re-serialized if they were edited). */
  get data(): Uint8Array {
    return this.bytes;
  }

  set data(value: Uint8Array) {
    this.bytes = value;
    this.block = undefined;
    this.changed = true;
  }

  setMeta(key: string, value: MetaValue | undefined): void {
    if (value === undefined || value === null) delete this.meta[key];
    else setOwn(this.meta as Record<string, unknown>, key, value);
    if (ROUTING_KEYS.has(key)) this.routingChanged = true;
    this.changed = true;
  }

  setRecipients(recipients: string[]): void {
    this.recipients = recipients;
    this.routingChanged = true;
    this.changed = true;
  }

  queueName(): string {
    if (this.queue !== undefined && !this.routingChanged) return this.queue;
    return queueNameOf(this);
  }

  header(name: string): string | undefined {
    const field = this.headerBlock().fields.find((f) => sameName(f.name, name));
    return field && decodeFieldValue(field);
  }

  headers(name: string): string[] {
    return this.headerBlock()
      .fields.filter((f) => sameName(f.name, name))
      .map(decodeFieldValue);
  }

  allHeaders(): [string, string][] {
    return this.headerBlock().fields.map((f) => [f.name, decodeFieldValue(f)]);
  }

  addHeader(name: string, value: string, encode: boolean, prepend: boolean): void {
    const block = this.headerBlock();
    const field = makeField(name, value, encode, block.eol);
    if (prepend) block.fields.unshift(field);
    else block.fields.push(field);
    this.commit(block);
  }

  /** Prepends a complete header field (`Name: value\r\n`, folding included), as bytes. */
  prependRaw(field: string): void {
    const block = this.headerBlock();
    const colon = field.indexOf(':');
    block.fields.unshift({ name: field.slice(0, colon), raw: field });
    this.commit(block);
  }

  removeHeaders(match: (name: string) => boolean): void {
    const block = this.headerBlock();
    const kept = block.fields.filter((f) => !match(f.name));
    if (kept.length === block.fields.length) return;
    this.commit({ ...block, fields: kept });
  }

  /**
   * Copies X- headers (or the named ones) into meta: `X-Campaign-ID` → `x_campaign_id`. Of
   * repeated headers the bottom-most wins, or the top-most with `first`.
   */
  importHeaders(names: readonly string[] | undefined, first = false): void {
    const wanted = names?.map((n) => n.toLowerCase());
    const done = new Set<string>();
    for (const f of this.headerBlock().fields) {
      const lower = f.name.toLowerCase();
      if (wanted ? !wanted.includes(lower) : !lower.startsWith('x-')) continue;
      const key = lower.replaceAll('-', '_');
      if (first && done.has(key)) continue;
      done.add(key);
      this.setMeta(key, decodeFieldValue(f));
    }
  }

  /**
   * KumoMTA's `import_headers`: each header goes to the first spec matching it; values are
   * captured (first, last or all) under the spec's key, and matched headers optionally removed.
   */
  importHeaderSpecs(specs: readonly ImportSpec[]): void {
    const captured = new Map<string, { spec: ImportSpec; values: string[] }>();
    const removed = new Set<RawHeaderField>();
    for (const f of this.headerBlock().fields) {
      const spec = specs.find((s) => specMatches(s, f.name));
      if (!spec) continue;
      const key = spec.target ?? metaKey(f.name.trim(), spec.transform);
      const entry = captured.get(key) ?? { spec, values: [] };
      entry.values.push(decodeFieldValue(f));
      captured.set(key, entry);
      if (spec.remove) removed.add(f);
    }
    for (const [key, { spec, values }] of captured) {
      if (spec.match === 'all') this.setMeta(key, values);
      else this.setMeta(key, (spec.match === 'first' ? values[0] : values[values.length - 1])!);
    }
    if (removed.size > 0) {
      const block = this.headerBlock();
      this.commit({ ...block, fields: block.fields.filter((f) => !removed.has(f)) });
    }
  }

  /**
   * KumoMTA's `check_fix_conformance`: the error text when an issue in `checks` is found,
   * else the issues in `fixes` are fixed (those Sterna can fix) and undefined is returned.
   */
  checkFixConformance(checks: ReadonlySet<ConformanceIssue>, fixes: ReadonlySet<ConformanceIssue>) {
    const found = findIssues(this.bytes);
    const failed = CONFORMANCE_LABELS.filter((l) => found.has(l) && checks.has(l));
    if (failed.length > 0) return `Message has conformance issues: ${failed.join('|')}`;
    const fix = new Set(CONFORMANCE_LABELS.filter((l) => found.has(l) && fixes.has(l)));
    if (fix.size > 0) this.data = applyFixes(this.bytes, fix);
    return undefined;
  }

  snapshot(): MessageSnapshot {
    return {
      id: this.id,
      sender: this.sender,
      recipients: this.recipients,
      meta: this.meta,
      data: this.bytes,
      queue: this.queueName(),
      num_attempts: this.num_attempts,
      created: this.created,
      ...(this.scheduling === undefined ? {} : { scheduling: this.scheduling }),
      ...(this.due === undefined ? {} : { due: this.due }),
    };
  }

  private headerBlock(): HeaderBlock {
    this.block ??= parseHeaderBlock(this.bytes);
    return this.block;
  }

  private commit(block: HeaderBlock): void {
    this.bytes = serializeHeaderBlock(block);
    this.block = block;
    this.changed = true;
  }
}
