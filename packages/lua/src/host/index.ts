/**
 * What a Lua context needs from outside itself: the host interfaces (`RuntimeHost`, which the
 * daemon provides, and `ContextHost`, its view from inside a worker).
 * @module
 */
export type { ContextHost, LogLevel } from './context-host.js';
export type { PolicyResolver, RuntimeHost } from './runtime-host.js';
