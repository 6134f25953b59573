import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { clientProgram } from '../../src/cli/main.js';
import { runSterna } from '../support/daemon-process.js';

const KCLI = [
  'bounce',
  'bounce-list',
  'bounce-cancel',
  'suspend',
  'suspend-list',
  'suspend-cancel',
  'suspend-ready-q',
  'suspend-ready-q-list',
  'suspend-ready-q-cancel',
  'rebind',
  'inspect-message',
  'inspect-sched-q',
  'inspect-ready-q',
  'ready-q-states',
  'resolve-egress-path',
  'set-log-filter',
  'queue-summary',
  'provider-summary',
  'top',
];

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the sterna command line', { timeout: 120_000 }, () => {
  it('has every kcli subcommand, and tail, each with its help', () => {
    const program = clientProgram();
    const names = program.commands.map((c) => c.name());
    expect(names).toEqual(expect.arrayContaining([...KCLI, 'tail']));
    for (const command of program.commands) {
      const help = command.helpInformation();
      expect(help).toContain(`Usage: sterna ${command.name()}`);
      expect(command.description().length).toBeGreaterThan(10);
    }
    expect(program.commands.find((c) => c.name() === 'tail')!.description()).toContain(
      'Not a kcli command',
    );
  });

  it('prints a subcommand’s help as a process, and the daemon’s help lists the subcommands', async () => {
    const bounce = await runSterna(['bounce', '--help']);
    expect(bounce.code).toBe(0);
    expect(bounce.output).toContain('--reason <reason>');
    expect(bounce.output).toContain('--suppress-logging');
    const daemon = await runSterna(['--help']);
    expect(daemon.code).toBe(0);
    expect(daemon.output).toContain('--policy <file>');
    expect(daemon.output).toContain('queue-summary');
  });

  it('gives one clear line and exit 1 when the daemon is not there', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    for (const args of [['queue-summary'], ['bounce', '--domain', 'x.example', '--reason', 'r']]) {
      const { code, output } = await runSterna([...args, '--endpoint', endpoint]);
      expect(code).toBe(1);
      expect(output.trim().split('\n')).toEqual([
        `error: cannot reach the Sterna daemon at ${endpoint} (ECONNREFUSED): is it running with an HTTP listener there? Use --endpoint or KUMO_KCLI_ENDPOINT to name another`,
      ]);
    }
    const env = await runSterna(['suspend-list'], { KUMO_KCLI_ENDPOINT: endpoint });
    expect(env.code).toBe(1);
    expect(env.output).toContain(`cannot reach the Sterna daemon at ${endpoint}`);
  });

  it('refuses bad input with one line naming it', async () => {
    const noSelector = await runSterna(['bounce', '--reason', 'r']);
    expect(noSelector.code).toBe(1);
    expect(noSelector.output.trim()).toBe(
      'error: bounce: name what to match with --domain, --routing-domain, --campaign, --tenant, --queue, or --everything',
    );
    const badEndpoint = await runSterna(['suspend-list', '--endpoint', 'not a url']);
    expect(badEndpoint.code).toBe(1);
    expect(badEndpoint.output.trim()).toBe(
      "error: --endpoint: 'not a url' is not a URL (expected e.g. http://127.0.0.1:8000)",
    );
    const typo = await runSterna(['queue-sumary']);
    expect(typo.code).toBe(1);
    expect(typo.output.trim()).toBe(
      "error: unknown subcommand 'queue-sumary' (did you mean queue-summary?); 'sterna --help' lists them",
    );
    const badData = await runSterna(['rebind', '--reason', 'r', '--data', '{nope']);
    expect(badData.code).toBe(1);
    expect(badData.output).toContain("--data: '{nope' is not JSON");
  });
});
