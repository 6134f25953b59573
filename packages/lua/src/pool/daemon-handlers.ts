import { LocalThrottles } from '@sterna/core/engine';
import type { ContextHost } from '../host/context-host.js';
import type { DaemonCalls, DaemonHandlers, RuntimeHandlers } from '../host/host-calls.js';
import type { RuntimeHost } from '../host/runtime-host.js';
import { lookupAddresses, lookupMxTable } from '../kumo/mx-table.js';
import { byOperation } from '../threads/requests.js';

// The prefix of a policy throttle's key in the store: KumoMTA's, so a policy's names never
// collide with the daemon's own.
const POLICY_THROTTLE_PREFIX = 'lua-user-throttle-';

/**
 * The answers to the daemon host calls, on the daemon's thread: the runtime's own (print,
 * logs, configuration, `kumo.dns` and `kumo.make_throttle`'s checks, from the
 * {@link RuntimeHost}'s members — a store of this runtime's own when `throttles` is not given;
 * tasks, from the `pool` that runs them), and the
 * daemon's handlers in `host.calls` (which answer the `daemonHost()` entries and may replace
 * the runtime's own). Returns `handle(op, args)` for the requests a worker posts.
 */
export function daemonHandlers(
  host: RuntimeHost,
  pool: Partial<Pick<RuntimeHandlers, 'spawn_task'>> = {},
): (op: string, args: readonly unknown[]) => unknown {
  const resolver = () => {
    if (!host.resolver) throw new Error('no DNS resolver was given to the policy runtime');
    return host.resolver;
  };
  const throttles = host.throttles ?? new LocalThrottles();
  const own: RuntimeHandlers = {
    print: (text) => {
      if (host.print) host.print(text);
      else process.stdout.write(`${text}\n`);
    },
    log: (level, text) => {
      if (host.log) host.log(level, text);
      else process.stderr.write(`[${level}] ${text}\n`);
    },
    configure: async (kind, params) => {
      if (!host.configure) throw new Error('this host does not take configuration calls');
      await host.configure(kind, params as never);
    },
    dns_lookup_mx: (name) => lookupMxTable(resolver(), name),
    dns_lookup_addr: (name) => lookupAddresses(resolver(), name),
    dns_lookup_txt: async (name) => {
      const txt = resolver();
      if (!txt.resolveTxt) throw new Error('the DNS resolver cannot look up TXT records');
      // Each record's strings are joined, as KumoMTA does.
      return (await txt.resolveTxt(name)).map((parts) => parts.join(''));
    },
    dns_lookup_ptr: (name) => {
      const ptr = resolver();
      if (!ptr.reverse) throw new Error('the DNS resolver cannot look up PTR records');
      return ptr.reverse(name);
    },
    throttle_check: (name, spec) => throttles.check(`${POLICY_THROTTLE_PREFIX}${name}`, spec),
    spawn_task: (event, args) => {
      if (!pool.spawn_task) throw new Error('tasks run only in a pool of Lua workers');
      return pool.spawn_task(event, args);
    },
  };
  const handle = byOperation<DaemonCalls>({ ...own, ...host.calls } as DaemonHandlers);
  return (op, args) => {
    if (!Object.hasOwn(own, op) && !host.calls?.[op as keyof DaemonHandlers]) {
      throw new Error(`the daemon does not answer ${op} (RuntimeHost.calls.${op} is not set)`);
    }
    return handle(op, args);
  };
}

/**
 * A {@link ContextHost} that answers on the calling thread, from the same handlers the pool
 * uses: for a context run in-process (tests, benchmarks).
 */
export function inProcessHost(host: RuntimeHost = {}): ContextHost {
  const handle = daemonHandlers(host);
  return {
    ask: (name, args) => new Promise((resolve) => resolve(handle(name, args) as never)),
    tell: (name, args) => {
      handle(name, args);
    },
  };
}
