import net from 'node:net';
import {
  type Connection,
  createMessage,
  type DeliveryFailure,
  type DeliveryTarget,
  type DriverContext,
  type EgressPathConfig,
  type EgressSource,
  isDeliveryFailure,
  type Message,
  type Site,
} from '@sterna/core';
import { egressPath } from '@sterna/core/engine';
import {
  type SmtpSink,
  type SmtpSinkOptions,
  startSmtpSink,
  testContext,
} from '@sterna/protocol-testkit';
import { afterEach } from 'vitest';
import { type SmtpOptions, smtpDriver } from '../src/index.js';

/** Things a test started, closed after it whatever happens. */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Registers a clean-up for the end of the current test. */
export function later(fn: () => Promise<unknown> | unknown): void {
  cleanups.push(fn);
}

/** A testkit sink closed after the test. */
export async function sink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const s = await startSmtpSink(options);
  later(() => s.close());
  return s;
}

/** A port nothing listens on (bound, then released) at `host`. */
export async function closedPort(host = '127.0.0.9'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Egress path for loopback tests: loopback allowed, TLS not verified, short timeouts. */
export function loopbackPath(overrides: Partial<EgressPathConfig> = {}): EgressPathConfig {
  return egressPath({
    prohibited_hosts: [],
    enable_tls: 'OpportunisticInsecure',
    connect_timeout: 5,
    banner_timeout: 5,
    ehlo_timeout: 5,
    mail_from_timeout: 5,
    rcpt_to_timeout: 5,
    data_timeout: 5,
    data_dot_timeout: 5,
    ...overrides,
  });
}

/** Validates a protocol table through the driver's schema. */
export function options(table: unknown): SmtpOptions {
  const result = smtpDriver.options['~standard'].validate(table);
  if (result instanceof Promise) throw new Error('schema is async');
  if (result.issues) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

/** Names the site or fails the test. */
export async function siteFor(
  table: unknown,
  target: Partial<DeliveryTarget> = {},
  ctx: DriverContext = testContext(),
): Promise<Site> {
  const resolution = await smtpDriver.site(
    options(table),
    { queue: 'example.com', domain: 'example.com', ...target },
    ctx,
  );
  if ('failure' in resolution)
    throw new Error(`site failed: ${resolution.failure.response.content}`);
  return resolution.site;
}

/** Connects through the driver; the connection is closed after the test. */
export async function connect(
  table: unknown,
  path: EgressPathConfig,
  target: Partial<DeliveryTarget> = {},
  ctx: DriverContext = testContext(),
  source?: EgressSource,
): Promise<Connection | DeliveryFailure> {
  const site = await siteFor(table, target, ctx);
  const result = await smtpDriver.connect(site, options(table), ctx, path, source);
  if (!isDeliveryFailure(result)) later(() => result.close());
  return result;
}

/** Connects or fails the test. */
export async function mustConnect(
  table: unknown,
  path: EgressPathConfig,
  target: Partial<DeliveryTarget> = {},
  ctx: DriverContext = testContext(),
  source?: EgressSource,
): Promise<Connection> {
  const result = await connect(table, path, target, ctx, source);
  if (isDeliveryFailure(result)) throw new Error(`connect failed: ${result.response.content}`);
  return result;
}

let serial = 0;
/** A small CRLF message with a unique subject. */
export function message(recipients: readonly string[], body = 'hello'): Message {
  serial++;
  return createMessage({
    sender: 'sender@example.org',
    recipients,
    data: `From: <sender@example.org>\r\nSubject: test ${serial}\r\n\r\n${body}\r\n`,
  });
}

/** A signal never aborted. */
export const signal = (): AbortSignal => new AbortController().signal;

/** `mx_list` for a sink: `['127.0.0.1:PORT']`. */
export const listFor = (s: SmtpSink): { smtp: { mx_list: string[] } } => ({
  smtp: { mx_list: [`${s.host}:${s.port}`] },
});
