import { type MetaValue, silentLogger } from '@sterna/core';
import { egressPath, type LogRecord } from '@sterna/core/engine';
import {
  type HttpListener,
  type HttpListenerDeps,
  type HttpListenerParams,
  startHttpListener,
} from '../../src/http/index.js';
import type { PolicyMessage, ReceptionPolicy } from '../../src/policy/types.js';
import type {
  AdminApi,
  AdminRule,
  BounceRequest,
  EngineStats,
  InspectedMessage,
  PathOverrideEntry,
  QueueView,
  ReadyQueueSuspension,
  ReadyQueueView,
  RebindRequest,
  ResolvedEgressPath,
  SuspendReadyQueueRequest,
  SuspendRequest,
  ViewedMessage,
} from '../../src/queue/admin-types.js';
import type { RecordContext } from '../../src/queue/types.js';
import type { AcceptedMessage } from '../../src/reception/receiver.js';

/** A receiver that keeps what it was given (the shape of `Receiver.accept`), or fails like a full spool. */
export class RecordingReceiver {
  readonly batches: {
    messages: AcceptedMessage[];
    peer: unknown;
    options?: { readonly deferredSpool?: boolean };
  }[] = [];
  failWith: Error | undefined;
  /** With `failWith`: the number of batches to take before failing. @default 0 */
  failAfter = 0;

  async accept(
    messages: readonly AcceptedMessage[],
    peer: unknown,
    options?: { readonly deferredSpool?: boolean },
  ): Promise<void> {
    if (this.failWith && this.batches.length >= this.failAfter) throw this.failWith;
    this.batches.push({ messages: [...messages], peer, options });
  }

  get messages(): AcceptedMessage[] {
    return this.batches.flatMap((b) => b.messages);
  }
}

type Handler = (...args: unknown[]) => unknown;

/** `kumo.reject(code, text)` as the Lua runtime throws it. */
export function reject(code: number, text: string): never {
  throw Object.assign(new Error(text), { code, text });
}

/**
 * A policy written in TypeScript: each event is a function. `http_message_generated` receives a
 * mutable copy of the message (meta changes are kept), like the Lua message object.
 */
export class TestPolicy implements ReceptionPolicy {
  readonly calls: { event: string; args: unknown[] }[] = [];

  constructor(
    readonly events: {
      http_message_generated?: (
        message: {
          id: string;
          recipients: readonly string[];
          meta: Record<string, MetaValue>;
          data: Uint8Array;
        },
        auth: unknown,
      ) => void;
      http_server_validate_auth_basic?: (user: string, password: string) => unknown;
    } = {},
  ) {}

  hasEvent(event: string): boolean {
    return event in this.events;
  }

  async call(event: string, args: readonly unknown[]): Promise<unknown> {
    this.calls.push({ event, args: [...args] });
    const fn = (this.events as Record<string, Handler | undefined>)[event];
    if (!fn) throw new Error(`no handler for ${event}`);
    return fn(...args);
  }

  async callWithMessage(event: string, message: PolicyMessage, args: readonly unknown[]) {
    this.calls.push({ event, args: [message, ...args] });
    const copy = { ...message, meta: { ...message.meta } as Record<string, MetaValue> };
    const fn = (this.events as Record<string, Handler | undefined>)[event];
    if (!fn) throw new Error(`no handler for ${event}`);
    const result = fn(copy, ...args);
    return { result, message: copy };
  }
}

/** Queue views a test fills in: scheduled queues with their messages, ready queues, resolved paths. */
export class TestQueueView implements QueueView {
  /** Waiting messages per scheduled queue, soonest due first. */
  readonly scheduled = new Map<string, ViewedMessage[]>();
  readonly ready: ReadyQueueView[] = [];
  /** `resolveEgressPath` calls, as `[domain, source]`. */
  readonly resolved: [string, string][] = [];
  /** What `resolveEgressPath` answers; the default names the domain's own site and default path. */
  resolve: (domain: string, source: string) => ResolvedEgressPath = (domain, source) => ({
    domain,
    source,
    queue_name: `${source}->${domain}@smtp_client`,
    site_name: domain,
    queue_config: { max_age: 604_800 },
    path_config: egressPath(),
  });

  scheduledQueues(): ReadonlyMap<string, number> {
    return new Map([...this.scheduled].map(([name, messages]) => [name, messages.length]));
  }
  scheduledMessages(queue: string, limit: number): ViewedMessage[] {
    return (this.scheduled.get(queue) ?? []).slice(0, limit);
  }
  scheduledQueueInfo(_queue: string) {
    return undefined;
  }
  readyQueues(): readonly ReadyQueueView[] {
    return this.ready;
  }
  async resolveEgressPath(domain: string, source: string): Promise<ResolvedEgressPath> {
    this.resolved.push([domain, source]);
    return this.resolve(domain, source);
  }
}

/** An admin engine kept in memory: rules with ids, one inspectable message, filled-in views. */
export class TestAdmin implements AdminApi {
  readonly bounces = new Map<string, AdminRule>();
  readonly suspensions = new Map<string, AdminRule>();
  readonly readySuspensions = new Map<string, ReadyQueueSuspension>();
  readonly requests: (BounceRequest | SuspendRequest | SuspendReadyQueueRequest)[] = [];
  readonly rebinds: RebindRequest[] = [];
  readonly view = new TestQueueView();
  #next = 1;
  queued: InspectedMessage | undefined;
  /** The clock the ready-queue suspensions' `expires` is computed from. */
  now: () => number = Date.now;

