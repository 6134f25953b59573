import { describeProtocolDriver, startSmtpSink } from '@sterna/protocol-testkit';
import { lmtpDriver } from '../src/index.js';

// The testkit's sink in LMTP mode: one reply per recipient after DATA, scripted by local part.
describeProtocolDriver({
  driver: lmtpDriver,
  async setup() {
    const sink = await startSmtpSink({ lmtp: true, tls: false });
    return {
      options: { lmtp: { host: sink.host, port: sink.port } },
      recipients: {
        accept: ['alice@example.com', 'bob@example.com'],
        transient: 'tempfail@example.com',
        permanent: 'permfail@example.com',
      },
      delivered: async () => sink.messages,
      teardown: () => sink.close(),
    };
  },
  invalidOptions: [
    { table: { lmtp: {} }, path: 'protocol.lmtp' },
    { table: { lmtp: { host: '127.0.0.1', path: '/run/lmtp' } }, path: 'protocol.lmtp' },
    { table: { lmtp: { host: '127.0.0.1', port: 70000 } }, path: 'protocol.lmtp.port' },
    { table: { lmtp: { path: 'relative/socket' } }, path: 'protocol.lmtp.path' },
    { table: { lmtp: { host: '127.0.0.1', tls: true } }, path: 'Unrecognized key: "tls"' },
  ],
});
