/**
 * The objects a handler receives, made for a unit test: a message, a connection's metadata and
 * an envelope address — the same implementations the daemon's workers give handlers, so what a
 * test sees a handler do is what it does under `sterna`.
 * @module
 */
import { newSpoolId } from '@sterna/core/engine';
import {
  type ConnectionMeta,
  type EnvelopeAddress,
  type Message,
  type MessageSnapshot,
  newConnectionMeta,
  newEnvelopeAddress,
  newPolicyMessage,
} from '@sterna/lua';

/** What {@link testMessage} makes a message from. */
export interface TestMessageInit {
  /** The envelope sender. */
  readonly sender: string;
  /** The envelope recipients (one is the usual case: the daemon splits per recipient). */
  readonly recipients: string | readonly string[];
  /**
   * The headers, in order, when `data` is not given: `[name, value]` pairs or an object.
   * @default a Subject header
   */
  readonly headers?: readonly (readonly [string, string])[] | Readonly<Record<string, string>>;
  /** The body, when `data` is not given. @default 'Hello.' */
  readonly body?: string;
  /** The whole message (headers, blank line, body); line ends become CRLF. */
  readonly data?: string | Uint8Array;
  /** The message's meta (`getMeta`). */
  readonly meta?: Readonly<Record<string, unknown>>;
  /** The message id. @default a new spool id */
  readonly id?: string;
  /** The scheduled queue name `queueName()` returns. @default from the meta and recipient */
  readonly queue?: string;
  /** `numAttempts()`. @default 0 */
  readonly numAttempts?: number;
}

/**
 * A message for a handler under test (`smtp_server_message_received(msg, …)`): read it after
 * the call to see what the handler changed (`msg.getMeta('tenant')`, `msg.getData()`, …).
 */
export function testMessage(init: TestMessageInit): Message {
  if (typeof init !== 'object' || init === null || typeof init.sender !== 'string') {
    throw new TypeError('testMessage: expected { sender, recipients, … } with a sender address');
  }
  const recipients = typeof init.recipients === 'string' ? [init.recipients] : init.recipients;
  if (!Array.isArray(recipients) || recipients.some((r) => typeof r !== 'string')) {
    throw new TypeError('testMessage: recipients must be an address or a list of addresses');
  }
  const made = newPolicyMessage({
    id: init.id ?? newSpoolId(),
    sender: init.sender,
    recipients: [...recipients],
    meta: { ...(init.meta ?? {}) } as MessageSnapshot['meta'],
    data: messageBytes(init),
    queue: init.queue,
    num_attempts: init.numAttempts ?? 0,
  });
  madeMessages.set(made.message, made);
  return made.message;
}

// The state behind each test message, for messageSnapshot.
const madeMessages = new WeakMap<
  Message,
  { readonly changed: boolean; snapshot(): MessageSnapshot }
>();

/**
 * A test message as the daemon would get it back after the call: envelope, meta, data, and
 * what the message object does not read back (`due` after `setDue` or
 * `throttle.delayMessageIfThrottled`, `scheduling`), with `changed` telling whether any
 * method changed it.
 *
 * @throws TypeError for a message not made by {@link testMessage}.
 */
export function messageSnapshot(message: Message): MessageSnapshot & { readonly changed: boolean } {
  const made = madeMessages.get(message);
  if (made === undefined) {
    throw new TypeError('messageSnapshot: not a message made by testMessage');
  }
  return { ...made.snapshot(), changed: made.changed };
}

/**
 * A connection's metadata for a handler under test (`smtp_server_mail_from(sender, connMeta)`):
 * `received_from`, `received_via`, `authn_id`… as the test gives them.
 */
export function testConnectionMeta(meta: Readonly<Record<string, unknown>> = {}): ConnectionMeta {
  return newConnectionMeta({ ...meta }).meta;
}

/** An envelope address for a handler under test (`smtp_server_rcpt_to(recipient, …)`). */
export function testAddress(email: string): EnvelopeAddress {
  return newEnvelopeAddress(email);
}

// The message bytes: `data` with CRLF line ends, or headers + blank line + body.
function messageBytes(init: TestMessageInit): Uint8Array {
  if (init.data instanceof Uint8Array) return init.data;
  if (typeof init.data === 'string') return Buffer.from(crlf(init.data));
  const headers = Array.isArray(init.headers)
    ? (init.headers as readonly (readonly [string, string])[])
    : Object.entries(init.headers ?? { Subject: 'Test' });
  const head = headers.map(([name, value]) => `${name}: ${value}\r\n`).join('');
  const body = crlf(init.body ?? 'Hello.');
  return Buffer.from(`${head}\r\n${body}${body.endsWith('\r\n') ? '' : '\r\n'}`);
}

const crlf = (text: string) => text.replace(/\r?\n/g, '\r\n');
