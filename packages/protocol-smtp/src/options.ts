import { z } from 'zod';
import { parseAddressSpec, parseHostSpec } from './host-spec.js';

const hostEntry = z
  .string()
  .min(1, 'expected a host name, an address, host:port or [address]:port')
  .superRefine((text, ctx) => {
    const parsed = parseHostSpec(text);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
  });

const tableEntry = z.strictObject({
  /** The name logged as `peer_address.name`; no DNS look-up is made for it. */
  name: z.string().min(1, 'expected a host name'),
  /** The address to connect to: `10.0.0.1`, `[IPv6:::1]`, `10.0.0.1:2025`, `[::1]:2025`. */
  addr: z.string().refine((text) => parseAddressSpec(text) !== undefined, {
    message: 'expected an IP address, [address], address:port or [address]:port',
  }),
});

/** One `mx_list` entry: a host string, or a `{ name, addr }` table that skips DNS. */
export type MxListEntry = string | { readonly name: string; readonly addr: string };

/** The options of the `smtp` protocol: the inner table of `protocol = { smtp = { … } }`. */
export interface SmtpProtocolOptions {
  /**
   * Explicit destinations, tried in the order given, instead of the routing domain's MX.
   * Plain names are resolved for A and AAAA records; `[address]` literals and `{ name, addr }`
   * tables are used as written; `:port` overrides the egress path's `smtp_port`.
   * @default undefined (MX resolution)
   */
  readonly mx_list?: readonly MxListEntry[] | undefined;
  /**
   * Treat `mx_list` hosts as if DNSSEC-validated (matters for DANE only, which Sterna does not
   * implement yet). Accepted for compatibility.
   * @default false
   */
  readonly treat_mx_list_as_secure?: boolean | undefined;
}

/** The whole protocol table as validated: `{ smtp: { … } }`. */
export interface SmtpOptions {
  readonly smtp: SmtpProtocolOptions;
}

/**
 * The schema of the `smtp` protocol table. Unknown keys are errors, as in KumoMTA; each problem
 * names its path (`protocol.smtp.mx_list[2].addr`).
 */
export const smtpOptionsSchema = z.strictObject({
  smtp: z
    .strictObject({
      mx_list: z
        .array(
          z.union([hostEntry, tableEntry], {
            error: (issue) =>
              issue.code === 'invalid_union'
                ? 'expected a host string or a { name = …, addr = … } table'
                : undefined,
          }),
        )
        .optional(),
      treat_mx_list_as_secure: z.boolean().optional(),
    })
    .default({}),
});
