// A whole policy in TypeScript, translated from lua/init.lua line by line: the policy-extras
// helpers over the same data files (../data), and two handlers of its own. Run it with
// `pnpm sterna --policy examples/typescript-policy/src/policy.ts`; test/policy.test.ts runs its
// handlers with vitest and no daemon.
import { fileURLToPath } from 'node:url';
import {
  configureLocalLogs,
  defineSpool,
  on,
  reject,
  startEsmtpListener,
  startHttpListener,
} from '@sterna/policy';
import { queue, shaping, sources } from '@sterna/policy/extras';

const DATA = process.env.STERNA_EXAMPLE_DIR ?? './data/typescript-example';
const here = (name: string) => fileURLToPath(new URL(`../data/${name}`, import.meta.url));

on('init', async () => {
  await startEsmtpListener({ listen: '127.0.0.1:2525', relay_hosts: ['127.0.0.1'] });
  await startHttpListener({ listen: '127.0.0.1:8000' });
  await defineSpool({ name: 'data', path: `${DATA}/spool/data` });
  await defineSpool({ name: 'meta', path: `${DATA}/spool/meta` });
  await configureLocalLogs({ log_dir: `${DATA}/logs` });
});

sources.setup([here('sources.toml')]);
const queueHelper = queue.setup([here('queues.toml')]);
const shaper = shaping.setupWithAutomation({ extra_files: [here('shaping.toml')] });
on('get_egress_path_config', shaper.getEgressPathConfig);

const BLOCKED = new Set(['spam.example']);
on('smtp_server_mail_from', (sender, _connMeta) => {
  if (BLOCKED.has(sender.domain.toLowerCase())) {
    reject(550, `5.7.1 mail from ${sender.domain} is not accepted here`);
  }
});

on('smtp_server_message_received', (msg, _connMeta) => {
  queueHelper.apply(msg);
  // Remember which listener took the message, for the logs.
  msg.setMeta('x_received_via', 'smtp');
});

on('http_message_generated', (msg) => {
  queueHelper.apply(msg);
  msg.setMeta('x_received_via', 'http');
});
