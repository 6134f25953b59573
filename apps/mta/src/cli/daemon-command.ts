import { fileURLToPath } from 'node:url';
import { errorText } from '@sterna/core';
import { Command } from 'commander';
import { Daemon } from '../daemon/daemon.js';
import { levelOfFilter } from './log-filter.js';
import { diagnosticLogger } from './logger.js';

/** The policy the daemon runs when given none: loopback relay by MX, data under ./data. */
export const DEFAULT_POLICY = fileURLToPath(new URL('../../policy/default.lua', import.meta.url));

const DEFAULT_POLICY_HINT = `
Sterna is running the embedded default policy (relay for 127.0.0.1 and ::1, delivery by MX,
spool and logs under ./data). Send a test message:
  SMTP:  any client to 127.0.0.1:2525
  HTTP:  curl -s http://127.0.0.1:8000/api/inject/v1 -H 'content-type: application/json' \\
           -d '{"envelope_sender":"me@example.org","content":"Subject: hi\\r\\n\\r\\nhello\\r\\n","recipients":[{"email":"you@your.domain"}]}'
Logs (zstd JSON lines): ./data/logs; follow them from another terminal with
  npx -y pnpm@12.4.2 sterna tail --follow --format line
and see the queues with 'sterna queue-summary' ('sterna --help' lists the commands).
The live dashboard: http://127.0.0.1:8000/ui/ (from this machine; see docs/dashboard.md).
Stop with Ctrl-C.

`;

interface CliOptions {
  policy: string;
  config?: string;
  validate?: boolean;
  logLevel: string;
}

/**
 * Daemon mode: `sterna [--policy FILE] [--config FILE] [--validate] [--log-level L]`; resolves
 * with the exit code once the daemon has stopped. `afterHelp` is appended to `--help`.
 */
export async function runDaemonCommand(
  argv: readonly string[],
  afterHelp: string,
): Promise<number> {
  const program = new Command('sterna')
    .description('Sterna: a mail transfer agent that runs KumoMTA Lua policies')
    .option('--policy <file>', 'the Lua policy to run', DEFAULT_POLICY)
    .option('--config <file>', 'the daemon config (default: sterna.config.* beside the policy)')
    .option(
      '--validate',
      'load the policy, run init in check mode and fire validate_config; report problems and exit',
    )
    .option(
      '--log-level <level>',
      'diagnostic log level: debug, info, warn, error',
      process.env.STERNA_LOG ?? 'info',
    )
    .addHelpText('after', afterHelp)
    .showHelpAfterError();
  program.parse([...argv], { from: 'user' });
  const options = program.opts<CliOptions>();
  const log = diagnosticLogger(options.logLevel);

  if (options.validate) {
    try {
      const { problems, warnings } = await Daemon.validate({
        policy: options.policy,
        config: options.config,
        log,
      });
      for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
      for (const problem of problems) process.stderr.write(`problem: ${problem}\n`);
      process.stderr.write(
        problems.length === 0
          ? `${options.policy}: OK\n`
          : `${options.policy}: ${problems.length} problem(s)\n`,
      );
      return problems.length === 0 ? 0 : 1;
    } catch (error) {
      process.stderr.write(`error: ${errorText(error)}\n`);
      return 1;
    }
  }

  let daemon: Daemon;
  try {
    daemon = await Daemon.start({
      policy: options.policy,
      config: options.config,
      log,
      announce: (line) => process.stderr.write(`${line}\n`),
      diagnostics: {
        set(filter) {
          const level = levelOfFilter(filter);
          log.setLevel(level);
          log.info(`diagnostic log filter '${filter}' applied: level ${level}`);
        },
      },
    });
    if (options.policy === DEFAULT_POLICY) process.stderr.write(DEFAULT_POLICY_HINT);
  } catch (error) {
    process.stderr.write(`error: ${errorText(error)}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let signals = 0;
    const shutdown = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        process.stderr.write(`${signal} again: exiting now; undelivered mail stays in the spool\n`);
        resolve(1);
        return;
      }
      process.stderr.write(`${signal}: shutting down\n`);
      daemon.stop().then(
        () => resolve(0),
        (error: unknown) => {
          process.stderr.write(`error during shutdown: ${errorText(error)}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  });
}
