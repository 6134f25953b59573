import { useEffect, useState } from 'preact/hooks';

/** A page of the app, read from the location hash. */
export type Route =
  | { readonly page: 'overview' }
  | { readonly page: 'queues' }
  | { readonly page: 'queue'; readonly name: string }
  | { readonly page: 'messages'; readonly query: string }
  | { readonly page: 'actions'; readonly params: URLSearchParams }
  | { readonly page: 'not-found'; readonly path: string };

/** Reads `#/…` into a {@link Route}. */
export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1));
  if (path === '/' || path === '') return { page: 'overview' };
  if (path === '/queues') return { page: 'queues' };
  const scheduled = /^\/queues\/scheduled\/(.+)$/.exec(path);
  if (scheduled?.[1]) {
    try {
      return { page: 'queue', name: decodeURIComponent(scheduled[1]) };
    } catch {
      return { page: 'not-found', path };
    }
  }
  if (path === '/messages') return { page: 'messages', query: params.get('q') ?? '' };
  if (path === '/actions') return { page: 'actions', params };
  return { page: 'not-found', path };
}

/** The hash of a scheduled queue's page. */
export function queueHref(name: string): string {
  return `#/queues/scheduled/${encodeURIComponent(name)}`;
}

/** The hash of a journey search. */
export function messagesHref(query: string): string {
  return query ? `#/messages?q=${encodeURIComponent(query)}` : '#/messages';
}

/** The current route, following hash changes. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
