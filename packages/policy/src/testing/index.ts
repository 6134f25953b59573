/**
 * `@sterna/policy/testing`: unit tests of a TypeScript policy with no daemon. `testPolicy`
 * imports the policy under a recording host and calls its events as the daemon does;
 * `testMessage`, `testConnectionMeta` and `testAddress` make the objects handlers receive,
 * with the implementations the daemon's workers use.
 *
 * ```ts
 * const policy = await testPolicy(() => import('./policy.ts'), { dns: { mx: { 'example.com': ['mx.example.com'] } } });
 * await policy.init();
 * expect(policy.configured[0]).toMatchObject({ kind: 'esmtp_listener' });
 * const msg = testMessage({ sender: 'a@example.org', recipients: 'b@example.com' });
 * await policy.call('smtp_server_message_received', msg, testConnectionMeta());
 * expect(msg.getMeta('tenant')).toBe('acme');
 * ```
 * @module
 */
export type {
  BridgeHost,
  ConfiguredCall,
  LoggedLine,
  MxAnswer,
  SpawnedTask,
  TestDaemonCalls,
  TestDns,
  TestHostOptions,
} from './recording-host.js';
export {
  messageSnapshot,
  type TestMessageInit,
  testAddress,
  testConnectionMeta,
  testMessage,
} from './test-objects.js';
export {
  type EventAnswer,
  type TestedPolicy,
  type TestPolicyOptions,
  testPolicy,
} from './test-policy.js';
