import type { PolicyRejection } from '../policy/types.js';
import type { EsmtpListenerParams } from './params.js';

/**
 * Applies the listener's rules to received bytes: a line over `line_length_hard_limit` is refused
 * (500 5.2.3); a bare LF is refused (`Deny`, 552 5.6.0), repaired to CRLF (`Fix`) or kept (`Allow`).
 */
export function checkMessageData(
  data: Buffer,
  params: Pick<EsmtpListenerParams, 'line_length_hard_limit' | 'invalid_line_endings'>,
): { data: Buffer } | { rejection: PolicyRejection } {
  let bareLf = false;
  let lineStart = 0;
  // indexOf is memchr: one native scan per line rather than a JavaScript loop over every byte.
  for (let i = data.indexOf(0x0a); i >= 0; i = data.indexOf(0x0a, i + 1)) {
    const crlf = i > 0 && data[i - 1] === 0x0d;
    if (!crlf) bareLf = true;
    if (i - lineStart - (crlf ? 1 : 0) > params.line_length_hard_limit) {
      return { rejection: { code: 500, text: '5.2.3 line too long' } };
    }
    lineStart = i + 1;
  }
  if (data.length - lineStart > params.line_length_hard_limit)
    return { rejection: { code: 500, text: '5.2.3 line too long' } };
  if (!bareLf || params.invalid_line_endings === 'Allow') return { data };
  if (params.invalid_line_endings === 'Deny') {
    return { rejection: { code: 552, text: '5.6.0 message data must use CRLF for line endings' } };
  }
  return { data: Buffer.from(data.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1') };
}
