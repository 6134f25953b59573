#!/usr/bin/env node
// Installs what the tests start on loopback — Redis, RabbitMQ and NATS servers, and the Chromium
// the dashboard's browser tests drive (playwright-core, never a downloaded browser) — from
// Debian's packages, when they are missing. Run by `pnpm test` (and so by .ci/run) before any
// test; does nothing when all are there. Needs root (or password-less sudo) to install.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const wanted = [
  { pkg: 'redis-server', paths: ['/usr/bin/redis-server'] },
  {
    pkg: 'rabbitmq-server',
    paths: ['/usr/sbin/rabbitmq-server', '/usr/lib/rabbitmq/bin/rabbitmq-server'],
  },
  { pkg: 'nats-server', paths: ['/usr/sbin/nats-server', '/usr/bin/nats-server'] },
  { pkg: 'chromium', paths: ['/usr/bin/chromium'] },
];

const missing = wanted.filter(({ paths }) => !paths.some((path) => existsSync(path)));
if (missing.length === 0) process.exit(0);

const packages = missing.map(({ pkg }) => pkg);
const asRoot = process.getuid?.() === 0;
const prefix = asRoot ? [] : ['sudo', '-n'];
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

function apt(args) {
  const [command, ...rest] = [...prefix, 'apt-get', ...args];
  execFileSync(command, rest, { stdio: 'inherit', env });
}

console.log(`== installing what the tests need from Debian's packages: ${packages.join(' ')}`);
try {
  try {
    apt(['install', '-y', '--no-install-recommends', ...packages]);
  } catch {
    // A fresh machine's package lists may be empty or stale.
    apt(['update']);
    apt(['install', '-y', '--no-install-recommends', ...packages]);
  }
} catch (error) {
  console.error(
    `\nThe tests need ${packages.join(', ')} (Debian packages), and they could not be installed` +
      ` (${error.message.split('\n')[0]}).\nInstall them as root: apt-get install -y ${packages.join(' ')}`,
  );
  process.exit(1);
}
