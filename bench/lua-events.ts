/**
 * Policy event calls per second, Lua beside TypeScript in one run: `get_queue_config` (the seed's smarthost example, which
 * builds a `kumo.make_queue_config` table with an mx_list) with the policy loaded, measured
 *  - on the engine in-process (no worker: the ceiling of one Lua context on one core),
 *  - through the runtime with one worker context (sequential, and 64 calls in flight),
 *  - through the runtime with a pool of two worker contexts (64 in flight),
 * plus `smtp_server_message_received` with a 2 KiB message (headers read and written) and a
 * handler doing real Lua work (a 2,000-iteration loop), which shows how the pool scales when
 * the Lua side rather than the worker boundary dominates. Each runtime row is measured twice,
 * on the Lua policy and on the same policy written in TypeScript (`@sterna/policy`, the same
 * worker pool), one after the other, and the table shows both and their ratio.
 *
 *   pnpm bench:lua                      (50,000 calls per measurement, best of 3)
 *   pnpm bench:lua --calls 20000 --rounds 5
 *
 * Prints a table and writes bench/results/lua-<timestamp>.json.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LuaContext, policyDirOf } from '../packages/lua/src/context/lua-context.js';
// Relative imports: the workspace root does not depend on its packages.
import { connectionMetaArg, PolicyRuntime } from '../packages/lua/src/index.js';
import { inProcessHost } from '../packages/lua/src/pool/daemon-handlers.js';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '3' },
  },
});
const CALLS = Number(args.calls);
const ROUNDS = Number(args.rounds);

const dir = mkdtempSync(join(tmpdir(), 'sterna-bench-lua-'));
const policy = join(dir, 'init.lua');
writeFileSync(
  policy,
  `kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if domain == 'smarthost.example.com' then
    return kumo.make_queue_config {
      protocol = { smtp = { mx_list = { 'smart.host.local', { name = 'mx.example.com', addr = '10.0.0.1' } } } },
    }
  end
  return kumo.make_queue_config {}
end)
-- A handler with some real policy work (string building and matching), to show how the pool
-- scales when the Lua side, not the boundary, dominates.
kumo.on('heavy', function(domain)
  local n = 0
  for i = 1, 2000 do
    local s = domain .. ':' .. i
    if s:find('example', 1, true) then n = n + #s end
  end
  return n
end)
kumo.on('smtp_server_message_received', function(msg, conn_meta)
  msg:set_meta('tenant', msg:get_first_named_header_value('X-Tenant') or 'default')
  msg:import_x_headers({ 'x-campaign' })
  msg:prepend_header('X-Policy', 'seen')
end)
`,
);
// The same policy in TypeScript, for the TypeScript column.
const tsPolicy = join(dir, 'policy.ts');
writeFileSync(
  tsPolicy,
  `import { type Message, makeQueueConfig, on } from '@sterna/policy';
on('get_queue_config', (domain) => {
  if (domain === 'smarthost.example.com') {
    return makeQueueConfig({
      protocol: { smtp: { mx_list: ['smart.host.local', { name: 'mx.example.com', addr: '10.0.0.1' }] } },
    });
  }
  return makeQueueConfig({});
});
on('heavy', (domain: string) => {
  let n = 0;
  for (let i = 1; i <= 2000; i++) {
    const s = domain + ':' + i;
    if (s.includes('example')) n += s.length;
  }
  return n;
});
on('smtp_server_message_received', (msg: Message) => {
  msg.setMeta('tenant', msg.getFirstNamedHeaderValue('X-Tenant') ?? 'default');
  msg.importXHeaders(['x-campaign']);
  msg.prependHeader('X-Policy', 'seen');
});
`,
);
// The bench's folder has no node_modules: '@sterna/policy' resolves from the daemon's package.
const importFallback = new URL('../apps/mta/src/index.ts', import.meta.url).href;

const domains = ['smarthost.example.com', 'other.example', 'third.example'];
const body = 'x'.repeat(70).concat('\r\n').repeat(26);
const data = new TextEncoder().encode(
  `From: a@b.example\r\nTo: c@d.example\r\nSubject: bench\r\nX-Tenant: acme\r\nX-Campaign: spring\r\n\r\n${body}`,
);
const message = {
  id: '0'.repeat(32),
  sender: 'a@b.example',
  recipients: ['c@d.example'],
  meta: {},
  data,
};

interface Row {
  scenario: string;
  /** The policy's language. */
  policy: 'lua' | 'ts';
  contexts: number;
  inFlight: number;
  callsPerSecond: number;
  microsPerCall: number;
}
const rows: Row[] = [];

