import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory holding a policy file and everything the daemon writes. */
export interface PolicyDir {
  readonly dir: string;
  readonly policy: string;
  readonly maildir: string;
  readonly logs: string;
  cleanup(): Promise<void>;
}

/**
 * Writes a policy whose `init` listens on free loopback ports, spools and logs inside a temp
 * dir; `body` adds handlers, `init` more init calls, `listener` more listener fields.
 * `DIR` in the Lua text is the temp dir.
 */
export async function writePolicy(body: string, init = '', listener = ''): Promise<PolicyDir> {
  const dir = await mkdtemp(join(tmpdir(), 'sterna-e2e-'));
  const policy = join(dir, 'init.lua');
  const text = `
local kumo = require 'kumo'
local DIR = ${JSON.stringify(dir)}
kumo.on('init', function()
  kumo.start_esmtp_listener { listen = '127.0.0.1:0', relay_hosts = { '127.0.0.1' }, hostname = 'sterna.test', ${listener} }
  kumo.start_http_listener { listen = '127.0.0.1:0' }
  kumo.define_spool { name = 'data', path = DIR .. '/spool/data' }
  kumo.define_spool { name = 'meta', path = DIR .. '/spool/meta' }
  kumo.configure_local_logs { log_dir = DIR .. '/logs', max_segment_duration = '1s', headers = { 'Subject', 'X-*' }, meta = { 'x_*' } }
  ${init}
end)
${body}
`;
  await writeFile(policy, text);
  return policyDir(dir, policy);
}

/** The {@link PolicyDir} of a temp dir holding `policy`: where the daemon's files go. */
export function policyDir(dir: string, policy: string): PolicyDir {
  return {
    dir,
    policy,
    maildir: join(dir, 'maildir'),
    logs: join(dir, 'logs'),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Queues that hold their mail until the file `DIR/open` exists: until then they name a protocol
 * no driver claims (`closed_gate`), so messages wait in the spool on 1 s retries; afterwards they
 * deliver into `DIR/maildir`. Tests use it to hold mail across restarts and crashes.
 */
export const GATED_QUEUES = `
kumo.on('get_queue_config', function(domain)
  local f = io.open(DIR .. '/open', 'r')
  if f then
    f:close()
    return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir' } }
  end
  return kumo.make_queue_config { retry_interval = '1s', max_retry_interval = '1s', protocol = { closed_gate = {} } }
end)
`;
