/**
 * @sterna/protocol-lua: the `custom_lua` protocol driver — delivery written in the operator's
 * KumoMTA Lua policy, the way webhooks and message-bus publishing are built.
 * @packageDocumentation
 */
export { customLuaDriver, customLuaDriver as default } from './driver.js';
export { type CustomLuaOptions, customLuaOptionsSchema, PREDEFINED_EVENTS } from './options.js';
export { outcomesFor, type SendVerdict, verdictOf } from './outcomes.js';
