import { domainOf, localPartOf, type Message, parseQueueName } from '@sterna/core';
import {
  type CompiledTemplate,
  describeReference,
  type TemplateReference,
  type TemplateVariable,
} from './template.js';

/** Where a template value comes from; it decides how a bad value fails. */
type ValueSource = 'address' | 'config';

/** The result of expanding `maildir_path` for one recipient. */
export type ExpandedPath =
  | { readonly ok: true; readonly path: string }
  | {
      readonly ok: false;
      /**
       * `permanent` when the recipient's or sender's address itself can never be stored under
       * this template (retrying cannot help); `transient` when the queue name or meta lacks a value
       * the policy asked for (the operator can fix the policy before the next attempt).
       */
      readonly kind: 'permanent' | 'transient';
      readonly reason: string;
    };

// RFC 5321 quoted local parts ("john doe"@x) are normalized to their content, as KumoMTA does.
function normalizeLocalPart(local: string): string {
  if (local.length >= 2 && local.startsWith('"') && local.endsWith('"')) {
    return local.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return local;
}

/** The template values of one delivery, computed once per message and recipient. */
function variableValue(
  name: TemplateVariable,
  message: Message,
  recipient: string,
): { value: string | undefined; source: ValueSource } {
  switch (name) {
    case 'local_part':
      return { value: normalizeLocalPart(localPartOf(recipient)), source: 'address' };
    case 'domain_part':
      return { value: domainOf(recipient), source: 'address' };
    case 'email':
      return { value: recipient, source: 'address' };
    case 'sender_local_part':
      return { value: normalizeLocalPart(localPartOf(message.sender)), source: 'address' };
    case 'sender_domain_part':
      return { value: domainOf(message.sender), source: 'address' };
    case 'sender_email':
      return { value: message.sender, source: 'address' };
    case 'queue':
      return { value: message.queue, source: 'config' };
    default: {
      const parts = parseQueueName(message.queue);
      const value =
        name === 'domain'
          ? parts.domain
          : name === 'tenant'
            ? parts.tenant
            : name === 'campaign'
              ? parts.campaign
              : parts.routingDomain;
      return { value, source: 'config' };
    }
  }
}

function metaValue(message: Message, name: string): string | undefined {
  const value = message.getMeta(name);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

const MAX_NAME_BYTES = 255;

/**
 * Why a value may not be put into a path, or undefined when it is safe. A value is one path
 * segment at most: it never contains `/` or NUL and is never empty, `.` or `..`. With that rule no
 * expansion can add a `..` segment or a separator, whatever literal text surrounds the value (a
 * segment equal to `..` would need the value to be `''`, `.` or `..` itself), so the expanded
 * path stays inside the directory the template's literal text names. A value longer than a file
 * name may be (255 bytes) is refused too.
 */
export function unsafeValueReason(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (value === '.' || value === '..') return `is ${JSON.stringify(value)}`;
  if (value.includes('/')) return 'contains "/"';
  if (value.includes('\0')) return 'contains a NUL byte';
  // No file system takes a longer name; retrying would fail the same way forever.
  if (Buffer.byteLength(value) > MAX_NAME_BYTES) return `is longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

function resolve(
  ref: TemplateReference,
  message: Message,
  recipient: string,
): { value: string | undefined; source: ValueSource } {
  if (ref.kind === 'meta') return { value: metaValue(message, ref.name), source: 'config' };
  return variableValue(ref.name, message, recipient);
}

/**
 * Expands `maildir_path` for one recipient of a message. Recipient and sender addresses are
 * attacker-controlled, so every value is checked with {@link unsafeValueReason} before it joins
 * the path.
 */
export function expandMaildirPath(
  template: CompiledTemplate,
  message: Message,
  recipient: string,
): ExpandedPath {
  let path = '';
  for (const part of template.parts) {
    if (typeof part === 'string') {
      path += part;
      continue;
    }
    const { value, source } = resolve(part, message, recipient);
    const label = describeReference(part);
    if (value === undefined) {
      const what =
        part.kind === 'meta'
          ? `meta '${part.name}' is not set to a string or number`
          : `${part.name} is not set for queue ${JSON.stringify(message.queue)}`;
      return { ok: false, kind: 'transient', reason: `maildir_path ${label}: ${what}` };
    }
    const unsafe = unsafeValueReason(value);
    if (unsafe) {
      return {
        ok: false,
        kind: source === 'address' ? 'permanent' : 'transient',
        reason: `refusing to use ${JSON.stringify(value)} as ${label} in a path: it ${unsafe}`,
      };
    }
    path += value;
  }
  return { ok: true, path };
}
