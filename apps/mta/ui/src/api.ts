import type {
  HelloEvent,
  JourneySearch,
  Overview,
  QueuesSnapshot,
  TickEvent,
} from '../../src/dashboard/wire.js';

/**
 * Where the dashboard's endpoints are: the folder above this bundle's `assets/`, so the app
 * works under `/ui/` and behind a proxy that mounts it elsewhere.
 */
export const BASE = new URL('../', import.meta.url);

/** A URL of the dashboard's API, e.g. `apiUrl('api/overview')`. */
export function apiUrl(path: string, query?: Record<string, string | number>): string {
  const url = new URL(path, BASE);
  for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, String(value));
  return url.href;
}

/** A refused request: the status and the server's own text. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function readError(response: Response): Promise<ApiError> {
  let text = (await response.text().catch(() => '')).trim();
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') {
      const o = parsed as { message?: unknown; error?: unknown };
      if (typeof o.message === 'string') text = o.message;
      else if (typeof o.error === 'string') text = o.error;
    }
  } catch {
    // Plain text: keep it.
  }
  return new ApiError(response.status, text || `${response.status} ${response.statusText}`);
}

/** Sends a request and reads its JSON reply; throws {@link ApiError} with the server's text. */
export async function request<T>(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  options: { query?: Record<string, string | number>; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(apiUrl(path, options.query), {
      method,
      headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
      body: options.body === undefined ? null : JSON.stringify(options.body),
      credentials: 'same-origin',
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, `the daemon did not answer (${String(error)})`);
  }
  if (!response.ok) throw await readError(response);
  const text = await response.text();
  return (text ? JSON.parse(text) : {}) as T;
}

/** `GET api/overview`. */
export const getOverview = (signal?: AbortSignal) =>
  request<Overview>('GET', 'api/overview', signal ? { signal } : {});
/** `GET api/queues`. */
export const getQueues = (signal?: AbortSignal) =>
  request<QueuesSnapshot>('GET', 'api/queues', signal ? { signal } : {});
/** `GET api/journey?q=`. */
export const searchJourneys = (q: string, signal?: AbortSignal) =>
  request<JourneySearch>('GET', 'api/journey', { query: { q }, ...(signal ? { signal } : {}) });

/** What the event stream delivers to the store. */
export interface StreamHandlers {
  readonly open: (open: boolean) => void;
  readonly hello: (event: HelloEvent) => void;
  readonly tick: (event: TickEvent) => void;
  readonly queues: (event: QueuesSnapshot) => void;
}

/**
 * Opens `api/events` and keeps it open: the browser reconnects by itself after a drop (the
 * server's `retry`), and a stream the server closed for good is reopened after a pause.
 * Returns the function that closes it.
 */
export function openEventStream(handlers: StreamHandlers): () => void {
  let source: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const listen = <T>(name: string, handle: (value: T) => void) =>
    source?.addEventListener(name, (event) => {
      try {
        handle(JSON.parse((event as MessageEvent<string>).data) as T);
      } catch (error) {
        console.error(`dashboard: unreadable '${name}' event`, error);
      }
    });
  const connect = () => {
    source = new EventSource(apiUrl('api/events'));
    source.onopen = () => handlers.open(true);
    source.onerror = () => {
      handlers.open(false);
      if (source?.readyState === EventSource.CLOSED && !closed) {
        source = undefined;
        timer = setTimeout(connect, 3000);
      }
    };
    listen('hello', handlers.hello);
    listen('tick', handlers.tick);
    listen('queues', handlers.queues);
  };
  connect();
  return () => {
    closed = true;
    clearTimeout(timer);
    source?.close();
    handlers.open(false);
  };
}
