import type { Command } from 'commander';
import { CliError } from './client.js';
import { collect, print, printJson, withClient } from './command-kit.js';
import { renderTable } from './table.js';

interface SelectorOptions {
  domain?: string;
  routingDomain?: string;
  campaign?: string;
  tenant?: string;
  queue?: string[];
  everything?: boolean;
  reason: string;
  duration: string;
  suppressLogging?: boolean;
}

const DURATION_HELP = "how long the rule stays in effect (seconds or '5m', '1h 30m'…)";

function selectors(o: SelectorOptions, what: string, routing: boolean): Record<string, unknown> {
  const given = o.domain ?? (routing ? o.routingDomain : undefined) ?? o.campaign ?? o.tenant;
  if (given === undefined && !o.queue?.length && !o.everything) {
    throw new CliError(
      `${what}: name what to match with --domain${routing ? ', --routing-domain' : ''}, --campaign, ` +
        '--tenant, --queue, or --everything',
    );
  }
  return {
    domain: o.domain,
    ...(routing ? { routing_domain: o.routingDomain } : {}),
    campaign: o.campaign,
    tenant: o.tenant,
    ...(o.queue?.length ? { queue_names: o.queue } : {}),
  };
}

function selectorOptions(command: Command, noun: string, routing: boolean): Command {
  command
    .option('--domain <domain>', 'the domain name to match; if omitted, any domain matches')
    .option('--campaign <campaign>', 'the campaign name to match; if omitted, any campaign matches')
    .option('--tenant <tenant>', 'the tenant name to match; if omitted, any tenant matches')
    .option(
      '--queue <queue>',
      `${noun} scheduled queues by exact name; may be given several times`,
      collect,
    )
    .option('--everything', `${noun} all queues`);
  if (routing)
    command.option(
      '--routing-domain <domain>',
      'the routing_domain to match; if omitted, any routing domain matches',
    );
  return command;
}

// The lists' rows: the ids and selectors first, then what is left of the rule's life.
function ruleTable(rules: readonly Record<string, unknown>[], empty: string): string {
  if (rules.length === 0) return `${empty}\n`;
  const keys = ['id', 'name', 'domain', 'routing_domain', 'campaign', 'tenant', 'queue_names'];
  const present = keys.filter((k) => rules.some((r) => r[k] !== undefined && r[k] !== null));
  const columns = [...present, 'duration', 'reason'];
  return renderTable(
    columns.map((title) => ({ title: title.toUpperCase(), numeric: title === 'duration' })),
    rules.map((r) =>
      columns.map((k) => {
        const v = r[k];
        if (v === undefined || v === null) return '';
        if (k === 'duration' && typeof v === 'number') return `${Math.ceil(v)}s`;
        return Array.isArray(v) ? v.join(',') : String(v);
      }),
    ),
  );
}

/** kcli's bounce, suspend and ready-queue suspension commands, and rebind. */
export function registerAdminCommands(program: Command): void {
  withClient<SelectorOptions>(
    selectorOptions(
      program
        .command('bounce')
        .description(
          'Administratively bounce messages in matching queues. Each bounced message gets an ' +
            'AdminBounce record and leaves the spool; the rule keeps bouncing new matching ' +
            'messages for its duration.',
        ),
      'bounce',
      true,
    )
      .requiredOption('--reason <reason>', 'the reason logged in each AdminBounce record')
      .option('--suppress-logging', 'do not write AdminBounce records')
      .option('--duration <duration>', DURATION_HELP, '5m'),
    async (client, o) => {
      printJson(
        await client.send('POST', '/api/admin/bounce/v1', {
          ...selectors(o, 'bounce', true),
          reason: o.reason,
          duration: o.duration,
          ...(o.suppressLogging ? { suppress_logging: true } : {}),
        }),
      );
    },
  );
  listCommand(
    program,
    'bounce-list',
    'Returns the list of current administrative bounce rules',
    '/api/admin/bounce/v1',
    'No bounces.',
  );
  cancelCommand(
    program,
    'bounce-cancel',
    'Cancels an admin bounce entry (messages it already bounced stay bounced)',
    '/api/admin/bounce/v1',
    'bounce',
  );

  withClient<SelectorOptions>(
    selectorOptions(
      program
        .command('suspend')
        .description('Administratively suspend messages in matching scheduled queues'),
      'suspend',
      false,
    )
      .requiredOption('--reason <reason>', 'the reason logged in the delivery logs')
      .option('--duration <duration>', DURATION_HELP, '5m'),
    async (client, o) => {
      printJson(
        await client.send('POST', '/api/admin/suspend/v1', {
          ...selectors(o, 'suspend', false),
          reason: o.reason,
          duration: o.duration,
        }),
      );
    },
  );
  listCommand(
    program,
    'suspend-list',
    'Returns the list of current administrative suspend rules',
    '/api/admin/suspend/v1',
    'No suspensions.',
  );
  cancelCommand(
    program,
    'suspend-cancel',
    'Cancels an admin suspend entry',
    '/api/admin/suspend/v1',
    'suspend',
  );

  withClient<{ name: string; reason: string; duration: string }>(
    program
      .command('suspend-ready-q')
      .description('Administratively suspend the ready queue for an egress path')
      .requiredOption('--name <name>', 'the name of the ready queue to suspend')
      .requiredOption('--reason <reason>', 'the reason logged in the delivery logs')
      .option('--duration <duration>', 'how long to suspend', '5m'),
    async (client, o) => {
      printJson(
        await client.send('POST', '/api/admin/suspend-ready-q/v1', {
          name: o.name,
          reason: o.reason,
          duration: o.duration,
        }),
      );
    },
  );
  listCommand(
    program,
    'suspend-ready-q-list',
    'Returns the list of current ready queue/egress path suspend rules',
    '/api/admin/suspend-ready-q/v1',
    'No ready queue suspensions.',
  );
  cancelCommand(
    program,
    'suspend-ready-q-cancel',
    'Cancels an admin suspend entry for a ready queue/egress path',
    '/api/admin/suspend-ready-q/v1',
    'suspend-ready-q',
  );

  registerRebind(program);
}

