import { errorText, type MetaValue } from '@sterna/core';
import { decorateFunction, LuaRawResult, type LuaThread } from 'wasmoon';
import type { ContextImplementations } from '../host/host-calls.js';
import { fromLua, toLua } from '../shared/json-text.js';
import { pushBytes, readBytes } from '../shared/lua-bytes.js';
import { pushLuaValue } from '../shared/lua-push.js';
import { parseAddressList } from './address-list.js';
import { parseIssues } from './conformance.js';
import { parseImportSpecs } from './import-headers.js';
import type { MessageState } from './message-state.js';
import { parseDue, parseScheduling } from './scheduling.js';

/** Where the message functions find the messages of the calls in progress, by handle. */
export type MessageTable = Map<number, MessageState>;

/**
 * The state of the message whose Lua object holds handle `h`.
 * @throws a string (a plain Lua error) once the call that passed the message has returned
 */
export function messageIn(messages: MessageTable, h: unknown): MessageState {
  const state = messages.get(h as number);
  if (!state)
    throw 'this message object is no longer valid: it belonged to a call that has returned';
  return state;
}

function list(value: unknown, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'object' && Object.keys(value).length === 0) return [];
  throw `${what}: expected a list of header names`;
}

/**
 * The host functions behind the Lua message object's methods (see `prelude-message.ts`).
 * Errors are thrown as strings so Lua sees a plain message.
 */
export function messageFunctions(messages: MessageTable) {
  const get = (h: unknown) => messageIn(messages, h);
  return {
    msg_id: (h: number) => get(h).id,
    msg_sender: (h: number) => get(h).sender,
    msg_set_sender: (h: number, sender: string) => {
      const state = get(h);
      state.sender = sender;
      state.changed = true;
    },
    msg_recipients: (h: number) => get(h).recipients,
    msg_set_recipients: (h: number, recipients: unknown) => {
      get(h).setRecipients(list(recipients, 'set_recipient') ?? []);
    },
    // Pushed straight onto the stack: a log record's meta is a few hundred fields, and
    // wasmoon's generic conversion was the largest cost of a log hook.
    msg_get_meta: decorateFunction(
      (thread: LuaThread) => {
        const meta = get(thread.getValue(1)).meta;
        const key = thread.getValue(2) as string;
        if (!Object.hasOwn(meta, key)) return new LuaRawResult(0);
        pushLuaValue(thread, meta[key]);
        return new LuaRawResult(1);
      },
      { receiveThread: true, receiveArgsQuantity: true },
    ),
    msg_set_meta: (h: number, key: string, value: unknown) => {
      if (typeof key !== 'string') throw 'set_meta: the key must be a string';
      get(h).setMeta(key, fromLua(value ?? undefined) as MetaValue | undefined);
    },
    msg_get_data: decorateFunction(
      (thread: LuaThread) => {
        pushBytes(thread, get(thread.getValue(1)).data);
        return new LuaRawResult(1);
      },
      { receiveThread: true, receiveArgsQuantity: true },
    ),
    msg_set_data: decorateFunction(
      (thread: LuaThread) => {
        const bytes = readBytes(thread, 2);
        if (!bytes) throw 'set_data: expected a string';
        get(thread.getValue(1)).data = bytes;
        return undefined;
      },
      { receiveThread: true, receiveArgsQuantity: true },
    ),
    msg_header: (h: number, name: string) => get(h).header(name),
    msg_headers: (h: number, name: string) => get(h).headers(name),
    msg_all_headers: (h: number) => get(h).allHeaders(),
    msg_add_header: (
      h: number,
      name: string,
      value: unknown,
      encode: boolean,
      prepend: boolean,
    ) => {
      if (typeof name !== 'string' || name === '') throw 'header name must be a non-empty string';
      get(h).addHeader(name, String(value), encode, prepend);
    },
    msg_remove_headers: (h: number, name: string) => {
      const lower = String(name).toLowerCase();
      get(h).removeHeaders((n) => n.toLowerCase() === lower);
    },
    msg_remove_x_headers: (h: number, names: unknown) => {
      const wanted = list(names, 'remove_x_headers')?.map((n) => n.toLowerCase());
      get(h).removeHeaders((n) =>
        wanted ? wanted.includes(n.toLowerCase()) : n.toLowerCase().startsWith('x-'),
      );
    },
    msg_import_x_headers: (h: number, names: unknown, first: boolean) => {
      // KumoMTA's docs also show the flag inside the list: `{ 'x-campaign-id', true }`.
      const inList = Array.isArray(names) && names.includes(true);
      const named = Array.isArray(names) ? names.filter((n) => typeof n === 'string') : names;
      get(h).importHeaders(list(named, 'import_x_headers'), first || inList);
    },
    msg_check_fix_conformance: (h: number, checks: unknown, fixes: unknown) =>
      get(h).checkFixConformance(parseIssues(checks, 'check'), parseIssues(fixes, 'fix')),
    msg_set_scheduling: (h: number, params: unknown) => {
      const state = get(h);
      try {
        state.scheduling =
          params === null || params === undefined ? undefined : parseScheduling(fromLua(params));
      } catch (error) {
        throw errorText(error);
      }
      state.changed = true;
    },
    msg_set_due: (h: number, due: unknown) => {
      const state = get(h);
      try {
        state.due = parseDue(due);
      } catch (error) {
        throw errorText(error);
      }
      state.changed = true;
    },
    // throttle:delay_message_if_throttled(msg): due now + the delay, without jitter (KumoMTA's
    // choice: a throttle's delays should keep the flow smooth).
    msg_delay_by: (h: number, seconds: number) => {
      const state = get(h);
      state.due = Date.now() + Math.ceil(Math.max(0, Number(seconds) * 1000));
      state.changed = true;
    },
    msg_header_json: (h: number, name: string, remove: boolean) => {
      const state = get(h);
      const text = state.header(name);
      if (text === undefined) return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw `import_scheduling_header: ${name} is not JSON: ${errorText(error)}`;
      }
      if (remove) {
        const lower = name.toLowerCase();
        state.removeHeaders((n) => n.toLowerCase() === lower);
      }
      return toLua(parsed);
    },
    msg_address_header: (h: number, name: string) => {
      const value = get(h).header(name);
      return value === undefined ? undefined : toLua(parseAddressList(value));
    },
    msg_import_headers: (h: number, specs: unknown) => {
      const state = get(h);
      try {
        state.importHeaderSpecs(parseImportSpecs(fromLua(specs)));
      } catch (error) {
        throw errorText(error);
      }
    },
    msg_queue_name: (h: number) => get(h).queueName(),
    msg_num_attempts: (h: number) => get(h).num_attempts,
    msg_increment_num_attempts: (h: number) => {
      const state = get(h);
      state.num_attempts++;
      state.changed = true;
    },
  } satisfies Partial<ContextImplementations>;
}
