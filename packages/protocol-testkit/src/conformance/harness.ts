import { randomUUID } from 'node:crypto';
import {
  type AnyProtocolDriver,
  type Connection,
  createMessage,
  type DeliveryTarget,
  type DriverContext,
  type EgressPathConfig,
  isDeliveryFailure,
  type Message,
  type Site,
} from '@sterna/core';
import { DriverRegistry, egressPath } from '@sterna/core/engine';
import { expect } from 'vitest';
import { testContext } from '../context.js';

/** A copy of a message as found at the destination, read without the driver's help. */
export interface DeliveredCopy {
  readonly recipients: readonly string[];
  readonly data: Uint8Array;
}

/** A fresh destination for one conformance test, built by the driver author. */
export interface DriverHarness {
  /** The `protocol` table of a destination that accepts mail, e.g. `{ maildir_path: dir }`. */
  readonly options: unknown;
  /** @default `{ queue: 'example.com', domain: 'example.com' }` */
  readonly target?: Partial<DeliveryTarget>;
  /** Egress path fields to override, e.g. `{ prohibited_hosts: [] }`. */
  readonly path?: Partial<EgressPathConfig>;
  /** Context fields to override, e.g. a resolver. */
  readonly context?: Partial<DriverContext>;
  /**
   * Addresses the destination treats in known ways: two that accept, and where the driver can
   * be made to see them, one that fails temporarily and one that fails for good.
   */
  readonly recipients: {
    readonly accept: readonly [string, string];
    readonly transient?: string;
    readonly permanent?: string;
  };
  /** Every copy the destination holds, read independently of the driver. */
  delivered(): Promise<readonly DeliveredCopy[]>;
  teardown?(): Promise<void>;
}

/** A case of options the driver's schema must refuse, and the path the error must name. */
export interface InvalidOptionsCase {
  readonly table: unknown;
  readonly path: string;
}

/** What {@link describeProtocolDriver} needs. */
export interface ConformanceOptions {
  /** @default the driver's protocol key */
  readonly name?: string;
  readonly driver: AnyProtocolDriver;
  /** Builds a fresh destination; called once per test. */
  setup(): Promise<DriverHarness>;
  readonly invalidOptions?: readonly InvalidOptionsCase[];
}

/** A harness with everything a test needs resolved. */
export interface Live {
  readonly harness: DriverHarness;
  readonly ctx: DriverContext;
  readonly path: EgressPathConfig;
  readonly target: DeliveryTarget;
  readonly registry: DriverRegistry;
  /** Resolves options and site and connects through the driver itself, not core's wrapper. */
  open(): Promise<{ connection: Connection; site: Site; options: unknown }>;
}

/** Runs `fn` against a fresh harness and always tears it down. */
export async function withHarness(
  conf: ConformanceOptions,
  fn: (live: Live) => Promise<void>,
): Promise<void> {
  const harness = await conf.setup();
  const ctx = testContext(harness.context);
  const path = egressPath(harness.path);
  const target: DeliveryTarget = { queue: 'example.com', domain: 'example.com', ...harness.target };
  const registry = new DriverRegistry([conf.driver]);
  const live: Live = {
    harness,
    ctx,
    path,
    target,
    registry,
    async open() {
      const { options } = await registry.resolve(harness.options);
      const resolution = await conf.driver.site(options, target, ctx);
      if ('failure' in resolution) {
        throw new Error(
          `site() failed for an accepting destination: ${resolution.failure.response.content}`,
        );
      }
      const connection = await conf.driver.connect(resolution.site, options, ctx, path);
      if (isDeliveryFailure(connection)) {
        throw new Error(
          `connect() failed for an accepting destination: ${connection.response.content}`,
        );
      }
      return { connection, site: resolution.site, options };
    },
  };
  try {
    await fn(live);
  } finally {
    await harness.teardown?.();
  }
}

/** A message with a unique token in its body, CRLF line endings throughout. */
export function testMessage(recipients: readonly string[], target?: DeliveryTarget): Message {
  const token = randomUUID();
  const data = [
    'From: Conformance <sender@example.org>',
    `To: ${recipients.join(', ')}`,
    `Subject: conformance ${token}`,
    `Message-ID: <${token}@sterna.test>`,
    '',
    `token ${token}`,
    '.leading dot survives',
    '',
  ].join('\r\n');
  return createMessage({
    sender: 'sender@example.org',
    recipients,
    data,
    ...(target ? { queue: target.queue } : {}),
  });
}

/** The copies holding this message (matched by its bytes). */
export async function copiesOf(harness: DriverHarness, message: Message): Promise<DeliveredCopy[]> {
  const expected = Buffer.from(message.data);
  return (await harness.delivered()).filter((copy) => Buffer.from(copy.data).equals(expected));
}

/** Asserts a value is a well-formed response. */
export function expectResponseShape(response: unknown): void {
  expect(response).toEqual({
    code: expect.any(Number),
    enhanced_code: expect.toSatisfy(
      (v: unknown) => v === null || (typeof v === 'object' && v !== null),
    ),
    content: expect.any(String),
    command: expect.toSatisfy((v: unknown) => v === null || typeof v === 'string'),
  });
}

/** A signal that never aborts. */
export const openSignal = (): AbortSignal => new AbortController().signal;
