import { errorText, type MetaValue } from '@sterna/core';
import { parseAddressList } from '../message/address-list.js';
import { parseIssues } from '../message/conformance.js';
import { parseImportSpecs } from '../message/import-headers.js';
import type { MessageSnapshot } from '../message/message-snapshot.js';
import { MessageState } from '../message/message-state.js';
import { parseScheduling } from '../message/scheduling.js';
import type {
  AddressHeader,
  EnvelopeAddress,
  HeaderMailbox,
  ImportHeaderSpec,
  Message,
  SchedulingParams,
} from './api-types.js';
import { addressText, newEnvelopeAddress } from './envelope-address.js';
import { copyOut, plainData } from './plain-data.js';

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/** Rethrows a parser's failure (some throw plain strings, as Lua errors) as an Error. */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(errorText(error));
}

function headerNames(value: unknown, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value) && value.every((n) => typeof n === 'string')) return value;
  throw new TypeError(`${what}: expected a list of header names`);
}

function headerName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${what}: the header name must be a non-empty string`);
  }
  return value;
}

function addressHeader(value: string | undefined): AddressHeader | undefined {
  if (value === undefined) return undefined;
  const list: HeaderMailbox[] = parseAddressList(value).map((m) => ({
    name: m.name ?? undefined,
    address: newEnvelopeAddress(m.address),
  }));
  const first = list[0];
  return Object.freeze({
    list,
    user: first?.address.user,
    domain: first?.address.domain,
    email: first?.address.email,
    name: first?.name,
  });
}

/**
 * KumoMTA's message object for TypeScript policies: each method does what its Lua twin does
 * (message.lua over message-functions.ts), on the same {@link MessageState}, so a change made
 * here reaches the daemon exactly as the same change made from Lua. Once the call that passed
 * the message has returned, every method throws.
 */
class PolicyMessage implements Message {
  readonly #state: MessageState;
  #open = true;

  constructor(state: MessageState) {
    this.#state = state;
  }

  /** Ends the object's life (the call that passed it returned). */
  close(): void {
    this.#open = false;
  }

  get #s(): MessageState {
    if (!this.#open) {
      throw new Error(
        'this message object is no longer valid: it belonged to a call that has returned',
      );
    }
    return this.#state;
  }

  id(): string {
    return this.#s.id;
  }

  sender(): EnvelopeAddress {
    return newEnvelopeAddress(this.#s.sender);
  }

  setSender(address: string | EnvelopeAddress): void {
    const state = this.#s;
    state.sender = addressText(address, 'setSender');
    state.changed = true;
  }

  recipient(): EnvelopeAddress | undefined {
    const first = this.#s.recipients[0];
    return first === undefined ? undefined : newEnvelopeAddress(first);
  }

  recipientList(): EnvelopeAddress[] {
    return this.#s.recipients.map(newEnvelopeAddress);
  }

  setRecipient(address: string | EnvelopeAddress | readonly (string | EnvelopeAddress)[]): void {
    const state = this.#s;
    const list = Array.isArray(address) ? address : [address];
    state.setRecipients(list.map((a) => addressText(a, 'setRecipient')));
  }

  getMeta(key: string): MetaValue | undefined {
    const meta = this.#s.meta;
    return Object.hasOwn(meta, key) ? copyOut(meta[key]) : undefined;
  }

  setMeta(key: string, value: MetaValue | undefined): void {
    const state = this.#s;
    if (typeof key !== 'string') throw new TypeError('setMeta: the key must be a string');
    const data =
      value === undefined || value === null ? undefined : plainData(value, `setMeta ${key}`);
    state.setMeta(key, data);
  }

  getData(): string {
    return utf8.decode(this.#s.data);
  }

  /** The message bytes, exact (getData decodes them as UTF-8). */
  getDataBytes(): Uint8Array {
    return this.#s.data.slice();
  }

  setData(data: string | Uint8Array): void {
    const state = this.#s;
    if (typeof data === 'string') state.data = encoder.encode(data);
    else if (data instanceof Uint8Array) state.data = data.slice();
    else throw new TypeError('setData: expected a string or a Uint8Array');
  }

  getFirstNamedHeaderValue(name: string): string | undefined {
    return this.#s.header(name);
  }

  getAllNamedHeaderValues(name: string): string[] {
    return this.#s.headers(name);
  }

  getAllHeaders(): [name: string, value: string][] {
    return this.#s.allHeaders();
  }

  prependHeader(name: string, value: string, encode?: boolean): void {
    const state = this.#s;
    state.addHeader(headerName(name, 'prependHeader'), String(value), encode === true, true);
  }

  appendHeader(name: string, value: string, encode?: boolean): void {
    const state = this.#s;
    state.addHeader(headerName(name, 'appendHeader'), String(value), encode === true, false);
  }

  removeAllNamedHeaders(name: string): void {
    const lower = String(name).toLowerCase();
    this.#s.removeHeaders((n) => n.toLowerCase() === lower);
  }

  removeXHeaders(names?: readonly string[]): void {
    const state = this.#s;
    const wanted = headerNames(names, 'removeXHeaders')?.map((n) => n.toLowerCase());
    state.removeHeaders((n) =>
      wanted ? wanted.includes(n.toLowerCase()) : n.toLowerCase().startsWith('x-'),
    );
  }

  importXHeaders(names?: readonly string[], first?: boolean): void {
    const state = this.#s;
    state.importHeaders(headerNames(names, 'importXHeaders'), first === true);
  }

  importHeaders(specs: readonly ImportHeaderSpec[]): void {
    const state = this.#s;
    try {
      state.importHeaderSpecs(parseImportSpecs(specs));
    } catch (error) {
      throw asError(error);
    }
  }

  checkFixConformance(checks?: string, fixes?: string): string | undefined {
    const state = this.#s;
    try {
      return state.checkFixConformance(parseIssues(checks, 'check'), parseIssues(fixes, 'fix'));
    } catch (error) {
      throw asError(error);
    }
  }

  getAddressHeader(name: string): AddressHeader | undefined {
    return addressHeader(this.#s.header(name));
  }

  fromHeader(): AddressHeader | undefined {
    return this.getAddressHeader('From');
  }

  toHeader(): AddressHeader | undefined {
    return this.getAddressHeader('To');
  }

  setScheduling(params: SchedulingParams | undefined): void {
    const state = this.#s;
    try {
      state.scheduling =
        params === undefined || params === null ? undefined : parseScheduling(params);
    } catch (error) {
      throw asError(error);
    }
    state.changed = true;
  }

  importSchedulingHeader(name: string, remove?: boolean): SchedulingParams | undefined {
    const state = this.#s;
    const text = state.header(name);
    if (text === undefined) return undefined;
    let params: unknown;
    try {
      params = JSON.parse(text);
    } catch (error) {
      throw new Error(`importSchedulingHeader: ${name} is not JSON: ${errorText(error)}`);
    }
    if (remove === true) this.removeAllNamedHeaders(name);
    this.setScheduling(params as SchedulingParams);
    return params as SchedulingParams;
  }

  setDue(due: Date | number | string | undefined): void {
    const state = this.#s;
    state.due = dueTime(due);
    state.changed = true;
  }

  queueName(): string {
    return this.#s.queueName();
  }

  numAttempts(): number {
    return this.#s.num_attempts;
  }

  incrementNumAttempts(): void {
    const state = this.#s;
    state.num_attempts++;
    state.changed = true;
  }

  toString(): string {
    return `Message(${this.#state.id})`;
  }
}

