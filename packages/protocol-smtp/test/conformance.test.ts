import { describeProtocolDriver, startSmtpSink } from '@sterna/protocol-testkit';
import { smtpDriver } from '../src/index.js';

describeProtocolDriver({
  driver: smtpDriver,
  async setup() {
    const sink = await startSmtpSink();
    return {
      options: { smtp: { mx_list: [`${sink.host}:${sink.port}`] } },
      path: { prohibited_hosts: [], enable_tls: 'OpportunisticInsecure' },
      recipients: {
        accept: ['alice@example.com', 'bob@example.com'],
        transient: 'tempfail@example.com',
        permanent: 'permfail@example.com',
      },
      async delivered() {
        return sink.messages.map((m) => ({ recipients: m.recipients, data: m.data }));
      },
      teardown: () => sink.close(),
    };
  },
  invalidOptions: [
    { table: { smtp: { mx_list: 'mx.example.com' } }, path: 'protocol.smtp.mx_list' },
    {
      table: { smtp: { mx_list: ['ok.example.com', { name: 'mx', addr: 'not-an-ip' }] } },
      path: 'protocol.smtp.mx_list[2].addr',
    },
    { table: { smtp: { mx_list: ['bad host!'] } }, path: 'protocol.smtp.mx_list[1]' },
    { table: { smtp: { mx_list: ['mx.example.com:99999'] } }, path: 'protocol.smtp.mx_list[1]' },
    { table: { smtp: { no_such_option: true } }, path: 'protocol.smtp' },
    {
      table: { smtp: { treat_mx_list_as_secure: 'yes' } },
      path: 'protocol.smtp.treat_mx_list_as_secure',
    },
  ],
});

// The same suite over LMTP (`use_lmtp`): one reply per recipient after the data.
describeProtocolDriver({
  name: 'smtp over LMTP',
  driver: smtpDriver,
  async setup() {
    const sink = await startSmtpSink({ lmtp: true });
    return {
      options: { smtp: { mx_list: [`${sink.host}:${sink.port}`] } },
      path: { prohibited_hosts: [], enable_tls: 'OpportunisticInsecure', use_lmtp: true },
      recipients: {
        accept: ['alice@example.com', 'bob@example.com'],
        transient: 'data451@example.com',
        permanent: 'data550@example.com',
      },
      async delivered() {
        return sink.messages.map((m) => ({ recipients: m.recipients, data: m.data }));
      },
      teardown: () => sink.close(),
    };
  },
});
