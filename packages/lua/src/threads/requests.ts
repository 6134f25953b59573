/**
 * Typed request and reply between two threads. A request map names each operation with its
 * function type (`{ accept(messages: Msg[]): void; call(event: string): unknown }`); the asking
 * side gets `ask(op, ...args)` with those types, the answering side a handler per operation.
 * Everything that crosses is structured-clone data; errors cross as {@link ThreadError}.
 */

/**
 * The operations one thread may ask of another: name → function type. An interface fits
 * (`Requester<ListenerRequests>`): each of its members must be a function.
 */
// biome-ignore lint/suspicious/noExplicitAny: any function type may be an operation
export type RequestMap<M> = { readonly [K in keyof M]: (...args: any[]) => unknown };

/** The arguments of operation `K`. */
export type ArgsOf<M extends RequestMap<M>, K extends keyof M> = Parameters<M[K]>;
/** The result of operation `K`, as the asker receives it (promises unwrapped). */
export type ResultOf<M extends RequestMap<M>, K extends keyof M> = Awaited<ReturnType<M[K]>>;

/** A request on the wire. */
export interface RequestMessage {
  readonly t: 'request';
  readonly id: number;
  readonly op: string;
  readonly args: readonly unknown[];
}

/** A reply on the wire: a value, or the error the handler threw. */
export type ReplyMessage =
  | { readonly t: 'reply'; readonly id: number; readonly value: unknown }
  | { readonly t: 'reply'; readonly id: number; readonly error: ThreadError };

/**
 * An error as it crosses between threads: its text, its stable code when it had one
 * (`STERNA_*`, `ENOTFOUND`…), and the SMTP code and text of a policy's rejection.
 */
export interface ThreadError {
  readonly message: string;
  readonly code?: string | undefined;
  readonly rejection?: { readonly code: number; readonly text: string } | undefined;
}

/** An error (or anything thrown) as a {@link ThreadError}; `rejection` as the caller reads it. */
export function toThreadError(error: unknown, rejection?: ThreadError['rejection']): ThreadError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  return {
    message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(rejection ? { rejection } : {}),
  };
}

/**
 * The Error a {@link ThreadError} stands for on the asking side: its message, with `code`, and
 * a rejection's `code` and `text` (what a listener turns into its SMTP reply).
 */
export function fromThreadError(error: ThreadError): Error {
  if (error.rejection) return Object.assign(new Error(error.rejection.text), error.rejection);
  const out = new Error(error.message);
  return error.code === undefined ? out : Object.assign(out, { code: error.code });
}

/** True for a {@link ReplyMessage}. */
export function isReply(message: unknown): message is ReplyMessage {
  return (message as { t?: unknown } | null)?.t === 'reply';
}

/** True for a {@link RequestMessage}. */
export function isRequest(message: unknown): message is RequestMessage {
  return (message as { t?: unknown } | null)?.t === 'request';
}

/** The asking side of a request map: numbered requests, settled by the replies fed back. */
export class Requester<M extends RequestMap<M>> {
  private readonly pending = new Map<
    number,
    { resolve(value: unknown): void; reject(error: Error): void }
  >();
  private next = 1;

  /** @param post sends a request to the other thread (`port.postMessage`). */
  constructor(private readonly post: (message: RequestMessage) => void) {}

  /** Asks for `op`; settles with the other thread's reply. */
  ask<K extends keyof M & string>(op: K, ...args: ArgsOf<M, K>): Promise<ResultOf<M, K>> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      try {
        this.post({ t: 'request', id, op, args });
      } catch (error) {
        // Arguments that cannot be cloned fail this request, not the thread.
        this.pending.delete(id);
        reject(error);
      }
    });
  }

  /** Settles the request a reply answers (unknown ids are ignored). */
  settle(reply: ReplyMessage): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if ('error' in reply) waiter.reject(fromThreadError(reply.error));
    else waiter.resolve(reply.value);
  }

  /** Fails every request still waiting (the other thread went away). */
  failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}

/** One handler per operation of a request map, as the answering side implements them. */
export type Handlers<M extends RequestMap<M>> = {
  readonly [K in keyof M]: (...args: ArgsOf<M, K>) => ResultOf<M, K> | Promise<ResultOf<M, K>>;
};

/**
 * Answers one request with `handle(op, args)` and posts the reply. A handler's error becomes a
 * {@link ThreadError} (through `describe` when given); a value that cannot be cloned fails the
 * request with that error instead of the thread.
 */
export function answer(
  request: RequestMessage,
  handle: (op: string, args: readonly unknown[]) => unknown,
  post: (reply: ReplyMessage) => void,
  describe: (error: unknown) => ThreadError = toThreadError,
): void {
  const id = request.id;
  const reply = (message: ReplyMessage) => {
    try {
      post(message);
    } catch (error) {
      post({ t: 'reply', id, error: describe(error) });
    }
  };
  new Promise((resolve) => resolve(handle(request.op, request.args))).then(
    (value) => reply({ t: 'reply', id, value }),
    (error: unknown) => reply({ t: 'reply', id, error: describe(error) }),
  );
}

/** A `handle` function for {@link answer} from one handler per operation. */
export function byOperation<M extends RequestMap<M>>(
  handlers: Handlers<M>,
): (op: string, args: readonly unknown[]) => unknown {
  return (op, args) => {
    const handler = (handlers as Record<string, ((...a: unknown[]) => unknown) | undefined>)[op];
    if (!handler) throw new Error(`unknown request ${op}`);
    return handler(...args);
  };
}
