/**
 * @sterna/protocol-maildir: delivers into a Maildir, as KumoMTA's `maildir_path` protocol does.
 * @packageDocumentation
 */
export { MAILDIR_RETRY_AFTER, MaildirConnection } from './connection.js';
export { maildirDriver, maildirDriver as default } from './driver.js';
export { MAILDIR_ERROR_CODES, type MaildirErrorCode } from './errors.js';
export { escapeHostname, parseFinalFileName } from './file-name.js';
export { type MaildirOptions, maildirOptionsSchema } from './options.js';
export { TEMPLATE_VARIABLES, type TemplateVariable } from './template.js';
