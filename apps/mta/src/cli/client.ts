/** The default HTTP endpoint of a daemon (the embedded default policy's listener), as kcli's. */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8000';

/**
 * A failure the command reports as one line on standard error before exiting 1: the daemon is
 * not there, or it answered with an error (its own text is kept).
 */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** What a subcommand asks of the daemon's HTTP API. */
export interface AdminClient {
  readonly endpoint: string;
  /** GETs `path` (with `query`) and parses the JSON reply. */
  get<T = unknown>(path: string, query?: Record<string, string | string[] | undefined>): Promise<T>;
  /** Sends `body` as JSON with `method`; resolves with the parsed reply (undefined when empty). */
  send<T = unknown>(method: 'POST' | 'DELETE', path: string, body: unknown): Promise<T>;
}

/** The endpoint a command talks to: `--endpoint`, else `KUMO_KCLI_ENDPOINT`, else the default. */
export function resolveEndpoint(flag: string | undefined): string {
  const raw = flag ?? process.env.KUMO_KCLI_ENDPOINT ?? DEFAULT_ENDPOINT;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`--endpoint: '${raw}' is not a URL (expected e.g. ${DEFAULT_ENDPOINT})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError(`--endpoint: '${raw}' is not an http:// or https:// URL`);
  return raw.replace(/\/+$/, '');
}

/** An {@link AdminClient} on `fetch`, turning every failure into one {@link CliError} line. */
export function adminClient(endpoint: string): AdminClient {
  async function call(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = `${endpoint}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new CliError(unreachable(endpoint, error));
    }
    const text = await response.text();
    if (!response.ok) {
      const message = text.trim().split('\n')[0] || response.statusText;
      throw new CliError(`${method} ${path}: ${response.status} ${message}`);
    }
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new CliError(`${method} ${path}: the daemon's reply is not JSON: ${text.slice(0, 80)}`);
    }
  }
  return {
    endpoint,
    get: async (path, query) => (await call('GET', path + queryString(query))) as never,
    send: async (method, path, body) => (await call(method, path, body)) as never,
  };
}

function queryString(query: Record<string, string | string[] | undefined> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const one of [value].flat()) params.append(key, one);
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

// fetch wraps the socket error (ECONNREFUSED…) in its `cause`.
function unreachable(endpoint: string, error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (error as Error).message;
  return (
    `cannot reach the Sterna daemon at ${endpoint} (${why}): is it running with an HTTP ` +
    'listener there? Use --endpoint or KUMO_KCLI_ENDPOINT to name another'
  );
}
