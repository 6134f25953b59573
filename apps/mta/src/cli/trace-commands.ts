import { type Command, Option } from 'commander';
import { followTrace } from '../trace/follow.js';
import {
  ANSI_COLOR,
  formatClientEvent,
  formatServerEvent,
  NO_COLOR,
  type Palette,
  SessionClock,
  serverSessionKey,
} from '../trace/format.js';
import type { ClientTraceEvent, ServerTraceEvent } from '../trace/types.js';
import { CliError, resolveEndpoint } from './client.js';
import { collect, print, wholeNumber } from './command-kit.js';

/** The options both trace commands take. */
interface CommonOptions {
  color: 'tty' | 'yes' | 'no';
  terse?: boolean;
  json?: boolean;
  maxEvents?: number;
  duration?: number;
}

interface ServerOptions extends CommonOptions {
  source?: string[];
  onlyNew?: boolean;
  onlyOne?: boolean;
}

interface ClientOptions extends CommonOptions {
  source?: string[];
  mxAddr?: string[];
  mxHost?: string[];
  domain?: string[];
  routingDomain?: string[];
  campaign?: string[];
  tenant?: string[];
  egressPool?: string[];
  egressSource?: string[];
  mailFrom?: string[];
  rcptTo?: string[];
  readyQueue?: string[];
}

function seconds(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) {
    throw new CliError(`--duration: '${value}' is not a number of seconds`);
  }
  return Number(value);
}

// kcli's --color, and Sterna's own bounded-run and JSON options shared by both commands.
function withCommon(command: Command): Command {
  return command
    .addOption(
      new Option('--color <when>', 'Whether to colorize the output')
        .choices(['tty', 'yes', 'no'])
        .default('tty'),
    )
    .option(
      '--terse',
      'Abbreviate the message data to its first line and its size (useful for large messages)',
    )
    .option('--json', "Print each event as one JSON line (the stream's own shape) [Sterna]")
    .option(
      '--max-events <n>',
      'Stop after printing this many events [Sterna]',
      wholeNumber('--max-events'),
    )
    .option('--duration <seconds>', 'Stop after this many seconds [Sterna]', seconds);
}

function paletteOf(color: CommonOptions['color']): Palette {
  if (color === 'yes') return ANSI_COLOR;
  if (color === 'no') return NO_COLOR;
  return process.stdout.isTTY ? ANSI_COLOR : NO_COLOR;
}

function announce(endpoint: string): () => void {
  return () => process.stderr.write(`tracing ${endpoint} (Ctrl-C to stop)\n`);
}

/**
 * Inbound filtering as kcli's: `--only-new` skips sessions already open when tracing began (their
 * first event seen is not `Connected`); `--only-one` follows the first session seen and, in
 * Sterna, stops when it closes.
 */
function serverHandler(options: ServerOptions) {
  const clock = new SessionClock();
  const color = paletteOf(options.color);
  const seen = new Map<string, boolean>();
  let chosen: string | undefined;
  return (raw: unknown, stop: () => void): boolean => {
    const event = raw as ServerTraceEvent;
    const key = serverSessionKey(event);
    if (!seen.has(key)) seen.set(key, event.payload === 'Connected');
    if (options.onlyNew && !seen.get(key)) return false;
    if (options.onlyOne) {
      chosen ??= key;
      if (key !== chosen) return false;
    }
    if (options.json) print(JSON.stringify(event));
    else for (const line of formatServerEvent(event, clock, color)) print(line);
    if (event.payload === 'Closed') {
      seen.delete(key);
      if (options.onlyOne) stop();
    }
    return true;
  };
}

function clientHandler(options: ClientOptions) {
  const clock = new SessionClock();
  const color = paletteOf(options.color);
  return (raw: unknown): boolean => {
    const event = raw as ClientTraceEvent;
    if (options.json) print(JSON.stringify(event));
    else for (const line of formatClientEvent(event, clock, color)) print(line);
    return true;
  };
}

function endpointOf(command: Command): string {
  const { endpoint } = command.optsWithGlobals<{ endpoint?: string }>();
  return resolveEndpoint(endpoint);
}

const follow = (options: CommonOptions, endpoint: string) => ({
  maxEvents: options.maxEvents,
  durationMs: options.duration === undefined ? undefined : options.duration * 1000,
  onOpen: announce(endpoint),
});

/** Adds `trace-smtp-server` and `trace-smtp-client` (kcli's live SMTP traces). */
export function registerTraceCommands(program: Command): void {
  withCommon(
    program
      .command('trace-smtp-server')
      .description(
        'Trace incoming connections made to the SMTP service, in real time (a diagnostic tool: ' +
          'on a busy server, narrow it with --source)',
      )
      .option(
        '--source <cidr>',
        'Trace only connections from this address or CIDR block (repeatable; default: all)',
        collect,
      )
      .option('--only-new', 'Trace only newly opened sessions; ignore those already open')
      .option('--only-one', 'Trace the first session observed, ignoring all others'),
  ).action(async (options: ServerOptions, command: Command) => {
    const endpoint = endpointOf(command);
    await followTrace(
      endpoint,
      '/api/admin/trace-smtp-server/v1',
      { source_addr: options.source ?? [], ...(options.terse ? { terse: true } : {}) },
      serverHandler(options),
      follow(options, endpoint),
    );
  });

  const client = program
    .command('trace-smtp-client')
    .description(
      'Trace outgoing SMTP sessions, in real time. Each filter is an allow-list applied once the ' +
        'session knows that property (a message property only once a message is in hand); ' +
        '--ready-queue is known from the start and narrows best',
    )
    .option('--source <cidr>', 'Local source address or CIDR block (repeatable)', collect)
    .option('--mx-addr <cidr>', 'MX host address or CIDR block (repeatable)', collect)
    .option('--mx-host <name>', 'MX host name (repeatable)', collect)
    .option('--domain <domain>', 'Recipient domain (repeatable)', collect)
    .option('--routing-domain <domain>', 'Routing domain (repeatable)', collect)
    .option('--campaign <name>', 'Campaign (repeatable)', collect)
    .option('--tenant <name>', 'Tenant (repeatable)', collect)
    .option('--egress-pool <name>', 'Egress pool (repeatable)', collect)
    .option('--egress-source <name>', 'Egress source (repeatable)', collect)
    .option('--mail-from <address>', 'Envelope sender (repeatable)', collect)
    .option('--rcpt-to <address>', 'Envelope recipient (repeatable)', collect)
    .option('--ready-queue <name>', 'Ready queue name (repeatable)', collect);
  withCommon(client).action(async (options: ClientOptions, command: Command) => {
    const endpoint = endpointOf(command);
    const request = {
      source_addr: options.source ?? [],
      mx_addr: options.mxAddr ?? [],
      mx_host: options.mxHost ?? [],
      domain: options.domain ?? [],
      routing_domain: options.routingDomain ?? [],
      campaign: options.campaign ?? [],
      tenant: options.tenant ?? [],
      egress_pool: options.egressPool ?? [],
      egress_source: options.egressSource ?? [],
      mail_from: options.mailFrom ?? [],
      rcpt_to: options.rcptTo ?? [],
      ready_queue: options.readyQueue ?? [],
      ...(options.terse ? { terse: true } : {}),
    };
    await followTrace(
      endpoint,
      '/api/admin/trace-smtp-client/v1',
      request,
      clientHandler(options),
      follow(options, endpoint),
    );
  });
}
