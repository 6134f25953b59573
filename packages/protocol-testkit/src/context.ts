import { type DnsResolver, type DriverContext, silentLogger, systemClock } from '@sterna/core';

// Tests must never reach the machine's resolver (it points off the machine): lookups fail
// loudly unless a test hands over a resolver aimed at its own loopback DNS server.
const noResolver: DnsResolver = {
  resolveMx: refuse,
  resolve4: refuse,
  resolve6: refuse,
};

async function refuse(name: string): Promise<never> {
  throw Object.assign(
    new Error(
      `testContext has no DNS resolver: look-up of '${name}' refused (pass one from startDnsServer)`,
    ),
    {
      code: 'EREFUSED',
    },
  );
}

/**
 * A driver context for tests: silent logger, system clock, a signal never aborted, host name
 * `sterna.test`, and a resolver that refuses every look-up unless one is given.
 */
export function testContext(overrides: Partial<DriverContext> = {}): DriverContext {
  return {
    logger: silentLogger,
    clock: systemClock,
    signal: new AbortController().signal,
    resolver: noResolver,
    hostname: 'sterna.test',
    ...overrides,
  };
}
