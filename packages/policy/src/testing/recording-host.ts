/**
 * The daemon of `@sterna/policy/testing`: a host-call channel that records configuration calls
 * and logs, answers DNS from the test's own records, checks throttles with core's in-memory
 * GCRA (under the daemon's `lua-user-throttle-` keys), and refuses what it cannot answer with
 * an error naming the option that would answer it.
 * @module
 */
import { LocalThrottles } from '@sterna/core/engine';
import {
  type ConfigKind,
  type ConfigParams,
  type DaemonCalls,
  type LogLevel,
  mxTableOf,
  type PolicyBridge,
} from '@sterna/lua';
import type { MxTable } from '../services.js';

/** The host-call channel the bridge holds. */
export type BridgeHost = NonNullable<PolicyBridge['host']>;

/** An MX answer for a test: host names (most preferred first), records, or a whole table. */
export type MxAnswer =
  | readonly string[]
  | readonly { readonly exchange: string; readonly priority: number }[]
  | MxTable;

/** The DNS records a test gives; a look-up of a name not listed fails naming it. */
export interface TestDns {
  /** Domain → its MX hosts. */
  readonly mx?: Readonly<Record<string, MxAnswer>>;
  /** Name → its A and AAAA addresses (`dns.lookupAddr`). */
  readonly a?: Readonly<Record<string, readonly string[]>>;
  /** Name → its TXT records, each one string (`dns.lookupTxt`). */
  readonly txt?: Readonly<Record<string, readonly string[]>>;
  /** Address → its PTR names (`dns.lookupPtr`). */
  readonly ptr?: Readonly<Record<string, readonly string[]>>;
}

/** A daemon call answered by the test itself (`redis_query`, `classify_bounce`, …). */
export type TestDaemonCalls = {
  readonly [K in keyof DaemonCalls]?: (
    ...args: Parameters<DaemonCalls[K]>
  ) => Awaited<ReturnType<DaemonCalls[K]>> | ReturnType<DaemonCalls[K]>;
};

/** What `testPolicy` is given to answer the policy's daemon calls. */
export interface TestHostOptions {
  /** The DNS records look-ups are answered from. */
  readonly dns?: TestDns;
  /** The time throttles see, epoch ms. @default Date.now */
  readonly now?: () => number;
  /** Answers of the test's own for any daemon call (they win over the recording host's). */
  readonly calls?: TestDaemonCalls;
}

/** A configuration call the policy made: its kind and its table as the daemon gets it. */
export type ConfiguredCall = {
  [K in ConfigKind]: { readonly kind: K; readonly params: ConfigParams[K] };
}[ConfigKind];

/** A line the policy logged. */
export interface LoggedLine {
  readonly level: LogLevel | 'print';
  readonly text: string;
}

/** A task the policy spawned (`spawnTask`): recorded, not run. */
export interface SpawnedTask {
  readonly event: string;
  readonly args: unknown;
}

/** The recording host and what it recorded. */
export interface RecordingHost {
  readonly host: BridgeHost;
  readonly configured: ConfiguredCall[];
  readonly logs: LoggedLine[];
  readonly tasks: SpawnedTask[];
  /** Forgets what was recorded and every throttle's state. */
  reset(): void;
}

// The daemon's prefix for a policy throttle's key (KumoMTA's).
const POLICY_THROTTLE_PREFIX = 'lua-user-throttle-';

/** Makes a recording host answering from `options`. */
export function recordingHost(options: TestHostOptions = {}): RecordingHost {
  const configured: ConfiguredCall[] = [];
  const logs: LoggedLine[] = [];
  const tasks: SpawnedTask[] = [];
  let throttles = new LocalThrottles(options.now);
  const dns = options.dns ?? {};

  const own: TestDaemonCalls = {
    print: (text) => {
      logs.push({ level: 'print', text });
    },
    log: (level, text) => {
      logs.push({ level, text });
    },
    configure: (kind, params) => {
      configured.push({ kind, params } as ConfiguredCall);
    },
    dns_lookup_mx: (domain) => mxTable(domain, answer(dns.mx, 'mx', domain)),
    dns_lookup_addr: (name) => [...answer(dns.a, 'a', name)],
    dns_lookup_txt: (name) => [...answer(dns.txt, 'txt', name)],
    dns_lookup_ptr: (ip) => [...answer(dns.ptr, 'ptr', ip)],
    throttle_check: (name, spec) => throttles.check(`${POLICY_THROTTLE_PREFIX}${name}`, spec),
    spawn_task: (event, args) => {
      tasks.push({ event, args });
    },
    classify_bounce: () => 'Uncategorized',
  };
  const calls: TestDaemonCalls = { ...own, ...options.calls };
  const run = (name: string, args: readonly unknown[]): unknown => {
    const handler = (calls as Record<string, ((...a: unknown[]) => unknown) | undefined>)[name];
    if (handler === undefined) {
      throw new Error(`testPolicy: no answer for ${name}: give one in options.calls.${name}`);
    }
    return handler(...args);
  };
  const host: BridgeHost = {
    ask: (name, args) => new Promise((resolve) => resolve(run(name, args) as never)),
    tell: (name, args) => {
      run(name, args);
    },
  };
  return {
    host,
    configured,
    logs,
    tasks,
    reset() {
      configured.length = 0;
      logs.length = 0;
      tasks.length = 0;
      throttles = new LocalThrottles(options.now);
    },
  };
}

function answer<T>(
  records: Readonly<Record<string, T>> | undefined,
  kind: keyof TestDns,
  name: string,
): T {
  const found = records !== undefined && Object.hasOwn(records, name) ? records[name] : undefined;
  if (found === undefined) {
    throw new Error(`testPolicy: no ${kind} record for ${name} in options.dns.${kind}`);
  }
  return found;
}

/** The MX table as the daemon answers it. */
type DaemonMxTable = Awaited<ReturnType<DaemonCalls['dns_lookup_mx']>>;

// The MX table as the daemon builds it: hosts by preference then name, lower case.
function mxTable(domain: string, given: MxAnswer): DaemonMxTable {
  if (!Array.isArray(given)) return given as DaemonMxTable;
  const records = (given as readonly (string | { exchange: string; priority: number })[]).map(
    (r, i) => (typeof r === 'string' ? { exchange: r, priority: i * 10 } : r),
  );
  return mxTableOf(domain, records, true) as DaemonMxTable;
}
