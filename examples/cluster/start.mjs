#!/usr/bin/env node
// Starts the examples/cluster fleet on loopback with one command: a Redis (Debian's
// redis-server), the demo sink and three Sterna nodes running init.lua. Ctrl-C stops them all.
// Run from the repository root after a build (`npx -y pnpm@12.4.2 example:cluster` does both).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const REDIS_PORT = process.env.STERNA_REDIS_PORT ?? '6390';
const env = {
  ...process.env,
  STERNA_REDIS: `redis://127.0.0.1:${REDIS_PORT}/`,
  STERNA_SINK: process.env.STERNA_SINK ?? '127.0.0.1:2600',
};
const redisServer = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find(existsSync);
if (!redisServer) {
  console.error('redis-server is not installed: apt-get install -y redis-server');
  process.exit(1);
}

const children = [];
function run(name, command, args, extraEnv = {}) {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A group of its own: Ctrl-C reaches this script only, which stops each process once.
    detached: true,
  });
  const prefix = (chunk) => {
    for (const line of chunk.toString().split('\n')) if (line) console.log(`[${name}] ${line}`);
  };
  child.stdout.on('data', prefix);
  child.stderr.on('data', prefix);
  child.on('exit', (code, signal) => console.log(`[${name}] exited (${signal ?? code})`));
  children.push(child);
  return child;
}

const redisDir = join(root, 'data', 'cluster', 'redis');
mkdirSync(redisDir, { recursive: true });
run('redis', redisServer, [
  '--port',
  REDIS_PORT,
  '--bind',
  '127.0.0.1',
  '--dir',
  redisDir,
  '--save',
  '',
  '--appendonly',
  'yes',
]);
run('sink', process.execPath, [join(here, 'sink.mjs')]);
for (const node of [1, 2, 3]) {
  run(
    `node${node}`,
    process.execPath,
    [join(root, 'apps', 'mta', 'bin', 'sterna.js'), '--policy', join(here, 'init.lua')],
    { STERNA_NODE: String(node) },
  );
}

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  // Each process once; this script ends when all have (at most 20 s, then they are killed).
  const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
  for (const child of running) child.kill('SIGTERM');
  const killer = setTimeout(() => {
    for (const child of running) child.kill('SIGKILL');
  }, 20_000);
  Promise.all(running.map((child) => new Promise((resolve) => child.once('exit', resolve)))).then(
    () => {
      clearTimeout(killer);
      process.exit(0);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
