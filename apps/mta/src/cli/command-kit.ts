import type { Command } from 'commander';
import { type AdminClient, adminClient, CliError, resolveEndpoint } from './client.js';

/** Where a subcommand writes: standard output for results. */
export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Pretty JSON, as kcli prints the daemon's replies. */
export function printJson(value: unknown): void {
  print(JSON.stringify(value ?? {}, null, 2));
}

/** The client for the endpoint the program's `--endpoint` (or the environment) names. */
export function clientOf(command: Command): AdminClient {
  const { endpoint } = command.optsWithGlobals<{ endpoint?: string }>();
  return adminClient(resolveEndpoint(endpoint));
}

/** Commander's collector for a repeatable option. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Reads a positive whole number option (`--limit`). */
export function wholeNumber(name: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new CliError(`${name}: '${value}' is not a whole number`);
    return Number(value);
  };
}

/** Sets an action that gets the client first; errors reach main's one-line report. */
export function withClient<O>(
  command: Command,
  action: (client: AdminClient, options: O, args: string[]) => Promise<void>,
): Command {
  return command.action(async (...params: unknown[]) => {
    const self = params.at(-1) as Command;
    await action(clientOf(self), self.opts() as O, self.args);
  });
}
