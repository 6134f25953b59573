/**
 * How `@sterna/policy` reaches the daemon: through the host the runtime (or
 * `@sterna/policy/testing`) put on the bridge, read at each call. A call with no host fails
 * naming the function; a failure the daemon reports comes back as an Error starting with the
 * function's name, as Lua's `kumo.*` errors do.
 * @module
 */
import { errorText } from '@sterna/core';
import { type DaemonCalls, policyBridge } from '@sterna/lua';

/** The name of a call the daemon answers. */
export type DaemonCallName = keyof DaemonCalls;

/** Why there is no host, per kind of call: what the caller should do instead. */
const NO_HOST = {
  configure:
    'no daemon to configure: call it from init, under sterna, or under @sterna/policy/testing',
  ask: 'no daemon to ask: call it from a handler, under sterna, or under @sterna/policy/testing',
} as const;

/** The host of this thread, or an Error naming `fn` when there is none. */
function hostFor(fn: string, kind: keyof typeof NO_HOST) {
  const host = policyBridge().host;
  if (host === undefined) throw new Error(`${fn}: ${NO_HOST[kind]}`);
  return host;
}

/**
 * Asks the daemon `name` with `args`, for the function `fn` (`'dns.lookupMx'`): its answer, or
 * an Error `<fn>: <why>` (the daemon's error as `cause`).
 */
export async function askDaemon<K extends DaemonCallName>(
  fn: string,
  name: K,
  args: Parameters<DaemonCalls[K]>,
  kind: keyof typeof NO_HOST = 'ask',
): Promise<Awaited<ReturnType<DaemonCalls[K]>>> {
  const host = hostFor(fn, kind);
  try {
    return await host.ask(name, args);
  } catch (error) {
    throw new Error(`${fn}: ${errorText(error)}`, { cause: error });
  }
}

/** Tells the daemon `name` (a one-way call: `log`); no host → an Error naming `fn`. */
export function tellDaemon<K extends DaemonCallName>(
  fn: string,
  name: K,
  args: Parameters<DaemonCalls[K]>,
): void {
  hostFor(fn, 'ask').tell(name, args);
}
