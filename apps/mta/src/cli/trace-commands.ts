// Placeholder for `sterna trace-smtp-server` / `trace-smtp-client` (issue 19); the trace work fills it in.
import type { Command } from 'commander';

/** Adds the trace subcommands to the `sterna` program. */
export function registerTraceCommands(_program: Command): void {}
