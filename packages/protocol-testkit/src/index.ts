/**
 * @sterna/protocol-testkit: the conformance suite every Sterna protocol driver runs, and the real
 * servers it needs (an SMTP/LMTP sink and a DNS server, both on loopback).
 * @packageDocumentation
 */
export {
  type ConformanceOptions,
  type DeliveredCopy,
  type DriverHarness,
  describeProtocolDriver,
  type InvalidOptionsCase,
} from './conformance/describe.js';
export { testContext } from './context.js';
export {
  type DnsRecords,
  type DnsServer,
  type DnsServerOptions,
  startDnsServer,
} from './dns-server.js';
export {
  type NatsService,
  type RabbitMqService,
  type RedisOptions,
  type RedisService,
  startNats,
  startRabbitMq,
  startRedis,
} from './services/servers.js';
export {
  freePort,
  type LoopbackService,
  type ServiceRecipe,
  startService,
  waitForPort,
} from './services/service.js';
export {
  type SinkMessage,
  type SinkReply,
  type SmtpSink,
  type SmtpSinkOptions,
  scriptedDataReply,
  scriptedRcptReply,
  startSmtpSink,
} from './smtp-sink.js';
export { selfSignedPair, type TlsPair } from './tls.js';
