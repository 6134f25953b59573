// Postfix as the reference MTA, configured as a loopback relay to the bench's sink (the same
// settings as the anchor runs, see docs/performance.md) or as a loopback MX delivering into a
// Maildir through virtual(8). Needs root and Debian's postfix package, which it installs when
// missing. Each configure* call rewrites /etc/postfix/main.cf and master.cf; the first one keeps
// the originals as *.sterna-bench-orig, and the bench's last config stays in place afterwards.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';

const has = (cmd: string) => spawnSync('bash', ['-c', `command -v ${cmd}`]).status === 0;

/** Installs Postfix (and with it smtp-source and smtp-sink) from Debian's packages if missing. */
export function ensurePostfix(): void {
  if (has('postfix') && has('smtp-source')) return;
  process.stderr.write('installing postfix from Debian packages (apt-get)…\n');
  execFileSync(
    'bash',
    [
      '-c',
      'apt-get update -qq && echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix',
    ],
    { stdio: 'inherit' },
  );
}

/** True when Postfix's load tools are installed. */
export const hasPostfixTools = (): boolean => has('smtp-source') && has('smtp-sink');

/** Postfix's version (`postconf -h mail_version`), or '' when it is not installed. */
export function postfixVersion(): string {
  const out = spawnSync('postconf', ['-h', 'mail_version']);
  return out.status === 0 ? out.stdout.toString().trim() : '';
}

// main.cf's keys every bench profile shares: loopback only, no DNS, no local delivery.
function baseMainCf(what: string, sinkPort: number): string[] {
  return [
    `# written by Sterna bench/lib/postfix.ts: ${what}`,
    'compatibility_level = 3.6',
    'myhostname = mta.bench.test',
    'mydomain = bench.test',
    'myorigin = $myhostname',
    'mydestination =',
    'local_recipient_maps =',
    'alias_maps =',
    'alias_database =',
    'biff = no',
    'inet_interfaces = loopback-only',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
    `relayhost = [127.0.0.1]:${sinkPort}`,
    'smtp_dns_support_level = disabled',
    'smtpd_banner = $myhostname ESMTP',
    'maillog_file = /var/log/postfix-bench.log',
  ];
}

// Keeps the originals once, writes main.cf, and puts smtpd on 127.0.0.1:listenPort alone.
function writeConfig(listenPort: number, mainCf: readonly string[]): void {
  for (const f of ['main.cf', 'master.cf']) {
    const path = `/etc/postfix/${f}`;
    if (existsSync(path) && !existsSync(`${path}.sterna-bench-orig`))
      copyFileSync(path, `${path}.sterna-bench-orig`);
  }
  writeFileSync('/etc/postfix/main.cf', [...mainCf, ''].join('\n'));
  spawnSync('postconf', ['-MX', 'smtp/inet']);
  // The previous cell's listener, if any: one smtpd service on the loopback at a time.
  const services = spawnSync('postconf', ['-M']).stdout?.toString() ?? '';
  for (const [, name] of services.matchAll(/^(127\.0\.0\.1:\d+)\s+inet\b/gm))
    if (name !== `127.0.0.1:${listenPort}`) spawnSync('postconf', ['-MX', `${name}/inet`]);
  execFileSync('postconf', [
    '-M',
    `127.0.0.1:${listenPort}/inet=127.0.0.1:${listenPort} inet n - n - - smtpd`,
  ]);
  execFileSync('postconf', ['-F', '*/*/chroot = n']);
  execFileSync('postfix', ['check']);
}

/** Writes a loopback relay config: listen on 127.0.0.1:listenPort, relay everything to the sink. */
export function configurePostfix(listenPort: number, sinkPort: number): void {
  writeConfig(listenPort, baseMainCf('a loopback relay to the bench sink', sinkPort));
}

/** The user virtual(8) writes a Maildir as: `nobody` (virtual_minimum_uid is 100). */
export function maildirOwner(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * Writes a Maildir config: listen on 127.0.0.1:listenPort and deliver every recipient in
 * `domain` with virtual(8) into `${base}/maildir/` (a static map ending in `/`: Maildir format),
 * written as `owner` (see {@link maildirOwner}); `base` must be writable by it.
 */
export function configurePostfixMaildir(
  listenPort: number,
  sinkPort: number,
  domain: string,
  base: string,
  owner: { uid: number; gid: number },
): void {
  writeConfig(listenPort, [
    ...baseMainCf(`virtual(8) delivery of ${domain} into a Maildir`, sinkPort),
    `virtual_mailbox_domains = ${domain}`,
    `virtual_mailbox_base = ${base}`,
    'virtual_mailbox_maps = static:maildir/',
    `virtual_uid_maps = static:${owner.uid}`,
    `virtual_gid_maps = static:${owner.gid}`,
  ]);
}

/** Starts Postfix with an empty queue; resolves when its listener answers. */
export function startPostfix(): void {
  spawnSync('postfix', ['stop'], { stdio: 'ignore' });
  spawnSync('postsuper', ['-d', 'ALL'], { stdio: 'ignore' });
  execFileSync('postfix', ['start'], { stdio: 'ignore' });
}

export function stopPostfix(): void {
  spawnSync('postfix', ['stop'], { stdio: 'ignore' });
  spawnSync('postsuper', ['-d', 'ALL'], { stdio: 'ignore' });
}

/** Peak RSS (MB) summed over Postfix's processes, sampled now. */
export function postfixRssMb(): number {
  const out = spawnSync('bash', [
    '-c',
    "ps -C master,qmgr,smtpd,smtp,cleanup,trivial-rewrite,pickup,virtual -o rss= | awk '{s+=$1} END {print s+0}'",
  ]).stdout.toString();
  return Math.round(Number(out.trim()) / 1024);
}
