import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSterna } from '../support/daemon-process.js';

// `sterna --validate` as KumoMTA's: fragments validate, validate_config is fired, and what its
// handlers report decides the exit code. Each case runs the CLI from source, as operators do.
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function policy(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sterna-validate-'));
  dirs.push(dir);
  const file = join(dir, 'init.lua');
  await writeFile(file, text);
  return file;
}

const validate = (file: string) => runSterna(['--validate', '--policy', file]);

describe('sterna --validate', () => {
  it('a documentation fragment (handlers, no init) validates, with what it lacks as warnings', async () => {
    const file = await policy(`
local kumo = require 'kumo'
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config { retry_interval = '17 mins' }
end)
`);
    const { code, output } = await validate(file);
    expect(output).toContain("warning: no spool named 'data' is defined");
    expect(output).toContain('warning: no listener is started in init');
    expect(output).not.toContain('problem:');
    expect(output).toContain(`${file}: OK`);
    expect(code).toBe(0);
  });

  it('warns about each handled event the daemon does not fire yet, and still passes', async () => {
    const file = await policy(`
local kumo = require 'kumo'
kumo.on('smtp_server_mail_from', function(sender, conn_meta) end)
kumo.on('requeue_message', function(msg) end)
kumo.on('smtp_server_rewrite_response', function(status, response, command, conn_meta) end)
`);
    const { code, output } = await validate(file);
    expect(output).toContain(
      'warning: policy handles requeue_message, which Sterna does not fire yet (docs/policy-api.md)',
    );
    expect(output).toContain(
      'warning: policy handles smtp_server_rewrite_response, which Sterna does not fire yet (docs/policy-api.md)',
    );
    expect(output).not.toContain('policy handles smtp_server_mail_from');
    expect(output).toContain(`${file}: OK`);
    expect(code).toBe(0);
  });

  it('fires every validate_config handler after init; kumo.validation_failed() makes it fail', async () => {
    const file = await policy(`
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '/nonexistent/never-created' }
end)
kumo.on('validate_config', function()
  print('first handler ran')
end)
kumo.on('validate_config', function()
  kumo.log_error('queues.toml: tenant "acme" names unknown key "max_ageee"')
  kumo.validation_failed()
end)
`);
    const { code, output } = await validate(file);
    expect(output).toContain('first handler ran');
    expect(output).toContain('queues.toml: tenant \\"acme\\" names unknown key \\"max_ageee\\"');
    expect(output).toContain('problem: validation failed: kumo.validation_failed() was called');
    expect(output).toContain(`${file}: 1 problem(s)`);
    expect(code).toBe(1);
  });

  it('a validate_config handler that raises is a problem naming its file and line', async () => {
    const file = await policy(`local kumo = require 'kumo'
kumo.on('validate_config', function()
  local data = nil
  return data.missing
end)
`);
    const { code, output } = await validate(file);
    expect(output).toMatch(/problem: validate_config: .*init\.lua:4: attempt to index a nil value/);
    expect(code).toBe(1);
  });

  it('does not run the tasks init spawns, but names one whose event has no handler', async () => {
    const file = await policy(`local kumo = require 'kumo'
kumo.on('init', function()
  kumo.spawn_task { event_name = 'forever' }
  kumo.spawn_task { event_name = 'missing.task' }
end)
kumo.on('forever', function() while true do kumo.sleep(1) end end)
`);
    const { code, output } = await validate(file);
    expect(output).toContain(
      'problem: kumo.spawn_task: the policy has no handler for the event missing.task',
    );
    expect(output).not.toMatch(/kumo\.spawn_task: .*forever/);
    expect(code).toBe(1);
  });

  it('when the daemon starts for real, validate_config is not fired', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sterna-validate-'));
    dirs.push(dir);
    const file = join(dir, 'init.lua');
    await writeFile(
      file,
      `local kumo = require 'kumo'
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = ${JSON.stringify(join(dir, 'spool'))} }
  kumo.start_esmtp_listener { listen = '127.0.0.1:0' }
end)
kumo.on('validate_config', function() print('VALIDATE_CONFIG FIRED') end)
`,
    );
    const { startDaemon } = await import('../support/daemon-process.js');
    const daemon = await startDaemon(file);
    try {
      expect(daemon.output()).toContain('initialization complete');
      expect(daemon.output()).not.toContain('VALIDATE_CONFIG FIRED');
    } finally {
      await daemon.stop();
    }
  });
});
