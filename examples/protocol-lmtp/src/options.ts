import { isAbsolute } from 'node:path';
import { z } from 'zod';

/**
 * The `protocol` table of an LMTP queue: `{ lmtp = { host = '127.0.0.1', port = 24 } }` for
 * TCP, or `{ lmtp = { path = '/run/dovecot/lmtp' } }` for a unix socket. Exactly one of `host`
 * and `path`.
 */
export const lmtpOptionsSchema = z
  .object({
    lmtp: z
      .object({
        /** The LMTP server's host name or address (TCP). */
        host: z.string().min(1).optional(),
        /** The TCP port. @default 24 (the port RFC 2033 suggests) */
        port: z.number().int().min(1).max(65535).default(24),
        /** A unix socket to connect to instead of TCP, such as Dovecot's `/run/dovecot/lmtp`. */
        path: z
          .string()
          .refine((p) => isAbsolute(p), 'must be an absolute path to a unix socket')
          .optional(),
        /** The name sent with `LHLO`. @default the daemon's host name */
        lhlo_name: z.string().min(1).optional(),
      })
      .strict()
      .refine((o) => (o.host === undefined) !== (o.path === undefined), {
        message: 'give either host (and port) for TCP or path for a unix socket, not both',
      }),
  })
  .strict();

/** Validated LMTP options. */
export type LmtpOptions = z.output<typeof lmtpOptionsSchema>;

/** Where an LMTP server listens. */
export type LmtpEndpoint =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/** The endpoint the options name. */
export function endpointOf(options: LmtpOptions): LmtpEndpoint {
  const { host, port, path } = options.lmtp;
  if (path !== undefined) return { kind: 'unix', path };
  return { kind: 'tcp', host: host ?? 'localhost', port };
}

/** How the endpoint appears in site names and logs: `host:port` or `unix:/path`. */
export function endpointName(endpoint: LmtpEndpoint): string {
  return endpoint.kind === 'unix'
    ? `unix:${endpoint.path}`
    : `${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
}
