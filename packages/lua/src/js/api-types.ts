/**
 * The objects a TypeScript or JavaScript policy's handlers receive: KumoMTA's message, envelope
 * address and connection metadata objects, with camelCase method names (`msg:get_meta(k)` is
 * `msg.getMeta(k)`). The JS context implements them; `@sterna/policy` re-exports the types.
 * @module
 */
import type { MetaValue } from '@sterna/core';

/** An envelope address (`smtp_server_mail_from(sender, connMeta)`, `msg.sender()`). */
export interface EnvelopeAddress {
  /** The whole address, `user@domain`. */
  readonly email: string;
  /** The part before the last `@`. */
  readonly user: string;
  /** The part after the last `@` (as given; not lower-cased). */
  readonly domain: string;
  /** The whole address. */
  toString(): string;
}

/** KumoMTA's connection metadata object: lasts for the SMTP connection. */
export interface ConnectionMeta {
  getMeta(name: string): unknown;
  /** Sets a key; the daemon keeps it for the connection's later events. */
  setMeta(name: string, value: unknown): void;
}

/** A mailbox of an address header (`msg.fromHeader()`). */
export interface HeaderMailbox {
  readonly name: string | undefined;
  readonly address: EnvelopeAddress;
}

/** An address header parsed (`msg.getAddressHeader('To')`). */
export interface AddressHeader {
  readonly list: readonly HeaderMailbox[];
  /** The first mailbox's address (`.user`, `.domain`, `.email`), when there is one. */
  readonly user: string | undefined;
  readonly domain: string | undefined;
  readonly email: string | undefined;
  readonly name: string | undefined;
}

/** `msg.setScheduling{…}`'s table (KumoMTA's names). */
export interface SchedulingParams {
  /** Not before this time: RFC 3339 text. */
  readonly first_attempt?: string | undefined;
  /** Bounce when not delivered by this time: RFC 3339 text. */
  readonly expires?: string | undefined;
  /** Delivery window: days (`'Mon,Wed'`); `dow`, `tz`, `start` and `end` go together. */
  readonly dow?: string | undefined;
  /** Delivery window: an IANA time zone (`'America/Phoenix'`). */
  readonly tz?: string | undefined;
  /** Delivery window: from this time of day (`'09:00:00'`). */
  readonly start?: string | undefined;
  /** Delivery window: until this time of day (`'17:00:00'`). */
  readonly end?: string | undefined;
}

/** One rule of `msg.importHeaders([...])` (KumoMTA's `import_headers`). */
export interface ImportHeaderSpec {
  /** A header name, optionally with one trailing `*`. */
  readonly name: string;
  /** Which of repeated headers: @default 'last' */
  readonly match?: 'first' | 'last' | 'all' | undefined;
  /** How the header name becomes the meta key: @default 'snake_case' */
  readonly transform?: 'snake_case' | 'kebab_case' | 'camel_case' | 'pascal_case' | undefined;
  /** The meta key (not with a wildcard name). */
  readonly target?: string | undefined;
  /** Remove the matched headers. @default false */
  readonly remove?: boolean | undefined;
}

/**
 * A message as a handler sees it (KumoMTA's `Message` object). Changes made during a call are
 * carried back to the daemon when the call returns, as for a Lua policy.
 */
export interface Message {
  id(): string;
  sender(): EnvelopeAddress;
  setSender(address: string | EnvelopeAddress): void;
  recipient(): EnvelopeAddress | undefined;
  recipientList(): EnvelopeAddress[];
  setRecipient(address: string | EnvelopeAddress | readonly (string | EnvelopeAddress)[]): void;
  getMeta(key: string): MetaValue | undefined;
  setMeta(key: string, value: MetaValue | undefined): void;
  /** The message bytes (headers and body) as text (UTF-8). */
  getData(): string;
  setData(data: string | Uint8Array): void;
  getFirstNamedHeaderValue(name: string): string | undefined;
  getAllNamedHeaderValues(name: string): string[];
  getAllHeaders(): [name: string, value: string][];
  prependHeader(name: string, value: string, encode?: boolean): void;
  appendHeader(name: string, value: string, encode?: boolean): void;
  removeAllNamedHeaders(name: string): void;
  removeXHeaders(names?: readonly string[]): void;
  importXHeaders(names?: readonly string[], first?: boolean): void;
  /** KumoMTA's `import_headers`: headers into meta by rules. */
  importHeaders(specs: readonly ImportHeaderSpec[]): void;
  /**
   * KumoMTA's `check_fix_conformance(checks, fixes)` (labels joined by `|`): the error text when
   * a checked issue is found, else fixes the listed issues and returns `undefined`.
   */
  checkFixConformance(checks?: string, fixes?: string): string | undefined;
  /** KumoMTA's `import_scheduling_header`: the header's JSON through `setScheduling`. */
  importSchedulingHeader(name: string, remove?: boolean): SchedulingParams | undefined;
  /** The message bytes, exact (`getData` decodes them as UTF-8). */
  getDataBytes(): Uint8Array;
  getAddressHeader(name: string): AddressHeader | undefined;
  fromHeader(): AddressHeader | undefined;
  toHeader(): AddressHeader | undefined;
  setScheduling(params: SchedulingParams | undefined): void;
  /** Not before this time (a `Date`, epoch ms or RFC 3339 text); `undefined` for now. */
  setDue(due: Date | number | string | undefined): void;
  queueName(): string;
  numAttempts(): number;
  incrementNumAttempts(): void;
}
