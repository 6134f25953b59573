import { fileURLToPath } from 'node:url';
import { errorText } from '@sterna/core';
import { Command, CommanderError } from 'commander';
import { registerAdminCommands } from './admin-commands.js';
import { DEFAULT_ENDPOINT } from './client.js';
import { runDaemonCommand } from './daemon-command.js';
import { registerInspectCommands } from './inspect-commands.js';
import { registerSummaryCommands } from './summary-commands.js';
import { registerTailCommand } from './tail-command.js';
import { registerTopCommand } from './top-command.js';
import { registerTraceCommands } from './trace-commands.js';

export { DEFAULT_POLICY } from './daemon-command.js';

/** The subcommand program: kcli's commands (and Sterna's `tail`) against a running daemon. */
export function clientProgram(): Command {
  const program = new Command('sterna')
    .description(
      "Talks to a running Sterna daemon through its HTTP API, as KumoMTA's kcli does " +
        `(default ${DEFAULT_ENDPOINT}: the embedded default policy's listener)`,
    )
    .option(
      '--endpoint <url>',
      `URL of the daemon's HTTP API; KUMO_KCLI_ENDPOINT sets it too (default ${DEFAULT_ENDPOINT})`,
    )
    .exitOverride()
    .showHelpAfterError();
  registerAdminCommands(program);
  registerInspectCommands(program);
  registerSummaryCommands(program);
  registerTopCommand(program);
  registerTraceCommands(program);
  registerTailCommand(program);
  for (const command of program.commands)
    command.exitOverride().showHelpAfterError(`(sterna ${command.name()} --help shows its usage)`);
  return program;
}

/** The first word that is not the global `--endpoint` option: a subcommand's name, or not. */
function subcommandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--endpoint') i++;
    else if (!word.startsWith('--endpoint=')) return word;
  }
  return undefined;
}

// Levenshtein distance, for suggesting the subcommand meant.
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(
        row[j]! + 1,
        next[j - 1]! + 1,
        row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    row = next;
  }
  return row[b.length]!;
}

function commandList(program: Command): string {
  const names = program.commands.map((c) => c.name());
  return (
    `\nSubcommands (against a running daemon; 'sterna <subcommand> --help' for each):\n` +
    `  ${names.join(', ')}\n`
  );
}

/**
 * Runs the `sterna` command line. With a subcommand (`sterna queue-summary`), talks to a running
 * daemon; without one, runs the daemon. Resolves with the exit code.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = clientProgram();
  const word = subcommandWord(argv);
  const known = new Set(program.commands.flatMap((c) => [c.name(), ...c.aliases()]));
  if (word !== undefined && !word.startsWith('-') && !known.has(word) && word !== 'help') {
    // the daemon takes no arguments: a bare word is a mistyped subcommand
    const near = [...known].filter((name) => distance(name, word) <= 2);
    process.stderr.write(
      `error: unknown subcommand '${word}'${near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : ''}; 'sterna --help' lists them\n`,
    );
    return 1;
  }
  if (word === undefined || (!known.has(word) && word !== 'help'))
    return runDaemonCommand(argv, commandList(program));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`error: ${errorText(error).split('\n')[0]}\n`);
    return 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
