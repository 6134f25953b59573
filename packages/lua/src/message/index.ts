/**
 * The message object: snapshots that cross between threads, the state a Lua call edits,
 * byte-exact headers (folding, RFC 2047), conformance checks and fixes, scheduling.
 * @module
 */
export { type MessageTable, messageFunctions, messageIn } from './message-functions.js';
export {
  type ConnectionMetaArg,
  connectionMetaArg,
  type EnvelopeAddressArg,
  envelopeAddress,
  isMessageSnapshot,
  type MessageSnapshot,
  queueNameOf,
  snapshotOf,
} from './message-snapshot.js';
export { MessageState } from './message-state.js';

/** The Lua side of the message object and envelope addresses. */
export const MESSAGE_LUA: readonly URL[] = [new URL('./message.lua', import.meta.url)];
