// The demo destination of examples/cluster: an SMTP server on loopback that accepts every
// message and prints one line per message, with the connections open at that moment and the
// message count, so a shared rate and a shared connection limit can be watched at work.
import { SMTPServer } from 'smtp-server';

const [host, port] = (process.env.STERNA_SINK ?? '127.0.0.1:2600').split(':');
let open = 0;
let peak = 0;
let received = 0;
const started = Date.now();

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  onConnect(_session, callback) {
    open++;
    peak = Math.max(peak, open);
    callback();
  },
  onClose() {
    open--;
  },
  onData(stream, session, callback) {
    stream.resume();
    stream.on('end', () => {
      received++;
      const at = ((Date.now() - started) / 1000).toFixed(1);
      const to = session.envelope.rcptTo.map((r) => r.address).join(',');
      console.log(
        `sink +${at}s message ${received} for ${to} (connections open: ${open}, peak: ${peak})`,
      );
      callback();
    });
  },
});
server.listen(Number(port), host, () => console.log(`sink listening on ${host}:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