async function measure(
  scenario: string,
  policy: Row['policy'],
  contexts: number,
  inFlight: number,
  call: (i: number) => Promise<unknown>,
): Promise<void> {
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let next = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < CALLS) await call(next++);
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    best = Math.max(best, CALLS / seconds);
  }
  rows.push({
    scenario,
    policy,
    contexts,
    inFlight,
    callsPerSecond: Math.round(best),
    microsPerCall: Math.round((1e6 / best) * 10) / 10,
  });
  const lua = rows.find(
    (r) =>
      r.policy === 'lua' &&
      r.scenario === scenario &&
      r.contexts === contexts &&
      r.inFlight === inFlight,
  );
  const ratio = policy === 'ts' && lua ? `x${(best / lua.callsPerSecond).toFixed(2)}` : '';
  console.log(
    `${scenario.padEnd(44)} ${policy.padStart(6)} ${String(contexts).padStart(8)} ${String(inFlight).padStart(9)} ${String(Math.round(best)).padStart(12)} ${ratio.padStart(8)}`,
  );
}

console.log(
  `${'scenario'.padEnd(44)} ${'policy'.padStart(6)} ${'contexts'.padStart(8)} ${'in flight'.padStart(9)} ${'calls/s'.padStart(12)} ${'ts/lua'.padStart(8)}`,
);

const host = inProcessHost({ print() {}, log() {}, configure: async () => {} });
const engine = await LuaContext.create(host, { policyDir: policyDirOf(policy) });
await engine.load(policy, Date.now() + 5000);
await measure('get_queue_config, engine in-process', 'lua', 1, 1, (i) =>
  engine.call('get_queue_config', [domains[i % 3], null, null, null], Date.now() + 10_000),
);

for (const poolSize of [1, 2]) {
  const runtimes = {
    lua: await PolicyRuntime.start({ policy, poolSize, spare: false }),
    ts: await PolicyRuntime.start({ policy: tsPolicy, poolSize, spare: false, importFallback }),
  };
  const both = async (
    scenario: string,
    inFlight: number,
    call: (runtime: PolicyRuntime, i: number) => Promise<unknown>,
  ) => {
    for (const language of ['lua', 'ts'] as const) {
      await measure(scenario, language, poolSize, inFlight, (i) => call(runtimes[language], i));
    }
  };
  if (poolSize === 1) {
    await both('get_queue_config, runtime (workers)', 1, (runtime, i) =>
      runtime.call('get_queue_config', [domains[i % 3], null, null, null]),
    );
  }
  await both('get_queue_config, runtime (workers)', 64, (runtime, i) =>
    runtime.call('get_queue_config', [domains[i % 3], null, null, null]),
  );
  await both('smtp_server_message_received 2 KiB', 64, (runtime) =>
    runtime.call('smtp_server_message_received', [
      message,
      connectionMetaArg({ received_from: '127.0.0.1:1' }),
    ]),
  );
  await both('heavy handler (2,000-iteration loop)', 64, (runtime, i) =>
    runtime.call('heavy', [domains[i % 3]]),
  );
  await runtimes.lua.close();
  await runtimes.ts.close();
}

const ratio = (prefix: string) => {
  const one = rows.find(
    (r) =>
      r.policy === 'lua' && r.contexts === 1 && r.inFlight === 64 && r.scenario.startsWith(prefix),
  );
  const two = rows.find(
    (r) => r.policy === 'lua' && r.contexts === 2 && r.scenario.startsWith(prefix),
  );
  return one && two ? Math.round((two.callsPerSecond / one.callsPerSecond) * 100) / 100 : undefined;
};
// TypeScript against Lua, row by row (same scenario, contexts and calls in flight).
const tsOverLua = rows
  .filter((r) => r.policy === 'ts')
  .map((ts) => {
    const lua = rows.find(
      (r) =>
        r.policy === 'lua' &&
        r.scenario === ts.scenario &&
        r.contexts === ts.contexts &&
        r.inFlight === ts.inFlight,
    );
    return {
      scenario: ts.scenario,
      contexts: ts.contexts,
      inFlight: ts.inFlight,
      ratio: lua ? Math.round((ts.callsPerSecond / lua.callsPerSecond) * 100) / 100 : undefined,
    };
  });
const scaling = {
  get_queue_config: ratio('get_queue_config, runtime'),
  smtp_server_message_received: ratio('smtp_server_message_received'),
  heavy: ratio('heavy'),
};
console.log(
  `\npool of 2 vs 1 (64 in flight): get_queue_config x${scaling.get_queue_config}, ` +
    `message x${scaling.smtp_server_message_received}, heavy x${scaling.heavy}; ` +
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} cpus`,
);

const results = join(import.meta.dirname, 'results');
mkdirSync(results, { recursive: true });
const file = join(
  results,
  `lua-${new Date().toISOString().replaceAll(':', '-').replace('.', '-')}.json`,
);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      benchmark: 'lua-events',
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      parallelism: availableParallelism(),
      cpuModel: cpus()[0]?.model,
      calls: CALLS,
      rounds: ROUNDS,
      rows,
      loadAverage: loadavg(),
      poolScaling: scaling,
      tsOverLua,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${file}`);
