import { errorText, parseDuration } from '@sterna/core';
import type { HttpResult } from '../host/host-calls.js';
import { setOwn } from '../shared/own-key.js';

/**
 * Sends a request built by `kumo.http.build_client():…` with the worker's `fetch`. The Lua
 * side awaits the promise, so a webhook `send` blocks only its own call.
 */
export async function sendHttp(
  method: string,
  url: string,
  headers: unknown,
  body: unknown,
  auth: unknown,
  timeout: unknown,
): Promise<HttpResult> {
  const init = new Headers();
  if (Array.isArray(headers)) {
    for (const pair of headers)
      if (Array.isArray(pair)) init.append(String(pair[0]), String(pair[1]));
  }
  if (Array.isArray(auth)) {
    const token = Buffer.from(`${auth[0]}:${auth[1] ?? ''}`).toString('base64');
    init.set('Authorization', `Basic ${token}`);
  }
  const seconds = timeout === undefined || timeout === null ? 60 : parseDuration(timeout as string);
  try {
    const response = await fetch(url, {
      method,
      headers: init,
      body: typeof body === 'string' ? body : undefined,
      signal: AbortSignal.timeout(seconds * 1000),
    });
    const header_map: Record<string, string> = {};
    response.headers.forEach((value, key) => {
      setOwn(header_map, key, value);
    });
    return {
      status: response.status,
      reason: response.statusText,
      body: await response.text(),
      header_map,
    };
  } catch (error) {
    throw `kumo.http ${method} ${url}: ${errorText((error as Error).cause ?? error)}`;
  }
}
