/**
 * Worker threads as Sterna starts them: a module run in a thread from sources (tsx) or from
 * `dist/`, with typed requests and replies, closing, and errors.
 * @module
 */
export { startModuleWorker } from './module-worker.js';
