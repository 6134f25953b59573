/**
 * The error codes @sterna/protocol-maildir raises, each documented in `docs/errors.md`.
 * Delivery problems (a full disk, a blocked path, a hostile recipient) are outcomes, not errors.
 */
export const MAILDIR_ERROR_CODES = {
  STERNA_MAILDIR_TEMPLATE_INVALID:
    'A `maildir_path` template has a syntax error or names an unknown variable.',
} as const;

/** A stable error code of @sterna/protocol-maildir. */
export type MaildirErrorCode = keyof typeof MAILDIR_ERROR_CODES;
