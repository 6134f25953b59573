import type { Command } from 'commander';
import type { AdminClient } from './client.js';
import { clientOf, wholeNumber } from './command-kit.js';
import { type MetricSeries, readMetrics, sumBy } from './metrics-source.js';
import { readyQueueRows } from './queue-summary.js';
import { renderTable } from './table.js';

const COUNTERS = [
  ['received', 'total_messages_received'],
  ['delivered', 'total_messages_delivered'],
  ['transfail', 'total_messages_transfail'],
  ['failed', 'total_messages_fail'],
] as const;

// A counter's daemon-wide value: the unlabelled series, else the aggregate services, else all.
function counter(series: readonly MetricSeries[], name: string): number {
  const own = series.filter((s) => s.name === name);
  const bare = own.filter((s) => Object.keys(s.labels).length === 0);
  if (bare.length > 0) return bare.reduce((a, s) => a + s.value, 0);
  const perService = own.filter(
    (s) => s.labels.service !== undefined && !s.labels.service.includes('->'),
  );
  const pick = perService.length > 0 ? perService : own;
  return pick.reduce((a, s) => a + s.value, 0);
}

const gauge = (series: readonly MetricSeries[], name: string) =>
  series.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);

/** One screen of `top`: totals with per-second rates since `previous`, then the busiest queues. */
export function renderTopFrame(
  series: readonly MetricSeries[],
  previous: { series: readonly MetricSeries[]; seconds: number } | undefined,
  endpoint: string,
  rows: number,
): string {
  const lines = [`sterna top: ${endpoint}  ${new Date().toISOString()}  (q quits)`, ''];
  const totals = COUNTERS.map(([label, name]) => {
    const now = counter(series, name);
    const rate =
      previous && previous.seconds > 0
        ? `${((now - counter(previous.series, name)) / previous.seconds).toFixed(1)}/s`
        : '-';
    return [label, now, rate];
  });
  lines.push(
    renderTable(
      [{ title: 'MESSAGES' }, { title: 'TOTAL', numeric: true }, { title: 'RATE', numeric: true }],
      totals,
    ),
  );
  const scheduled = sumBy(series, 'scheduled_count', 'queue');
  lines.push(
    `held ${gauge(series, 'message_count')}  scheduled ${[...scheduled.values()].reduce((a, b) => a + b, 0)} in ${scheduled.size} queues  ` +
      `ready ${gauge(series, 'ready_count')}  connections ${gauge(series, 'connection_count')}`,
    '',
  );
  const busiest = readyQueueRows(series)
    .sort(
      (a, b) =>
        b.queued + b.connections - (a.queued + a.connections) || a.name.localeCompare(b.name),
    )
    .slice(0, rows);
  lines.push(
    busiest.length === 0
      ? 'No ready queues.'
      : renderTable(
          [
            { title: 'READY QUEUE' },
            { title: 'Q', numeric: true },
            { title: 'C', numeric: true },
            { title: 'D', numeric: true },
            { title: 'T', numeric: true },
          ],
          busiest.map((r) => [r.name, r.queued, r.connections, r.delivered, r.transfail]),
        ),
  );
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Redraws until q/Ctrl-C, or until `frames` screens were drawn. */
async function runTop(
  client: AdminClient,
  intervalSeconds: number,
  frames: number | undefined,
  rows: number,
): Promise<void> {
  const tty = process.stdout.isTTY === true;
  let quit = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    quit = true;
    clearTimeout(timer);
    wake?.();
  };
  const onKey = (key: Buffer) => {
    const k = key.toString();
    if (k === 'q' || k === 'Q' || k === '\u0003') stop();
  };
  const input = process.stdin;
  const keys = input.isTTY === true;
  if (keys) {
    input.setRawMode(true);
    input.on('data', onKey);
    input.resume();
  }
  process.once('SIGINT', stop);
  let previous: { series: MetricSeries[]; at: number } | undefined;
  let drawn = 0;
  try {
    while (!quit) {
      const series = await readMetrics(client);
      const at = Date.now();
      const frame = renderTopFrame(
        series,
        previous && { series: previous.series, seconds: (at - previous.at) / 1000 },
        client.endpoint,
        rows,
      );
      // a terminal is redrawn in place; a pipe gets one frame after the other
      process.stdout.write(tty ? `\u001b[H\u001b[2J${frame}` : `${frame}\n`);
      previous = { series, at };
      drawn++;
      if (frames !== undefined && drawn >= frames) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, intervalSeconds * 1000);
      });
    }
  } finally {
    process.off('SIGINT', stop);
    if (keys) {
      input.off('data', onKey);
      input.setRawMode(false);
      input.pause();
    }
  }
}

/** kcli's `top`, with Sterna's own `--frames` (bounded runs, e.g. for scripts and tests). */
export function registerTopCommand(program: Command): void {
  program
    .command('top')
    .description(
      'Continually shows what is happening in the daemon, redrawn from /metrics.json: message ' +
        'totals and rates, held, scheduled and ready counts, the busiest ready queues. q or ' +
        'Ctrl-C quits.',
    )
    .option(
      '--update-interval <seconds>',
      'seconds between redraws',
      wholeNumber('--update-interval'),
      1,
    )
    .option('--frames <n>', "Sterna's own: draw N screens, then exit", wholeNumber('--frames'))
    .option('--rows <n>', "Sterna's own: how many ready queues to list", wholeNumber('--rows'), 20)
    .action(async (o: { updateInterval: number; frames?: number; rows: number }, self: Command) => {
      await runTop(clientOf(self), Math.max(1, o.updateInterval), o.frames, o.rows);
    });
}