  bounce(request: BounceRequest) {
    this.requests.push(request);
    const id = `b${this.#next++}`;
    this.bounces.set(id, { ...request, id, duration: request.duration ?? 300 });
    return { id, bounced: { 'example.com': 2 }, total_bounced: 2 };
  }
  listBounces() {
    return [...this.bounces.values()];
  }
  cancelBounce(id: string) {
    return this.bounces.delete(id);
  }
  suspend(request: SuspendRequest) {
    this.requests.push(request);
    const id = `s${this.#next++}`;
    this.suspensions.set(id, { ...request, id, duration: request.duration ?? 300 });
    return { id };
  }
  listSuspensions() {
    return [...this.suspensions.values()];
  }
  cancelSuspension(id: string) {
    return this.suspensions.delete(id);
  }
  async inspectMessage(id: string, wantBody: boolean) {
    if (!this.queued || this.queued.id !== id) return undefined;
    const { data, ...message } = this.queued.message;
    return { id, message: wantBody ? { ...message, data } : message };
  }
  suspendReadyQueue(request: SuspendReadyQueueRequest) {
    this.requests.push(request);
    const id = `r${this.#next++}`;
    const duration = request.duration ?? 300;
    const expires = new Date(this.now() + duration * 1000).toISOString();
    this.readySuspensions.set(id, {
      id,
      name: request.name,
      reason: request.reason,
      duration,
      expires,
    });
    return { id };
  }
  listReadyQueueSuspensions() {
    return [...this.readySuspensions.values()];
  }
  cancelReadyQueueSuspension(id: string) {
    return this.readySuspensions.delete(id);
  }
  async rebind(request: RebindRequest) {
    this.rebinds.push(request);
    return { rebound: 0 };
  }
  readonly overrides: PathOverrideEntry[] = [];
  listPathOverrides() {
    return this.overrides;
  }
}

/** Records written to the log sink. */
export class RecordList {
  readonly records: { record: LogRecord; context?: RecordContext | undefined }[] = [];
  write(record: LogRecord, context?: RecordContext): void {
    this.records.push({ record, context });
  }
}

/** Fixed figures for `/metrics`. */
export const STATS: EngineStats = {
  counters: { received: 11, delivered: 7, transientFailures: 3, bounced: 2, expired: 1 },
  messages: 9,
  scheduled: { 'example.com': 4, 'tenant@example.org': 1 },
  ready: { 'unspecified->mx_list:127.0.0.1@smtp_client': { messages: 5, connections: 2 } },
};

/** A running listener on 127.0.0.1:0 with test parts, and its base URL. */
export interface Started {
  readonly url: string;
  readonly listener: HttpListener;
  readonly receiver: RecordingReceiver;
  readonly policy: TestPolicy;
  readonly admin: TestAdmin;
}

/** Starts a listener on a free loopback port with the test parts (each overridable). */
export async function startTestListener(
  params: Partial<HttpListenerParams> = {},
  deps: Partial<HttpListenerDeps> & { policy?: TestPolicy; admin?: TestAdmin } = {},
): Promise<Started> {
  const receiver = new RecordingReceiver();
  const policy = deps.policy ?? new TestPolicy();
  const admin = deps.admin ?? new TestAdmin();
  const listener = await startHttpListener(
    {
      listen: '127.0.0.1:0',
      hostname: 'mta.sterna.test',
      trusted_hosts: ['127.0.0.1', '::1'],
      use_tls: false,
      request_body_limit: 2 * 1024 * 1024,
      ...params,
    },
    {
      receiver,
      admin,
      stats: () => STATS,
      logs: new RecordList(),
      nodeId: '00000000-0000-4000-8000-000000000000',
      log: silentLogger,
      processMetrics: false,
      ...deps,
      policy,
    },
  );
  return {
    url: `http://${listener.address}`,
    listener,
    receiver: (deps.receiver as RecordingReceiver | undefined) ?? receiver,
    policy,
    admin,
  };
}

/** What a test request got back. */
export interface Answer {
  readonly status: number;
  readonly text: string;
  /** The parsed body, when it is JSON. */
  readonly json: unknown;
  readonly headers: Headers;
}

/**
 * Calls `url` with `method`, sending `body` as JSON (or raw bytes, e.g. gzip-compressed) when
 * given, and returns the answer with the body parsed when it is JSON.
 */
export async function callJson(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(url, {
    method,
    ...(body === undefined
      ? { headers }
      : {
          headers: { 'content-type': 'application/json', ...headers },
          body: body instanceof Uint8Array ? body : JSON.stringify(body),
        }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json, headers: response.headers };
}

/** POSTs JSON (or raw bytes, e.g. gzip-compressed) and returns the answer. */
export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return callJson('POST', url, body, headers);
}

/** The message bytes as text. */
export const textOf = (m: { data: Uint8Array }) => Buffer.from(m.data).toString('utf8');
