/** Structured diagnostics a driver writes; the daemon routes them to its own logger. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Time as the engine sees it; tests may substitute their own. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** An MX record, as `node:dns` returns it. */
export interface MxRecord {
  readonly exchange: string;
  readonly priority: number;
}

/**
 * The DNS look-ups drivers may make: the subset of `node:dns`'s `promises.Resolver` they need,
 * so the daemon can hand over a resolver pointed where the policy says
 * (`kumo.dns.configure_resolver`). Errors carry `node:dns` codes (`ENOTFOUND` for NXDOMAIN,
 * `ENODATA` for no records of that type).
 */
export interface DnsResolver {
  resolveMx(name: string): Promise<MxRecord[]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

/**
 * A handle on an object the policy built (a `custom_lua` connection table): methods are called
 * by name and their results come back as plain data.
 */
export interface PolicyObject {
  has(method: string): boolean;
  call(
    method: string,
    args: readonly unknown[],
    options?: { signal?: AbortSignal },
  ): Promise<unknown>;
  /** Lets the policy runtime free the object; idempotent. */
  release(): Promise<void>;
}

/** What a driver may ask of the operator's policy. The daemon implements it. */
export interface PolicyHost {
  /** Whether the policy binds a handler to `event`. */
  hasEvent(event: string): boolean;
  /** Calls a constructor event and keeps the object it returns. */
  construct(event: string, args: readonly unknown[]): Promise<PolicyObject>;
}

/**
 * Everything a driver gets from the engine. Drivers never import the daemon: sockets and files
 * are theirs, but time, DNS, diagnostics and shutdown come from here.
 */
export interface DriverContext {
  readonly logger: Logger;
  readonly clock: Clock;
  /** Aborted when the daemon shuts down; drivers stop opening new work. */
  readonly signal: AbortSignal;
  readonly resolver: DnsResolver;
  /** This host's name (EHLO default, maildir file names). */
  readonly hostname: string;
  /** The operator's policy, where the daemon runs one. */
  readonly policy?: PolicyHost | undefined;
  /** Live session traces (`sterna trace-smtp-client`), where the daemon offers them. */
  readonly tracer?: SessionTracer | undefined;
}

/** Properties of a traced session that trace filters match on (`mx_host`, `domain`, …). */
export type TraceMeta = Readonly<Record<string, unknown>>;

/**
 * One step of an outbound session, in KumoMTA's words: `BeginSession`, `Connected`,
 * `MessageObtained` and `Closed` stand alone; `Read` is what the peer sent, `Write` what the
 * driver wrote (commands, and the message data); `Diagnostic` a note such as a TLS upgrade.
 */
export type SessionTracePayload =
  | 'BeginSession'
  | 'Connected'
  | 'MessageObtained'
  | 'Closed'
  | { readonly Read: string }
  | { readonly Write: string }
  | { readonly Diagnostic: { readonly level: string; readonly message: string } };

/**
 * Where a driver reports its sessions for live tracing. Protocol-neutral: any driver with a
 * conversation to show may use it. Cheap while nobody watches: check {@link active} before
 * building a payload.
 */
export interface SessionTracer {
  /** True while someone watches; drivers skip building payloads otherwise. */
  readonly active: boolean;
  /** A tracer whose sessions also carry `meta` (the engine adds the ready queue's names). */
  with(meta: TraceMeta): SessionTracer;
  /** Starts tracing one session (one connection attempt and what follows on it). */
  begin(meta?: TraceMeta): TracedSession;
}

/** One traced session. */
export interface TracedSession {
  /** True while someone watches (as the tracer's {@link SessionTracer.active}). */
  readonly active: boolean;
  /** Adds properties learnt as the session goes: the MX host and address, the message's. */
  update(meta: TraceMeta): void;
  /** Reports one step; dropped at once while nobody watches. */
  emit(payload: SessionTracePayload): void;
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };
