// biome-ignore lint/suspicious/noExplicitAny: a declaration may name any function type
type Fn = (...args: any[]) => unknown;

/**
 * A host call the Lua worker thread runs itself. `F` is the function as Lua calls it; with
 * `stack`, the implementation reads and pushes the Lua stack itself (wasmoon's
 * `decorateFunction` with `receiveThread`: exact bytes, several results, the argument count),
 * and `F` documents what it takes and gives.
 */
export interface ContextCall<F extends Fn, S extends boolean = boolean> {
  readonly runs: 'context';
  readonly stack: S;
  /** Type only: never set. */
  readonly type?: F;
}

/**
 * A host call forwarded to the daemon's thread and answered there. `F` is the request as the
 * daemon receives and answers it; Lua gets the answer as a promise it awaits.
 */
export interface DaemonCall<F extends Fn, A extends 'runtime' | 'host' = 'runtime' | 'host'> {
  readonly runs: 'daemon';
  /**
   * Who answers it on the daemon's thread: the policy runtime itself, from the `RuntimeHost`'s
   * `configure`, `resolver`, `print`, `log` and `throttles` (`runtime`, in
   * pool/daemon-handlers.ts), or the daemon's own handler in `RuntimeHost.calls` (`host`: what
   * only the daemon holds).
   */
  readonly answeredBy: A;
  /**
   * Posted without an answer (`print`, `log`): nothing to await, in order with the worker's
   * other messages. @default false
   */
  readonly oneWay: boolean;
  /**
   * Lua's arguments → the request's, on the worker (coercion, validation of what Lua passes
   * untyped); what it throws is the Lua error. @default the arguments as Lua passed them
   */
  readonly args?: ((...lua: never[]) => Parameters<F>) | undefined;
  /** The answer as Lua reads it (`toLua` for tables). @default as the daemon gave it */
  readonly result?: ((value: Awaited<ReturnType<F>>) => unknown) | undefined;
  /** What a failure's Lua error starts with (`kumo.dns.lookup_mx example.com`), then `: why`. */
  readonly failure?: ((...args: Parameters<F>) => string) | undefined;
  /** Type only: never set. */
  readonly type?: F;
}

/** Any entry of the declaration. */
export type HostCall = ContextCall<Fn> | DaemonCall<Fn>;

/** Declares a host call the Lua worker runs, with its arguments and results as Lua sees them. */
export function context<F extends Fn>(): ContextCall<F, false> {
  return { runs: 'context', stack: false };
}

/** Declares a host call the Lua worker runs on the Lua stack (see {@link ContextCall}). */
export function onStack<F extends Fn>(): ContextCall<F, true> {
  return { runs: 'context', stack: true };
}

/** How a daemon call's Lua arguments, answer and failure are handled on the worker. */
export type DaemonOptions<F extends Fn> = Partial<
  Pick<DaemonCall<F>, 'oneWay' | 'args' | 'result' | 'failure'>
>;

/**
 * Declares a host call the policy runtime answers on the daemon's thread from the
 * `RuntimeHost`'s members (see {@link DaemonCall}).
 */
export function daemon<F extends Fn>(options: DaemonOptions<F> = {}): DaemonCall<F, 'runtime'> {
  return { runs: 'daemon', answeredBy: 'runtime', oneWay: false, ...options };
}

/**
 * Declares a host call the daemon answers itself, with its handler in `RuntimeHost.calls`
 * (see {@link DaemonCall}): how a `kumo.*` function reaches the daemon's queues or spool.
 */
export function daemonHost<F extends Fn>(options: DaemonOptions<F> = {}): DaemonCall<F, 'host'> {
  return { runs: 'daemon', answeredBy: 'host', oneWay: false, ...options };
}
