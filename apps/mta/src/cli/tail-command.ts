import type { Command } from 'commander';
import { CliError } from './client.js';
import { collect, wholeNumber } from './command-kit.js';
import { LogFollower } from './log-follower.js';
import { formatRecordLine, type RecordFilter, recordMatches } from './log-line.js';

/** The embedded default policy's log directory, relative to where the daemon runs. */
export const DEFAULT_LOG_DIR = './data/logs';

interface TailOptions {
  logDir?: string;
  follow?: boolean;
  type?: string[];
  domain?: string[];
  id?: string[];
  format: string;
  maxRecords?: number;
  timeout?: number;
  pollInterval: number;
}

const list = (values: readonly string[] | undefined) =>
  values
    ?.flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');

/** Prints matching records of `dir`; follows new ones when asked, within the bounds given. */
async function runTail(dir: string, o: TailOptions): Promise<void> {
  if (o.format !== 'json' && o.format !== 'line')
    throw new CliError(`--format: '${o.format}' is not json or line`);
  const filter: RecordFilter = { types: list(o.type), domains: list(o.domain), ids: list(o.id) };
  const filtering = Boolean(filter.types?.length || filter.domains?.length || filter.ids?.length);
  // segment names go to stderr, so stdout stays one record per line
  const follower = new LogFollower(dir, (path) => process.stderr.write(`${path}\n`));
  const deadline = o.timeout === undefined ? undefined : Date.now() + o.timeout * 1000;
  let printed = 0;
  let stopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    wake?.();
  };
  process.once('SIGINT', stop);
  try {
    let waitingNoted = false;
    for (;;) {
      for (const line of await follower.poll()) {
        let record: Record<string, unknown> | undefined;
        try {
          const parsed: unknown = JSON.parse(line);
          if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
            record = parsed as Record<string, unknown>;
        } catch {
          record = undefined;
        }
        if (record === undefined) {
          if (!filtering) process.stdout.write(`${line}\n`); // template output, a segment header
          continue;
        }
        if (!recordMatches(record, filter)) continue;
        process.stdout.write(`${o.format === 'line' ? formatRecordLine(record) : line}\n`);
        printed++;
        if (o.maxRecords !== undefined && printed >= o.maxRecords) return;
      }
      if (!o.follow || stopped) return;
      if (deadline !== undefined && Date.now() >= deadline) return;
      if (!waitingNoted) {
        process.stderr.write('waiting for more records (Ctrl-C stops)\n');
        waitingNoted = true;
      }
      const pause =
        deadline === undefined
          ? o.pollInterval
          : Math.min(o.pollInterval, Math.max(0, deadline - Date.now()));
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, pause);
      });
      if (stopped) return;
    }
  } finally {
    process.off('SIGINT', stop);
  }
}

/** `sterna tail`: Sterna's own (KumoMTA ships it as the separate `tailer` program). */
export function registerTailCommand(program: Command): void {
  program
    .command('tail')
    .description(
      "Prints the daemon's log records from its log directory, decompressing the zstd " +
        'segments, and with --follow keeps printing new records as they are written (new ' +
        "segments included). Not a kcli command: it does what KumoMTA's separate `tailer` " +
        'does, and reads the files, not the HTTP API. Segment names go to stderr.',
    )
    .argument('[dir]', "the log directory (the policy's configure_local_logs log_dir)")
    .option(
      '--log-dir <dir>',
      `the log directory (default ${DEFAULT_LOG_DIR}, the embedded default policy's)`,
    )
    .option('-f, --follow', 'keep following new records and segments until Ctrl-C')
    .option('--tail', "the same as --follow (tailer's name)")
    .option(
      '--type <type>',
      'only records of this type (Reception, Delivery, TransientFailure, Bounce, AdminBounce…); may repeat or be comma-separated',
      collect,
    )
    .option(
      '--domain <domain>',
      'only records for this recipient (or queue) domain; may repeat',
      collect,
    )
    .option('--id <id>', 'only records of this message id; may repeat', collect)
    .option(
      '--format <format>',
      'json: the records as written (one JSON object a line); line: one readable line each',
      'json',
    )
    .option('--max-records <n>', 'stop after printing N records', wholeNumber('--max-records'))
    .option(
      '--timeout <seconds>',
      'stop following after this many seconds',
      wholeNumber('--timeout'),
    )
    .option(
      '--poll-interval <ms>',
      'how often to look for new records when following',
      wholeNumber('--poll-interval'),
      500,
    )
    .action(async (dir: string | undefined, o: TailOptions & { tail?: boolean }) => {
      if (dir !== undefined && o.logDir !== undefined && dir !== o.logDir)
        throw new CliError(
          `tail: give the log directory once (both '${dir}' and --log-dir '${o.logDir}')`,
        );
      await runTail(dir ?? o.logDir ?? DEFAULT_LOG_DIR, { ...o, follow: o.follow || o.tail });
    });
}
