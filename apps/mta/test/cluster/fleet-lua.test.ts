import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@sterna/core';
import { PolicyRuntime, parseConfigParams, parseEgressPath } from '@sterna/lua';
import { type RedisService, startRedis } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from '../../src/cluster/fleet.js';
import { eventually } from '../support/mail.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

// kumo.make_throttle's checks go through the fleet's store: shared while redis answers, a
// Lua error naming redis while it does not (as KumoMTA surfaces the store's error).
const POLICY = `
local kumo = require 'kumo'
kumo.on('sterna_test_throttle', function(spec)
  local ok, result = pcall(function() return kumo.make_throttle('lua-shared', spec):throttle() end)
  if not ok then return 'error: ' .. tostring(result) end
  return result.throttled and 'throttled' or 'allowed'
end)
`;

describe('kumo.make_throttle with redis throttles', { timeout: 120_000 }, () => {
  let redis: RedisService;
  let dir: string;
  let runtime: PolicyRuntime | undefined;
  const fleet = new Fleet(quiet);
  const other = new Fleet(quiet);

  beforeAll(async () => {
    redis = await startRedis();
    dir = await mkdtemp(join(tmpdir(), 'sterna-fleet-lua-'));
    await writeFile(join(dir, 'policy.lua'), POLICY);
    runtime = await PolicyRuntime.start({
      policy: join(dir, 'policy.lua'),
      poolSize: 1,
      spare: false,
      loadDeadlineMs: 120_000,
      host: { throttles: fleet.throttles },
    });
    const params = parseConfigParams('redis_throttles', { node: redis.url });
    fleet.connect(params);
    other.connect(params);
  });
  afterAll(async () => {
    await runtime?.close();
    await fleet.close();
    await other.close();
    await redis?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const check = async (spec: string) =>
    (await runtime!.call('sterna_test_throttle', [spec])).value as string;

  it('counts against the throttle every node shares; raises a clear error while redis is away', async () => {
    await eventually(
      async () => ((await check('2/h')) === 'allowed' ? true : undefined),
      15_000,
      'the first check through redis',
    );
    // Another node's use of the same throttle name counts too (the policy's prefix is KumoMTA's).
    const { parseThrottleSpec } = await import('@sterna/core/engine');
    expect(
      (await other.throttles.check('lua-user-throttle-lua-shared', parseThrottleSpec('2/h')))
        .throttled,
    ).toBe(false);
    expect(await check('2/h')).toBe('throttled');
    await redis.stop();
    try {
      expect(await check('5/h')).toMatch(
        /^error: .*redis throttles: cannot check throttle 'lua-user-throttle-lua-shared'.*unreachable/,
      );
    } finally {
      await redis.start();
    }
    await eventually(
      async () => ((await check('5/h')).startsWith('error') ? undefined : true),
      15_000,
      'checks after redis is back',
    );
  });

  it("reads connection_limit = 'local:N' and digit separators, and local additional limits", () => {
    const path = parseEgressPath({
      connection_limit: 'local:20',
      additional_connection_limits: { fleet: '1_000', mine: 'local:3', plain: 5 },
    });
    expect(path.connection_limit).toBe(20);
    expect(path.connection_limit_local).toBe(true);
    expect(path.additional_connection_limits).toEqual({ fleet: 1000, mine: 3, plain: 5 });
    expect(path.local_connection_limits).toEqual(['mine']);
    const shared = parseEgressPath({ connection_limit: '1,000' });
    expect(shared.connection_limit).toBe(1000);
    expect(shared.connection_limit_local).toBeUndefined();
    expect(shared.local_connection_limits).toBeUndefined();
    expect(() => parseEgressPath({ connection_limit: 'local:many' })).toThrow(
      /connection_limit: expected a whole number.*'local:many'/,
    );
  });
});
