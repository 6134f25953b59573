/**
 * Putting a value on the Lua stack: wasmoon's generic `pushValue` (after `toLua`, as Sterna did)
 * against Sterna's direct writer `pushLuaValue`, on one engine, with a KumoMTA Delivery log
 * record (what `msg:get_meta('log_record')` pushes for a log hook) and with the four strings of a
 * `get_queue_config` call. CPU microseconds per push, best of the rounds.
 *
 *   npx tsx --conditions=@sterna/source bench/lua-push.ts [--n 20000] [--rounds 3]
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
// Relative imports: the workspace root does not depend on its packages (nor on wasmoon).
import type * as Wasmoon from '../packages/lua/node_modules/wasmoon/dist/index.js';
import { toLua } from '../packages/lua/src/shared/json-text.js';
import { pushLuaValue } from '../packages/lua/src/shared/lua-push.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
  },
});
const n = Number(args.n);
const rounds = Number(args.rounds);

const { LuaFactory } = createRequire(new URL('../packages/lua/package.json', import.meta.url))(
  'wasmoon',
) as typeof Wasmoon;
const engine = await new LuaFactory().createEngine({ enableProxy: false, injectObjects: false });
const thread = engine.global;

const record = {
  type: 'Delivery',
  id: '3cdb3603ef7411f1a4fb85907aa6a15c',
  sender: 'bench@example.org',
  recipient: 'user8@bench.example',
  queue: 'bench.example',
  site: 'unspecified->mx_list:127.0.0.1:38481@smtp_client',
  size: 4411,
  response: { code: 250, enhanced_code: null, content: 'OK: message queued', command: '.\r\n' },
  peer_address: { name: '127.0.0.1', addr: '127.0.0.1:38481' },
  timestamp: 1796341794,
  event_time: '2026-12-03T23:49:54.404Z',
  created: 1796341794,
  created_time: '2026-12-03T23:49:54.144Z',
  num_attempts: 0,
  bounce_classification: 'Uncategorized',
  egress_pool: 'unspecified',
  egress_source: 'unspecified',
  source_address: { address: '127.0.0.1:33254' },
  feedback_report: null,
  meta: { tenant: 'acme', campaign: 'winter' },
  headers: { Subject: 'Hello', 'X-Customer-ID': '42' },
  delivery_protocol: 'ESMTP',
  reception_protocol: 'ESMTP',
  nodeid: '9e2eff41-30dd-466b-b74a-ed81acb8c56f',
  session_id: 'c794dfe4-57f5-437c-90df-b5dfd30da765',
};
const queueArgs = ['bench.example', 'acme', 'winter', 'bench.example'];

function perPush(push: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      push();
      thread.setTop(0);
    }
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / n);
  }
  return best;
}

const rows = [
  {
    value: 'a Delivery log record',
    wasmoon: perPush(() => thread.pushValue(toLua(record))),
    direct: perPush(() => pushLuaValue(thread, record)),
  },
  {
    value: "get_queue_config's four strings",
    wasmoon: perPush(() => {
      for (const a of queueArgs) thread.pushValue(a);
    }),
    direct: perPush(() => {
      for (const a of queueArgs) pushLuaValue(thread, a);
    }),
  },
];
engine.global.close();

console.log(`${n} pushes a round, best of ${rounds}; CPU µs per push\n`);
console.log('| value | wasmoon pushValue | pushLuaValue | ratio |');
console.log('|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.value} | ${r.wasmoon.toFixed(1)} | ${r.direct.toFixed(1)} | ${(r.wasmoon / r.direct).toFixed(1)}× |`,
  );
}
