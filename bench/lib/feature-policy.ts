// The policies of `bench/cluster.ts` (issue 22, item 6: the cost of features). One relay policy,
// the same listeners, spool and egress path as bench/lib/daemon.ts's benchPolicy, but with local
// logs only where a variant asks for them: `plain` is the relay with nothing switched on (no
// log files, no hook, no throttle), and each other variant adds one feature to it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const FEATURE_VARIANTS = ['plain', 'local', 'shaping', 'logs', 'logfiles', 'redis'] as const;
export type FeatureVariant = (typeof FEATURE_VARIANTS)[number];

/** The recipient domain of bench/lib/load.ts's messages: the queue the shaping file names. */
export const SINK_DOMAIN = 'bench.example';

/** A rate no bench run comes near (the load is thousands of messages a second at most). */
export const UNBINDING_RATE = '1000000/s';

/** The egress path every variant starts from (benchPolicy's). */
const PATH = `prohibited_hosts = {}, enable_tls = 'Disabled', connection_limit = 20`;

export interface FeaturePolicyOptions {
  /** Spool (and, for the log variants, logs) under this folder. */
  readonly dir: string;
  readonly sinkPort: number;
  /** The bench's DNS server (`ip:port`): the shaping helper looks up the domain's MX. */
  readonly dnsServer: string;
  /** `redis://…`, for `redis`. */
  readonly redisUrl?: string;
  /** Where the log hook POSTs, for `logs`. */
  readonly hookUrl?: string;
  /** The hook's batch_size (1: one POST per record, the helper's default). */
  readonly hookBatch?: number;
  /** `log_parameters = { deferred_spool = true }`: records held in memory until they must wait. */
  readonly hookDeferredSpool?: boolean;
}

/** The shaping file of `shaping`: written beside the policy, returned as its path. */
export async function writeShapingFile(dir: string): Promise<string> {
  const file = join(dir, 'shaping.toml');
  await writeFile(
    file,
    `# bench/cluster.ts, variant 'shaping': limits set as an operator sets them, none binding.
["default"]
# The bench's path (benchPolicy's): the sink is on loopback, no TLS.
prohibited_hosts = []
enable_tls = "Disabled"
connection_limit = 20

["${SINK_DOMAIN}"]
mx_rollup = false
# The same as plain's path: a larger value would make the ready queue open more connections
# (KumoMTA's ramp), which changes the load rather than measuring a cost.
connection_limit = 20
max_message_rate = "${UNBINDING_RATE}"
max_connection_rate = "${UNBINDING_RATE}"
additional_connection_limits = { "bench-fleet-connections" = 100000 }
additional_message_rate_throttles = { "bench-fleet-messages" = "${UNBINDING_RATE}" }
`,
  );
  return file;
}

/** The Lua policy of one variant. */
export function featurePolicy(
  variant: FeatureVariant,
  options: FeaturePolicyOptions,
  shapingFile?: string,
): string {
  const { dir, sinkPort, dnsServer } = options;
  const protocol = `{ smtp = { mx_list = { '127.0.0.1:${sinkPort}' } } }`;
  const throttled = variant === 'local' || variant === 'redis';
  const rate = throttled ? `, max_message_rate = '${UNBINDING_RATE}'` : '';
  const logs = variant === 'logs' || variant === 'logfiles';
  const head: string[] = [];
  const init: string[] = [];
  let egress = `kumo.on('get_egress_path_config', function()
  return kumo.make_egress_path { ${PATH}${rate} }
end)`;

  if (variant === 'shaping') {
    if (!shapingFile) throw new Error('the shaping variant needs its shaping file');
    // KumoMTA's documented shape (docs.kumomta.com, "Traffic Shaping Automation"), with the
    // bench's own file only: Sterna's default file would bind (60 connections a minute).
    head.push(`local shaping = require 'policy-extras.shaping'
local shaper = shaping:setup_with_automation {
  no_default_files = true,
  extra_files = { '${shapingFile}' },
}`);
    init.push('shaper.setup_publish()');
    egress = `kumo.on('get_egress_path_config', shaper.get_egress_path_config)`;
  }
  if (variant === 'logs') {
    if (!options.hookUrl) throw new Error('the logs variant needs the hook receiver');
    const batch = options.hookBatch ?? 1;
    // KumoMTA's documented webhook (docs.kumomta.com, "Publishing Log Events Via Webhooks"),
    // set up before the policy's own get_queue_config (the first non-nil answer wins).
    head.push(`local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new_json {
  name = 'webhook',
  url = '${options.hookUrl}',
  log_parameters = {${options.hookDeferredSpool ? ' deferred_spool = true ' : ''}},${batch > 1 ? `\n  batch_size = ${batch},` : ''}
}`);
  }
  if (logs) init.push(`kumo.configure_local_logs { log_dir = '${dir}/logs' }`);
  if (variant === 'redis') {
    if (!options.redisUrl) throw new Error('the redis variant needs redis-server');
    init.push(`kumo.configure_redis_throttles { node = '${options.redisUrl}' }`);
  }

  return `
local kumo = require 'kumo'
${head.join('\n')}
kumo.on('init', function()
  kumo.dns.configure_resolver { name_servers = { '${dnsServer}' } }
  kumo.start_esmtp_listener { listen = '127.0.0.1:0', relay_hosts = { '127.0.0.0/8' }, max_messages_per_connection = 1000000 }
  kumo.start_http_listener { listen = '127.0.0.1:0' }
  kumo.define_spool { name = 'data', path = '${dir}/spool/data' }
  kumo.define_spool { name = 'meta', path = '${dir}/spool/meta' }
  ${init.join('\n  ')}
end)
${egress}
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { protocol = ${protocol}${rate} }
end)
`;
}
