import type { Command } from 'commander';
import { print, printJson, wholeNumber, withClient } from './command-kit.js';
import { readMetrics } from './metrics-source.js';
import { readyQueueRows, renderProviderSummary, renderQueueSummary } from './queue-summary.js';

/** kcli's queue-summary and provider-summary, read from the daemon's metrics. */
export function registerSummaryCommands(program: Command): void {
  withClient<{ limit?: number; byVolume?: boolean; domain?: string; json?: boolean }>(
    program
      .command('queue-summary')
      .description(
        'Prints a summary of the queues for a human to read (not a stable format): the ready ' +
          'queues with D delivered, T transiently failed, C open connections, Q messages ' +
          'ready (counts reset when an idle ready queue is reaped), then the scheduled queues ' +
          'with their message counts. Read from /metrics.json.',
      )
      .option('--limit <limit>', 'at most LIMIT rows per section', wholeNumber('--limit'))
      .option('--by-volume', 'order by volume, descending, instead of by name')
      .option('--domain <domain>', 'only queues associated with this DNS domain')
      .option('--json', "Sterna's own: the rows as JSON"),
    async (client, o) => {
      const series = await readMetrics(client);
      if (o.json) printJson({ ready_queues: readyQueueRows(series) });
      else print(renderQueueSummary(series, o));
    },
  );

  withClient<{ limit?: number; byPool?: boolean }>(
    program
      .command('provider-summary')
      .description(
        'Prints the aggregate state of the queues per destination site, by descending volume ' +
          '(D delivered, T transiently failed, F failed, Q queued, C connections). Not a stable ' +
          'format. Read from /metrics.json.',
      )
      .option('--by-pool', 'add a POOL column (Sterna: the egress source) and split rows by it')
      .option('--limit <limit>', 'at most LIMIT rows', wholeNumber('--limit')),
    async (client, o) => {
      print(renderProviderSummary(await readMetrics(client), o));
    },
  );
}
