import type { Command } from 'commander';
import { CliError } from './client.js';
import { collect, print, printJson, wholeNumber, withClient } from './command-kit.js';

/**
 * kcli's look-ups: inspect-message, inspect-sched-q, inspect-ready-q, ready-q-states and
 * resolve-egress-path. Each prints the daemon's JSON reply, pretty, as kcli does for these.
 */
export function registerInspectCommands(program: Command): void {
  withClient<{ wantBody?: boolean }>(
    program
      .command('inspect-message')
      .description('Returns information about a message in the spool')
      .argument('<id>', 'the spool id of the message (32 hex digits)')
      .option('--want-body', 'include the message content'),
    async (client, o, [id]) => {
      printJson(
        await client.get('/api/admin/inspect-message/v1', {
          id: id!,
          want_body: o.wantBody ? 'true' : undefined,
        }),
      );
    },
  );

  withClient<{ wantBody?: boolean; limit: number; noLimit?: boolean }>(
    program
      .command('inspect-sched-q')
      .description(
        'Returns information about a scheduled queue, with a sample of its messages (an ' +
          'unspecified subset, not necessarily the next ones due)',
      )
      .argument('<queue_name>', 'the name of the scheduled queue')
      .option('--want-body', "include each sampled message's content (can be expensive)")
      .option('--limit <limit>', 'how many messages to sample', wholeNumber('--limit'), 5)
      .option('--no-limit', 'sample every message of the queue (can be expensive)'),
    async (client, o, [queue]) => {
      // commander's --no-limit sets limit to false
      const unlimited = (o.limit as unknown) === false;
      printJson(
        await client.get('/api/admin/inspect-sched-q/v1', {
          queue_name: queue!,
          want_body: o.wantBody ? 'true' : undefined,
          limit: unlimited ? undefined : String(o.limit),
        }),
      );
    },
  );

  withClient<{ schedQ?: boolean; connections?: boolean; config?: boolean; json?: boolean }>(
    program
      .command('inspect-ready-q')
      .description(
        'Returns information about a ready queue: its egress identity and effective state ' +
          '(throttles, suspensions, ready and connection counts)',
      )
      .argument('<queue_name>', 'the name of the ready queue')
      .option('--sched-q', 'include the scheduled queues that feed this ready queue')
      .option(
        '--connections',
        'accepted for kcli compatibility; the reply always has the connection counts',
      )
      .option(
        '--config',
        'accepted for kcli compatibility; the reply always has the egress path config',
      )
      .option('--json', 'print the reply as JSON (Sterna always does)'),
    async (client, o, [queue]) => {
      printJson(
        await client.get('/api/admin/inspect-ready-q/v1', {
          queue_name: queue!,
          include_scheduled_queues: o.schedQ ? 'true' : undefined,
        }),
      );
    },
  );

  withClient<{ queue?: string[] }>(
    program
      .command('ready-q-states')
      .description(
        'Lists the ready queues that are waiting on a connection limit or connection rate ' +
          '(GET /api/admin/ready-q-states/v1)',
      )
      .option('--queue <name>', 'only this ready queue; may be given several times', collect),
    async (client, o) => {
      printJson(await client.get('/api/admin/ready-q-states/v1', { queues: o.queue }));
    },
  );

  withClient<{ config?: boolean; constraints?: boolean; json?: boolean }>(
    program
      .command('resolve-egress-path')
      .description(
        'Resolves the egress path configuration and throughput ceilings for a destination ' +
          "domain and egress source, through the running policy's get_queue_config and " +
          'get_egress_path_config, and the ready queue name that would be used',
      )
      .argument('<domain>', 'the destination domain')
      .argument('[source]', 'the egress source', 'unspecified')
      .option('--config', 'print only the egress path config')
      .option('--constraints', 'print only the derived ceilings')
      .option('--json', 'print the full reply as JSON'),
    async (client, o, [domain, source]) => {
      if ([o.config, o.constraints, o.json].filter(Boolean).length > 1)
        throw new CliError(
          'resolve-egress-path: --config, --constraints and --json exclude each other',
        );
      const reply = await client.get<Record<string, unknown>>('/api/admin/resolve-egress-path/v1', {
        domain: domain!,
        source: source ?? 'unspecified',
      });
      if (o.config) printJson(reply.path_config);
      else if (o.constraints) printJson(reply.constraints);
      else if (o.json) printJson(reply);
      else print(describeResolved(reply));
    },
  );

  withClient(
    program
      .command('set-log-filter')
      .description(
        'Changes the daemon\'s diagnostic log filter, e.g. "kumod=debug" or "info" ' +
          '(env_logger syntax; Sterna maps it onto one level: see docs/cli.md)',
      )
      .argument('<filter>', 'the filter'),
    async (client, _o, [filter]) => {
      await client.send('POST', '/api/admin/set_diagnostic_log_filter/v1', { filter });
      print(`diagnostic log filter set to ${filter}`);
    },
  );
}

function describeResolved(reply: Record<string, unknown>): string {
  const lines = [
    `domain:      ${String(reply.domain)}`,
    `source:      ${String(reply.source)}`,
    `ready queue: ${String(reply.queue_name)}`,
    'constraints:',
    ...Object.entries((reply.constraints as Record<string, unknown>) ?? {}).map(
      ([k, v]) => `  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
    ),
    '(--json shows the queue and egress path configs)',
  ];
  return lines.join('\n');
}
