import { type Message, SternaError } from '@sterna/core';
import { ownedBytes } from '@sterna/core/engine';
import type { CallOutcome } from '../context/lua-context.js';
import {
  applyMetaChanges,
  isCoreMessage,
  isMessageSnapshot,
  type MessageSnapshot,
  snapshotOf,
} from '../message/message-snapshot.js';
import { LuaRejection, luaError } from '../shared/errors.js';

/** Core messages become snapshots (plain data that can cross into a worker). */
export function marshalArgs(args: readonly unknown[]): unknown[] {
  const one = (a: unknown): unknown => {
    const snapshot = isCoreMessage(a) ? snapshotOf(a) : isMessageSnapshot(a) ? a : undefined;
    if (!snapshot) return a;
    // A message that is a view into a larger buffer (a spool segment, a pooled Buffer) is
    // copied to its own first: posting a view clones its whole buffer.
    const data = ownedBytes(snapshot.data);
    return data === snapshot.data ? snapshot : { ...snapshot, data };
  };
  return args.map((a) => (Array.isArray(a) ? a.map(one) : one(a)));
}

/**
 * Writes the policy's meta changes back into the core messages among `args` (snapshots are
 * the caller's to apply: they come back in `messages`).
 */
export function applyBack(
  args: readonly unknown[],
  messages: readonly (MessageSnapshot | undefined)[],
): void {
  let i = 0;
  const visit = (a: unknown) => {
    if (isCoreMessage(a)) {
      const changed = messages[i++];
      if (changed) applyMetaChanges(a as Message, changed);
    } else if (isMessageSnapshot(a)) i++;
  };
  for (const a of args) {
    if (Array.isArray(a)) a.forEach(visit);
    else visit(a);
  }
}

/** The `ok` outcome, or the error its status stands for. */
export function settle(
  outcome: CallOutcome,
  label: string,
): Extract<CallOutcome, { status: 'ok' }> {
  switch (outcome.status) {
    case 'ok':
      return outcome;
    case 'reject':
      throw new LuaRejection(outcome.code, outcome.text, outcome.disconnect);
    case 'error':
      throw new SternaError('STERNA_LUA_ERROR', `${label}: ${outcome.message}`, {
        cause: outcome.traceback,
      });
    case 'timeout':
      throw luaError('STERNA_LUA_TIMEOUT', `${label} did not finish within its deadline`);
    case 'none':
      throw luaError('STERNA_LUA_NO_HANDLER', `${label} is not defined by the policy`);
    case 'gone':
      throw luaError('STERNA_LUA_CONTEXT_LOST', `${label}: the object was released`);
  }
}
