/**
 * @sterna/protocol-smtp: delivers by SMTP/ESMTP (and LMTP) to the routing domain's MX or an
 * explicit `mx_list`, following KumoMTA's rules for sites, TLS, host filters and outcomes.
 * @packageDocumentation
 */
import { smtpDriver } from './driver.js';

export { SMTP_ERROR_CODES, type SmtpErrorCode } from './errors.js';
export {
  type MxListEntry,
  type SmtpOptions,
  type SmtpProtocolOptions,
  smtpOptionsSchema,
} from './options.js';
export { SMTP_SERVICE } from './site.js';
export { mxSiteName } from './site-name.js';
export { SmtpConnection } from './smtp-connection.js';
export { smtpDriver };

export default smtpDriver;