function listCommand(
  program: Command,
  name: string,
  description: string,
  path: string,
  empty: string,
): void {
  withClient<{ json?: boolean }>(
    program
      .command(name)
      .description(`${description} (un-expired ones in effect on the daemon)`)
      .option('--json', 'print the underlying JSON instead of a table'),
    async (client, o) => {
      const rules = await client.get<Record<string, unknown>[]>(path);
      if (o.json) printJson(rules);
      else print(ruleTable(rules ?? [], empty));
    },
  );
}

function cancelCommand(
  program: Command,
  name: string,
  description: string,
  path: string,
  listed: string,
): void {
  withClient<{ id: string }>(
    program
      .command(name)
      .description(description)
      .requiredOption('--id <id>', `the id of the entry, as ${listed} or ${listed}-list shows it`),
    async (client, o) => {
      await client.send('DELETE', path, { id: o.id });
      print(`cancelled ${o.id}`);
    },
  );
}

interface RebindOptions {
  domain?: string;
  routingDomain?: string;
  campaign?: string;
  tenant?: string;
  everything?: boolean;
  reason: string;
  alwaysFlush?: boolean;
  suppressLogging?: boolean;
  triggerRebindEvent?: boolean;
  data?: string;
  set?: string[];
}

function rebindData(o: RebindOptions): Record<string, string> {
  const data: Record<string, string> = {};
  if (o.data !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(o.data);
    } catch {
      throw new CliError(`--data: '${o.data}' is not JSON (expected e.g. '{"queue":"foo.com"}')`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new CliError('--data: expected a JSON object of key/value pairs');
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string') throw new CliError(`--data: the value of '${k}' is not a string`);
      data[k] = v;
    }
  }
  for (const pair of o.set ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CliError(`--set: '${pair}' is not KEY=VALUE`);
    data[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return data;
}

function registerRebind(program: Command): void {
  withClient<RebindOptions>(
    program
      .command('rebind')
      .description(
        'Rebind messages from matching queues into different queue(s): the --data/--set pairs ' +
          "are merged into each message's meta (or passed to the rebind_message event); a " +
          'message whose queue changes goes at once and gets an AdminRebind record. Runs ' +
          'asynchronously. Example: sterna rebind --domain example.com --set queue=foo.com --reason move',
      )
      .option('--domain <domain>', 'the domain name to match; if omitted, any domain matches')
      .option('--routing-domain <domain>', 'the routing_domain to match; if omitted, any matches')
      .option('--campaign <campaign>', 'the campaign name to match; if omitted, any matches')
      .option('--tenant <tenant>', 'the tenant name to match; if omitted, any matches')
      .requiredOption('--reason <reason>', 'the reason logged in each AdminRebind record')
      .option('--always-flush', 'make messages due now even when their queue did not change')
      .option('--everything', 'match all queues')
      .option('--suppress-logging', 'do not write AdminRebind records')
      .option(
        '--trigger-rebind-event',
        'pass each message and the data to the rebind_message event',
      )
      .option('--data <json>', 'a JSON object of key/value pairs to set as meta')
      .option('--set <key=value>', 'one more key/value pair; may be given several times', collect),
    async (client, o) => {
      const data = rebindData(o);
      await client.send('POST', '/api/admin/rebind/v1', {
        reason: o.reason,
        data,
        ...(o.domain !== undefined ? { domain: o.domain } : {}),
        ...(o.routingDomain !== undefined ? { routing_domain: o.routingDomain } : {}),
        ...(o.campaign !== undefined ? { campaign: o.campaign } : {}),
        ...(o.tenant !== undefined ? { tenant: o.tenant } : {}),
        ...(o.alwaysFlush ? { always_flush: true } : {}),
        ...(o.suppressLogging ? { suppress_logging: true } : {}),
        ...(o.triggerRebindEvent ? { trigger_rebind_event: true } : {}),
      });
      print('rebind requested; messages are moved in the background (errors go to the daemon log)');
    },
  );
}
