import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { ZodType } from 'zod';
import { clientFilter, serverFilter, type TraceFilter } from '../trace/filters.js';
import type { TraceHub, TraceSubscriber } from '../trace/hub.js';
import {
  clientEventSchema,
  clientRequestSchema,
  serverEventSchema,
  serverRequestSchema,
} from '../trace/types.js';
import type { AccessHooks } from './access-hooks.js';
import { TEXT } from './error-replies.js';
import { documented } from './route-docs.js';

// A subscriber this far behind loses events rather than growing the daemon's memory (KumoMTA
// drops trace events under pressure too).
const MAX_BUFFERED = 8 * 1024 * 1024;

/** What a stream needs: its request's schema and the filter made from it. */
interface Stream {
  readonly request: ZodType<{ terse: boolean }>;
  readonly filter: (request: never) => TraceFilter;
}

function parseRequest(stream: Stream, input: unknown): { filter: TraceFilter; terse: boolean } {
  const parsed = stream.request.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid'}`);
  }
  return { filter: stream.filter(parsed.data as never), terse: parsed.data.terse };
}

function hasQuery(request: FastifyRequest): boolean {
  return Object.keys((request.query as Record<string, unknown>) ?? {}).length > 0;
}

/**
 * Serves one trace stream on a socket. The filter is KumoMTA's request, sent as the first text
 * message; Sterna also takes it as the query string (then nothing need be sent). Nothing is
 * streamed before the filter is known.
 */
function serve(
  socket: WebSocket,
  request: FastifyRequest,
  stream: Stream,
  channel: { subscribe(subscriber: TraceSubscriber<object>): () => void },
): void {
  let unsubscribe: (() => void) | undefined;
  const start = (input: unknown) => {
    const { filter, terse } = parseRequest(stream, input);
    unsubscribe?.();
    unsubscribe = channel.subscribe({
      filter,
      terse,
      send: (event) => {
        if (socket.readyState !== socket.OPEN || socket.bufferedAmount > MAX_BUFFERED) return;
        socket.send(JSON.stringify(event));
      },
    });
  };
  const refuse = (error: unknown) => {
    const text = error instanceof Error ? error.message : String(error);
    // A close reason holds at most 123 bytes.
    socket.close(1008, `bad trace request: ${text}`.slice(0, 120));
  };
  socket.on('close', () => unsubscribe?.());
  socket.on('error', () => unsubscribe?.());
  if (hasQuery(request)) {
    try {
      start(request.query);
    } catch (error) {
      refuse(error);
    }
  }
  socket.on('message', (data, isBinary) => {
    if (isBinary) return;
    try {
      start(JSON.parse(data.toString()));
    } catch (error) {
      refuse(error);
    }
  });
}

/**
 * `/api/admin/trace-smtp-server/v1` and `/api/admin/trace-smtp-client/v1`: KumoMTA's live SMTP
 * traces as WebSocket streams of JSON events, for trusted hosts only. Without a hub (a listener
 * outside a daemon) they answer 501.
 */
export async function registerTraceRoutes(
  app: FastifyInstance,
  access: AccessHooks,
  traces: TraceHub | undefined,
): Promise<void> {
  // Only with a hub: a listener without one (tests, tools) keeps the routes, answering 501.
  if (traces) await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  const routes = [
    {
      url: '/api/admin/trace-smtp-server/v1',
      summary: 'Live trace of inbound SMTP sessions (kcli trace-smtp-server)',
      stream: { request: serverRequestSchema, filter: serverFilter } as Stream,
      event: serverEventSchema,
      channel: traces?.server,
    },
    {
      url: '/api/admin/trace-smtp-client/v1',
      summary: 'Live trace of outbound SMTP sessions (kcli trace-smtp-client)',
      stream: { request: clientRequestSchema, filter: clientFilter } as Stream,
      event: clientEventSchema,
      channel: traces?.client,
    },
  ];
  for (const route of routes) {
    // A bad query string is answered before the upgrade, with a status a client can show.
    const check = async (request: FastifyRequest, reply: FastifyReply) => {
      if (!route.channel) {
        return reply.code(501).type(TEXT).send('tracing is not available on this listener');
      }
      if (!hasQuery(request)) return undefined;
      try {
        parseRequest(route.stream, request.query);
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        return reply.code(400).type(TEXT).send(`bad trace request: ${text}`);
      }
      return undefined;
    };
    const options = {
      ...documented({
        summary: route.summary,
        description:
          'A WebSocket stream: send the filter request as the first text message (or give it as the query string); each message afterwards is one JSON event.',
        tags: ['traces'],
        access: 'trusted',
        websocket: true,
        query: route.stream.request,
        body: route.stream.request,
        response: route.event,
      }),
      onRequest: access.trustedOnly,
      preValidation: check,
    };
    const channel = route.channel;
    if (channel) {
      app.get(route.url, { ...options, websocket: true }, (socket, request) =>
        serve(socket, request, route.stream, channel),
      );
    } else {
      // preValidation has answered 501 already.
      app.get(route.url, options, async (_request, reply) => reply);
    }
  }
}
