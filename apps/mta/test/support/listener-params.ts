import type { EsmtpListenerParams } from '../../src/smtp/params.js';

/** Listener parameters for tests that start an ESMTP listener directly (loopback, small limits). */
export function testListenerParams(
  overrides: Partial<EsmtpListenerParams> = {},
): EsmtpListenerParams {
  return {
    listen: '127.0.0.1:0',
    hostname: 'sterna.test',
    relay_hosts: ['127.0.0.1'],
    banner: 'KumoMTA',
    max_message_size: 1024 * 1024,
    max_recipients_per_message: 1024,
    max_messages_per_connection: 10_000,
    max_connections: 100,
    client_timeout: 60,
    line_length_hard_limit: 998,
    invalid_line_endings: 'Deny',
    trace_headers: {
      received_header: true,
      supplemental_header: true,
      header_name: 'X-KumoRef',
      include_meta_names: [],
    },
    meta: {},
    ...overrides,
  };
}
