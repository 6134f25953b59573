/**
 * The error codes of `@sterna/protocol-smtp`, each documented in `docs/errors.md` (a test keeps
 * the two in step). Delivery problems are outcomes, not errors: these are for misuse and
 * configuration mistakes.
 */
export const SMTP_ERROR_CODES = {
  STERNA_SMTP_SITE_INVALID:
    "`connect()` was given a site that the smtp driver's `site()` did not name.",
  STERNA_SMTP_PATH_INVALID:
    'An egress path field the smtp driver reads is unusable (a `prohibited_hosts` or `skip_hosts` entry that is not a CIDR).',
} as const;

/** A stable error code of the smtp driver. */
export type SmtpErrorCode = keyof typeof SMTP_ERROR_CODES;
