import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** The mailboxes Dovecot knows; any other recipient is refused at RCPT (550 5.1.1). */
export const USERS = ['alice', 'bob', 'carol'] as const;

/** A Dovecot started for one test file, listening for LMTP on loopback and a unix socket. */
export interface Dovecot {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The LMTP unix socket. */
  readonly socketPath: string;
  /** `<root>/<user>/Maildir`, Dovecot's `mail_location` for a user. */
  maildirOf(user: string): string;
  /** Dovecot's log, for failure messages. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Makes sure the `dovecot` binary exists, installing Debian's `dovecot-lmtpd` when it does not
 * (CI runs as root on Debian). Says what it does; throws with a clear message when it cannot.
 */
export function ensureDovecot(): string {
  const found = which('dovecot');
  if (found) return found;
  if (!which('apt-get')) {
    throw new Error(
      'dovecot is not installed and apt-get is not available: install Dovecot 2.3 (dovecot-lmtpd) to run this test',
    );
  }
  if (process.getuid?.() !== 0) {
    throw new Error(
      'dovecot is not installed and this test is not running as root: run `apt-get install -y dovecot-lmtpd` first',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'dovecot-lmtpd'], {
      env,
      encoding: 'utf8',
      timeout: 240_000,
    });
  console.log('[dovecot] not installed: running apt-get install -y dovecot-lmtpd');
  let result = install();
  if (result.status !== 0) {
    console.log('[dovecot] install failed; running apt-get update and trying again');
    spawnSync('apt-get', ['update', '-q'], { env, encoding: 'utf8', timeout: 240_000 });
    result = install();
  }
  const installed = which('dovecot');
  if (result.status !== 0 || !installed) {
    throw new Error(
      `could not install dovecot-lmtpd (apt-get exit ${result.status}): ${(result.stderr ?? '').slice(-2000)}`,
    );
  }
  console.log(`[dovecot] installed: ${installed}`);
  return installed;
}

function which(command: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * Starts `dovecot -F` with a throwaway config: LMTP only, on 127.0.0.1 (a free port) and a unix
 * socket, the users of {@link USERS} (a passwd-file userdb), mail in `<tmp>/mail/<user>/Maildir`. As root, mail
 * is stored as `nobody` (Dovecot refuses to store mail as root); otherwise as the current user.
 */
export async function startDovecot(binary: string): Promise<Dovecot> {
  const root = await mkdtemp(join(tmpdir(), 'sterna-dovecot-'));
  // Dovecot's unprivileged processes must reach the sockets under base_dir.
  await chmod(root, 0o755);
  const asRoot = process.getuid?.() === 0;
  const me = userInfo();
  const mailUser = asRoot ? 'nobody' : me.username;
  const mailUid = asRoot
    ? Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }))
    : me.uid;
  const mailGid = asRoot
    ? Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }))
    : me.gid;
  const mailRoot = join(root, 'mail');
  await mkdir(mailRoot);
  if (asRoot) await chown(mailRoot, mailUid, mailGid);
  const port = await freePort();
  const logPath = join(root, 'dovecot.log');
  const config = [
    `base_dir = ${root}/run`,
    `state_dir = ${root}/state`,
    `log_path = ${logPath}`,
    'protocols = lmtp',
    'listen = 127.0.0.1',
    'ssl = no',
    `mail_location = maildir:${mailRoot}/%n/Maildir`,
    `first_valid_uid = ${mailUid}`,
    `first_valid_gid = ${mailGid}`,
    ...(asRoot
      ? []
      : [`default_internal_user = ${me.username}`, `default_login_user = ${me.username}`]),
    // Only the users of USERS exist; LMTP looks recipients up by local part.
    'auth_username_format = %Ln',
    'passdb {',
    '  driver = static',
    '  args = nopassword=y',
    '}',
    'userdb {',
    '  driver = passwd-file',
    `  args = ${join(root, 'users')}`,
    '}',
    'service lmtp {',
    '  inet_listener lmtp {',
    '    address = 127.0.0.1',
    `    port = ${port}`,
    '  }',
    '  unix_listener lmtp {',
    '    mode = 0666',
    '  }',
    '}',
    '',
  ].join('\n');
  await writeFile(
    join(root, 'users'),
    USERS.map((u) => `${u}::${mailUid}:${mailGid}::${join(mailRoot, u)}::\n`).join(''),
  );
  const configPath = join(root, 'dovecot.conf');
  await writeFile(configPath, config);
  const child = spawn(binary, ['-F', '-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const readLog = async () => `${output}${await readFile(logPath, 'utf8').catch(() => '')}`;
  const dovecot: Dovecot = {
    host: '127.0.0.1',
    port,
    socketPath: join(root, 'run', 'lmtp'),
    maildirOf: (user) => join(mailRoot, user, 'Maildir'),
    log: readLog,
    stop: async () => {
      await stopChild(child);
      await rm(root, { recursive: true, force: true });
    },
  };
  try {
    await waitForGreeting(port, child, 15_000);
  } catch (error) {
    const log = await readLog();
    await dovecot.stop();
    throw new Error(
      `dovecot did not start (mail user ${mailUser}): ${(error as Error).message}\n${log}`,
    );
  }
  return dovecot;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

// Polls until the LMTP listener greets, at most `timeoutMs` (every 100 ms).
async function waitForGreeting(port: number, child: ChildProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < timeoutMs / 100; i++) {
    if (child.exitCode !== null) throw new Error(`dovecot exited with ${child.exitCode}`);
    const greeting = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.setTimeout(1000, () => socket.destroy());
      socket.once('data', (d) => {
        resolve(d.toString());
        socket.end('QUIT\r\n');
      });
      socket.once('error', () => resolve(''));
      socket.once('close', () => resolve(''));
    });
    if (greeting.startsWith('220')) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no LMTP greeting on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
