export type { PolicyEvents } from './event-types.js';
export { disconnect, on, PolicyRejection, reject } from './events.js';
