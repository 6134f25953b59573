/**
 * Worker threads as Sterna runs them (the Lua contexts and the SMTP listener thread): a module
 * started in a thread from sources (tsx) or `dist/`, typed request and reply, closing, and
 * errors as data. Published as `@sterna/lua/threads`; it loads nothing of the Lua runtime.
 * @module
 */
export { type ClosedMessage, type CloseMessage, closeThread, onCloseRequest } from './close.js';
export { startModuleWorker } from './module-worker.js';
export {
  type ArgsOf,
  answer,
  byOperation,
  fromThreadError,
  type Handlers,
  isReply,
  isRequest,
  type ReplyMessage,
  Requester,
  type RequestMap,
  type RequestMessage,
  type ResultOf,
  type ThreadError,
  toThreadError,
} from './requests.js';
