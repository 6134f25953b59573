import { type Clock, defineProtocolDriver, systemClock } from '@sterna/core';
import { MaildirConnection } from './connection.js';
import { escapeHostname } from './file-name.js';
import { type MaildirOptions, maildirOptionsSchema } from './options.js';
import { compileTemplate } from './template.js';

/**
 * Delivers into a Maildir (KumoMTA's `protocol = { maildir_path = … }`): one file per recipient,
 * written to `tmp/`, fsynced and renamed into `new/`. A failed write is retried about 60 s later,
 * outside the retry schedule. There is no ready queue: the log's site is `""`.
 */
export const maildirDriver = defineProtocolDriver<MaildirOptions>({
  protocol: 'maildir_path',
  deliveryProtocol: 'Maildir',
  packageName: '@sterna/protocol-maildir',
  options: maildirOptionsSchema,
  capabilities: {
    reusesConnections: true,
    multiRecipient: true,
    batching: false,
    readyQueue: false,
  },
  site() {
    return { site: { name: '', service: 'maildir' } };
  },
  async connect(_site, options, ctx) {
    return new MaildirConnection(compileTemplate(options.maildir_path), {
      dirMode: options.dir_mode,
      fileMode: options.file_mode,
      host: escapeHostname(ctx.hostname),
      now: wallClock(ctx.clock),
    });
  },
});

// Maildir names carry nanoseconds. The system clock counts milliseconds, so with it the driver
// reads the high-resolution timer anchored at process start instead (microseconds in practice);
// any other clock (a test's) is used as given.
function wallClock(clock: Clock): () => number {
  if (clock === systemClock) return () => performance.timeOrigin + performance.now();
  return () => clock.now();
}
