import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { errorText, parseDuration } from '@sterna/core';
import { newSpoolId } from '@sterna/core/engine';
import { decorateFunction, LuaMultiReturn, LuaRawResult, type LuaThread } from 'wasmoon';
import type { z } from 'zod';
import {
  configTableKey,
  egressPathSchema,
  egressPoolSchema,
  egressSourceSchema,
  listenerDomainSchema,
} from '../config/egress-config.js';
import { queueConfigSchema } from '../config/queue-config.js';
import { parseWith } from '../config/schema-helpers.js';
import { type ContextImplementations, type MakeKind, throttleArgs } from '../host/host-calls.js';
import { fromLua, stripJsonComments, toLua } from '../shared/json-text.js';
import { pushBytes, readBytes } from '../shared/lua-bytes.js';
import { readLuaValue } from '../shared/lua-values.js';
import { sendHttp } from './http-send.js';

const MAKE_SCHEMAS = {
  queue_config: queueConfigSchema,
  egress_path: egressPathSchema,
  egress_pool: egressPoolSchema,
  egress_source: egressSourceSchema,
  listener_domain: listenerDomainSchema,
} satisfies Record<MakeKind, z.ZodType>;

// Tables `kumo.make_*` found valid (kind and exact JSON), so an equal one is not checked again;
// bounded, the set starts over when full.
const validTables = new Set<string>();
const VALID_TABLES_KEPT = 1024;

// Lua's io library reports failures as (nil, message, errno); these are the usual texts.
const ERRNO_TEXT: Record<string, readonly [string, number]> = {
  ENOENT: ['No such file or directory', 2],
  EACCES: ['Permission denied', 13],
  EISDIR: ['Is a directory', 21],
  ENOTDIR: ['Not a directory', 20],
  EEXIST: ['File exists', 17],
};

function ioFailure(error: unknown) {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const known = ERRNO_TEXT[code];
  const text = known ? known[0] : errorText(error);
  const errno = known ? known[1] : 5;
  return LuaMultiReturn.of<unknown>(undefined, text, errno);
}

/** Rethrows any error as a plain string, the way Lua error messages look. */
function plain<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  return (...args) => {
    try {
      return fn(...args);
    } catch (error) {
      throw errorText(error);
    }
  };
}

// The configuration epoch as this worker knows it: bumped by the policy's own
// kumo.bump_config_epoch() here, and by the daemon through noteConfigEpochBump().
let configEpoch = 0;

/**
 * Tells this worker's contexts that the configuration epoch moved on: `kumo.memoize` caches made
 * with `invalidate_with_epoch = true` are emptied at their next look-up.
 */
export function noteConfigEpochBump(): void {
  configEpoch++;
}

/**
 * The worker's host functions of the `kumo` module and the io/os bridges (kumo/top-level.lua,
 * serde.lua, uuid.lua, http.lua, io.lua); those answered by the daemon (print, logs,
 * configuration, DNS) are forwarded by the host table instead. Functions returning promises
 * are awaited on the Lua side.
 */
export function hostFunctions() {
  return {
    sleep: (seconds: number) =>
      new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, Number(seconds) * 1000))),
    available_parallelism: () => availableParallelism(),
    now_ms: () => performance.now(),
    duration_seconds: plain((value: unknown, what: string) => parseDuration(value as never, what)),
    config_epoch: () => configEpoch,
    note_config_epoch_bump: noteConfigEpochBump,
    validate: decorateFunction(
      plain((thread: LuaThread) => {
        const kind = readLuaValue(thread, 1) as keyof typeof MAKE_SCHEMAS;
        const table = readLuaValue(thread, 2);
        // A policy answers most queues with the same table: check each distinct one once.
        const text = configTableKey(table);
        const key = text === undefined ? undefined : `${kind}\0${text}`;
        if (key !== undefined && validTables.has(key)) return undefined;
        parseWith(MAKE_SCHEMAS[kind], table, `kumo.make_${kind}`);
        if (key !== undefined) {
          if (validTables.size >= VALID_TABLES_KEPT) validTables.clear();
          validTables.add(key);
        }
        return undefined;
      }),
      { receiveThread: true, receiveArgsQuantity: true },
    ),
    throttle_spec: plain((name: unknown, spec: unknown) => {
      throttleArgs(name, spec);
    }),
    json_encode: plain((value: unknown, pretty: boolean) =>
      JSON.stringify(fromLua(value ?? null), null, pretty ? 2 : undefined),
    ),
    json_parse: plain((text: string) => toLua(JSON.parse(stripJsonComments(String(text))))),
    uuid: (kind: string) => {
      let s: string;
      if (kind === 'v1') s = newSpoolId();
      else if (kind === 'v7') {
        // RFC 9562: 48-bit Unix milliseconds, version 7, variant 10, random rest.
        const bytes = randomBytes(16);
        bytes.writeUIntBE(Date.now(), 0, 6);
        bytes[6] = (bytes[6]! & 0x0f) | 0x70;
        bytes[8] = (bytes[8]! & 0x3f) | 0x80;
        s = bytes.toString('hex');
      } else return randomUUID();
      return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
    },
    uuid_parse: plain((text: string) => {
      const hex = String(text)
        .replace(/^urn:uuid:|[{}-]/g, '')
        .toLowerCase();
      if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error(`invalid uuid '${text}'`);
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }),
    http_send: sendHttp,
    getenv: (name: string) => process.env[String(name)],
    fs_read: decorateFunction(
      (thread: LuaThread) => {
        try {
          pushBytes(thread, readFileSync(String(thread.getValue(1))));
          return new LuaRawResult(1);
        } catch (error) {
          return ioFailure(error);
        }
      },
      { receiveThread: true, receiveArgsQuantity: true },
    ),
    fs_write: decorateFunction(
      (thread: LuaThread) => {
        const path = String(thread.getValue(1));
        const data = readBytes(thread, 2) ?? new Uint8Array();
        try {
          if (thread.getValue(3)) appendFileSync(path, data);
          else writeFileSync(path, data);
          return true;
        } catch (error) {
          return ioFailure(error);
        }
      },
      { receiveThread: true, receiveArgsQuantity: true },
    ),
  } satisfies Partial<ContextImplementations>;
}
