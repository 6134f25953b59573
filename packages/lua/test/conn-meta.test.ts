import { describe, expect, it } from 'vitest';
import { connectionMetaArg, envelopeAddress } from '../src/message/message-snapshot.js';
import { inMs, loadedContext } from './helpers.js';

describe('connection metadata (conn_meta)', () => {
  it('is an object with get_meta and set_meta whose keys also read as fields', async () => {
    const context = await loadedContext('conn-meta.lua');
    const meta = { received_from: '127.0.0.1:4000', hostname: 'mx.example' };
    const outcome = await context.call(
      'smtp_server_auth_plain',
      ['daniel', 'daniel', 'tiger', connectionMetaArg(meta)],
      inMs(2000),
    );
    expect(outcome).toMatchObject({
      status: 'ok',
      values: ['127.0.0.1:4000|mx.example|nil|daniel|ConnectionMetaData'],
    });
  });

  it('lets get_listener_domain decide on the authenticated identity, as KumoMTA documents', async () => {
    const context = await loadedContext('conn-meta.lua');
    const anonymous = await context.call(
      'get_listener_domain',
      ['example.com', '127.0.0.1:25', connectionMetaArg({ received_from: '10.0.0.1:5' })],
      inMs(2000),
    );
    expect(anonymous).toMatchObject({ status: 'ok', values: [] });
    const authenticated = await context.call(
      'get_listener_domain',
      [
        'example.com',
        '127.0.0.1:25',
        connectionMetaArg({ received_from: '10.0.0.1:5', authz_id: 'daniel' }),
      ],
      inMs(2000),
    );
    expect(authenticated).toMatchObject({ status: 'ok', values: [{ relay_to: true }] });
  });

  it('hands the whole meta back after a set_meta (and only then), for the connection to keep', async () => {
    const context = await loadedContext('conn-meta.lua');
    const meta = { received_from: '127.0.0.1:4000', hostname: 'mx.example' };
    const changed = await context.call(
      'smtp_server_mail_from',
      [envelopeAddress('a@example.com'), connectionMetaArg(meta)],
      inMs(2000),
    );
    expect(changed).toEqual({
      status: 'ok',
      values: [],
      messages: [],
      connMeta: { received_from: '127.0.0.1:4000', tagged: 'example.com' },
    });
    // The caller passes the kept meta to the next event; a call that sets nothing hands none back.
    const later = await context.call(
      'smtp_server_rcpt_to',
      [
        envelopeAddress('b@example.net'),
        connectionMetaArg(changed.status === 'ok' ? (changed.connMeta ?? {}) : {}),
      ],
      inMs(2000),
    );
    expect(later).toEqual({ status: 'ok', values: ['example.com'], messages: [] });
  });
});