/** `setDue`'s argument → epoch ms, or null for "as soon as possible". */
function dueTime(due: unknown): number | null {
  if (due === undefined || due === null) return null;
  if (due instanceof Date) {
    const ms = due.getTime();
    if (Number.isNaN(ms)) throw new TypeError('setDue: the Date is invalid');
    return ms;
  }
  if (typeof due === 'number') {
    if (!Number.isFinite(due)) throw new TypeError(`setDue: ${due} is not a time`);
    return due;
  }
  if (typeof due === 'string') {
    const ms = Date.parse(due);
    if (Number.isNaN(ms))
      throw new TypeError(`setDue: ${JSON.stringify(due)} is not an ISO 8601 time`);
    return ms;
  }
  throw new TypeError(`setDue: expected a Date, epoch ms or an ISO 8601 time, got ${typeof due}`);
}

/** A message object with its state, for the context that made it. */
export interface MessageHandle {
  readonly message: Message;
  readonly state: MessageState;
  /** Makes every later method call throw. */
  close(): void;
}

/** A message object over a fresh state of `snapshot`. */
export function openMessage(snapshot: MessageSnapshot): MessageHandle {
  const state = new MessageState(snapshot);
  const message = new PolicyMessage(state);
  return { message, state, close: () => message.close() };
}

/**
 * A message object for tests of a TypeScript policy (`@sterna/policy/testing`): the same
 * implementation the pool gives handlers. `changed` tells whether a method changed it;
 * `snapshot()` is the message as it is now.
 */
export function newPolicyMessage(snapshot: MessageSnapshot): {
  readonly message: Message;
  readonly changed: boolean;
  snapshot(): MessageSnapshot;
} {
  const { message, state } = openMessage(snapshot);
  return {
    message,
    get changed() {
      return state.changed;
    },
    snapshot: () => state.snapshot(),
  };
}
