// Postfix as the reference MTA, configured as a loopback relay to the bench's sink: the same
// settings as the anchor runs (see docs/performance.md). Needs root and Debian's postfix package,
// which it installs when missing.
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

/** Writes a loopback relay config: listen on 127.0.0.1:listenPort, relay everything to the sink. */
export function configurePostfix(listenPort: number, sinkPort: number): void {
  for (const f of ['main.cf', 'master.cf']) {
    const path = `/etc/postfix/${f}`;
    if (existsSync(path) && !existsSync(`${path}.sterna-bench-orig`))
      copyFileSync(path, `${path}.sterna-bench-orig`);
  }
  writeFileSync(
    '/etc/postfix/main.cf',
    [
      '# written by Sterna bench/lib/postfix.ts: a loopback relay to the bench sink',
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
      '',
    ].join('\n'),
  );
  spawnSync('postconf', ['-MX', 'smtp/inet']);
  execFileSync('postconf', [
    '-M',
    `127.0.0.1:${listenPort}/inet=127.0.0.1:${listenPort} inet n - n - - smtpd`,
  ]);
  execFileSync('postconf', ['-F', '*/*/chroot = n']);
  execFileSync('postfix', ['check']);
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
    "ps -C master,qmgr,smtpd,smtp,cleanup,trivial-rewrite,pickup -o rss= | awk '{s+=$1} END {print s+0}'",
  ]).stdout.toString();
  return Math.round(Number(out.trim()) / 1024);
}
