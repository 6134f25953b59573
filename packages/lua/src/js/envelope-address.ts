import type { EnvelopeAddress } from './api-types.js';

/** KumoMTA's `EnvelopeAddress`: the address split at its last `@`. */
class Address implements EnvelopeAddress {
  readonly user: string;
  readonly domain: string;

  constructor(readonly email: string) {
    const at = email.lastIndexOf('@');
    this.user = at < 0 ? email : email.slice(0, at);
    this.domain = at < 0 ? '' : email.slice(at + 1);
    Object.freeze(this);
  }

  toString(): string {
    return this.email;
  }

  toJSON(): string {
    return this.email;
  }
}

/**
 * An envelope address as a TypeScript policy receives it (`smtp_server_mail_from(sender, …)`,
 * `msg.sender()`): `email`, `user`, `domain` and `toString()`.
 */
export function newEnvelopeAddress(email: string): EnvelopeAddress {
  if (typeof email !== 'string') {
    throw new TypeError(`newEnvelopeAddress: expected an address string, got ${typeof email}`);
  }
  return new Address(email);
}

/**
 * The text of an address a policy passes (`msg.setSender(a)`): a string or anything with a
 * string `email` (an {@link EnvelopeAddress}).
 * @throws TypeError naming `what` for anything else
 */
export function addressText(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const email = (value as { email?: unknown }).email;
    if (typeof email === 'string') return email;
  }
  const got = value === null ? 'null' : typeof value;
  throw new TypeError(`${what}: expected an address string or an EnvelopeAddress, got ${got}`);
}
