/**
 * Policies written in TypeScript or JavaScript: the bridge `@sterna/policy` registers handlers
 * on, the types handlers receive, and the engine a pool worker runs such a policy with
 * (`JsContext`: the module imported through tsx, handlers dispatched as the Lua dispatcher does,
 * message objects over the same message state; the `@sterna/*` import fallback).
 * @module
 */
export type {
  AddressHeader,
  ConnectionMeta,
  EnvelopeAddress,
  HeaderMailbox,
  ImportHeaderSpec,
  Message,
  SchedulingParams,
} from './api-types.js';
export {
  BRIDGE_KEY,
  type BridgeHandler,
  MULTIPLE_EVENTS,
  type PolicyBridge,
  PolicyRejection,
  policyBridge,
  rejectionOf,
} from './bridge.js';
export { newConnectionMeta } from './connection-meta.js';
export { newEnvelopeAddress } from './envelope-address.js';
export { installImportFallback } from './import-fallback.js';
export { JsContext, methodNames } from './js-context.js';
export { isJsPolicy, JS_POLICY_EXTENSIONS } from './policy-file.js';
export { newPolicyMessage } from './policy-message.js';
