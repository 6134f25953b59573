/**
 * `@sterna/policy/extras`: KumoMTA's policy-extras data-file helpers for TypeScript policies —
 * `queue` (queues.toml), `sources` (sources.toml) and `shaping` (shaping.toml and automation) —
 * reading the same TOML and JSON files as Sterna's Lua helpers, with the same merge rules and
 * the same errors (`<helper>: <file>: <key path>: <what>`), so a policy moves from Lua to
 * TypeScript file by file.
 *
 *     import { on } from '@sterna/policy';
 *     import { queue, shaping, sources } from '@sterna/policy/extras';
 *
 *     sources.setup(['/etc/sterna/sources.toml']);
 *     const queues = queue.setup(['/etc/sterna/queues.toml']);
 *     on('smtp_server_message_received', (msg) => queues.apply(msg));
 *     const shaper = shaping.setupWithAutomation({ extra_files: ['/etc/sterna/shaping.toml'] });
 *     on('get_egress_path_config', shaper.getEgressPathConfig);
 * @packageDocumentation
 */
export type { DataFile } from './data-files.js';
export type { QueueHelper, QueueOptions } from './queue.js';
export * as queue from './queue.js';
export type {
  AutomationOptions,
  EgressPathParams,
  GetEgressPathConfig,
  Shaper,
} from './shaping.js';
export * as shaping from './shaping.js';
export type { EgressPoolParams, EgressSourceParams, SourcesHelper } from './sources.js';
export * as sources from './sources.js';
export { HelperError, type Problem } from './support.js';
