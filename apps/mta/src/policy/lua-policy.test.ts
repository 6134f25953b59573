import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueueNameParts } from '@sterna/core';
import { PolicyRuntime } from '@sterna/lua';
import { afterAll, describe, expect, it } from 'vitest';
import { LuaPolicy } from './lua-policy.js';

// The daemon's view of a real Lua policy (one worker): equal answers are one object, and an
// egress path that names a key file reads the file again for each new path.
describe('LuaPolicy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sterna-lua-policy-'));
  const cert = join(dir, 'client.pem');
  const policyFile = join(dir, 'policy.lua');
  writeFileSync(
    policyFile,
    `local kumo = require 'kumo'
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config { retry_interval = '5m', protocol = { smtp = { mx_list = { '127.0.0.1:2525' } } } }
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  if domain == 'with-cert.example' then
    return kumo.make_egress_path { enable_tls = 'Disabled', tls_certificate = '${cert}' }
  end
  return kumo.make_egress_path { enable_tls = 'Disabled', connection_limit = 3 }
end)`,
  );
  let runtime: PolicyRuntime | undefined;
  afterAll(() => runtime?.close());
  const start = async () => {
    runtime = await PolicyRuntime.start({ policy: policyFile, poolSize: 1, spare: false });
    return new LuaPolicy(runtime);
  };

  it('answers equal tables with one frozen object, for queue configs and egress paths', async () => {
    const policy = await start();
    const parts = (domain: string): QueueNameParts => ({ domain });
    const a = await policy.queueConfig('a.example', parts('a.example'));
    const b = await policy.queueConfig('b.example', parts('b.example'));
    expect(b).toBe(a);
    expect(a.retry_interval).toBe(300);
    const pathA = await policy.egressPath('a.example', 'unspecified', 'mx.a.example');
    const pathB = await policy.egressPath('b.example', 'unspecified', 'mx.b.example');
    expect(pathB).toBe(pathA);
    expect(Object.isFrozen(pathA)).toBe(true);
    expect(pathA.connection_limit).toBe(3);

    // A key given as a file path is read for each path, so a replaced file is used.
    writeFileSync(cert, 'first certificate\n');
    const first = await policy.egressPath('with-cert.example', 'unspecified', 'mx');
    expect(first.tls_certificate).toBe('first certificate\n');
    writeFileSync(cert, 'renewed certificate\n');
    const renewed = await policy.egressPath('with-cert.example', 'unspecified', 'mx');
    expect(renewed.tls_certificate).toBe('renewed certificate\n');
  });
});
