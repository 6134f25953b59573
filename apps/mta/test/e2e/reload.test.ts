import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type DaemonProcess, startDaemon } from '../support/daemon-process.js';
import { eventually, maildirMessages, sendMail, testMessage } from '../support/mail.js';
import { type PolicyDir, writePolicy } from '../support/policy.js';

// A policy that reads its routing from a TOML file when it loads (as the policy-extras helpers
// read their data files): which maildir a message goes to changes only when the policy is
// loaded again, so the test sees the config monitor, the reload and the dropped queue-config
// cache at work. The same daemon runs a task spawned in init that resolves a name from the
// hosts file the test gives it.
const BODY = `
local routing = kumo.toml_load(DIR .. '/routing.toml')
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config { protocol = { maildir_path = DIR .. '/maildir-' .. routing.target } }
end)
kumo.on('whoami', function(args)
  print('task ' .. args.who .. ' resolved my-container to ' .. table.concat(kumo.dns.lookup_addr('my-container'), ','))
end)
`;
const INIT = `kumo.spawn_task { event_name = 'whoami', args = { who = 'alpha' } }`;

describe('config monitor reload', () => {
  let dir: PolicyDir;
  let daemon: DaemonProcess | undefined;
  afterAll(async () => {
    await daemon?.kill();
    await dir?.cleanup();
  });

  const subjects = async (target: string) =>
    (await maildirMessages(join(dir.dir, `maildir-${target}`))).map(
      (m) => /^Subject: (.*)$/m.exec(m)?.[1] ?? '?',
    );
  const send = (subject: string) =>
    sendMail(
      daemon!.smtp,
      { from: 'tests@example.org', to: ['someone@example.com'] },
      testMessage(subject),
    );
  const logged = (text: string) => () => (daemon!.output().includes(text) ? true : undefined);

  it('a changed data file reloads the policy: the next message follows the new rule, none is lost', async () => {
    dir = await writePolicy(BODY, INIT);
    await writeFile(join(dir.dir, 'routing.toml'), 'target = "a"\n');
    await writeFile(join(dir.dir, 'sterna.config.json'), '{ "config_monitor_interval": 0.2 }\n');
    const hosts = join(dir.dir, 'hosts');
    await writeFile(hosts, '127.0.0.1 localhost\n10.11.12.13 my-container\n');
    daemon = await startDaemon(dir.policy, {
      env: { STERNA_LOG: 'info', STERNA_HOSTS_FILE: hosts },
    });

    // The task init spawned ran in the background and read the hosts file.
    await eventually(logged('task alpha resolved my-container to 10.11.12.13'), 30_000, 'task');

    const sent: string[] = [];
    for (const n of [1, 2, 3]) {
      await send(`before ${n}`);
      sent.push(`before ${n}`);
    }
    await eventually(async () => ((await subjects('a')).length === 3 ? true : undefined));

    await writeFile(join(dir.dir, 'routing.toml'), 'target = "b"\n');
    // Mail keeps flowing while the monitor notices and the new contexts load.
    let during = 0;
    await eventually(
      async () => {
        await send(`during ${++during}`);
        sent.push(`during ${during}`);
        return logged('policy reloaded')();
      },
      60_000,
      'the reload log line',
    );
    expect(daemon.output()).toMatch(/config epoch 1 \(a watched file changed\): policy reloaded/);

    for (const n of [1, 2, 3]) {
      await send(`after ${n}`);
      sent.push(`after ${n}`);
    }
    await eventually(async () => {
      const b = await subjects('b');
      return ['after 1', 'after 2', 'after 3'].every((s) => b.includes(s)) ? true : undefined;
    });

    // A broken edit: logged, and the policy that ran keeps running (still routing to b).
    await writeFile(join(dir.dir, 'routing.toml'), 'target = \n');
    await eventually(logged('the previous policy keeps running'), 60_000, 'the failed reload');
    expect(daemon.output()).toMatch(/config epoch 2 \(a watched file changed\): the policy failed/);
    expect(daemon.output()).toContain('routing.toml');
    await send('after broken edit');
    sent.push('after broken edit');

    // Every message delivered exactly once, before, during and after the changes.
    const all = await eventually(async () => {
      const found = [...(await subjects('a')), ...(await subjects('b'))];
      return found.length >= sent.length ? found : undefined;
    });
    expect([...all].sort()).toEqual([...sent].sort());
    expect(await subjects('a')).toEqual(
      expect.arrayContaining(['before 1', 'before 2', 'before 3']),
    );
    expect(await subjects('b')).toContain('after broken edit');
  });
});
