import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@sterna/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSpool } from '../../src/spool/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const spoolModule = path.join(here, '../../src/spool/index.ts');
const coreModule = path.join(here, '../../../../packages/core/src/engine.ts');

// The child stores messages from 6 concurrent loops into a small-segment spool (so segments
// roll and compaction runs), updates and removes some, and journals each step with a
// synchronous write to a file (which a SIGKILL cannot lose, unlike buffered stdout): `A id`
// before a store, `S id` / `U id n` / `R id` after the promise resolved. Bytes are a function of
// the id, so the parent can check them.
const child = `
import { openSync, writeSync } from 'node:fs';
import { openSpool } from ${JSON.stringify(spoolModule)};
import { newSpoolId } from ${JSON.stringify(coreModule)};
const [dataPath, metaPath, segmentSize, repeat, journalPath, checkpointEvery] = process.argv.slice(2);
const spool = await openSpool({ dataPath, metaPath, minFreeSpace: 0, segmentSize: Number(segmentSize), removeFlushDelay: 5, checkpointEvery: Number(checkpointEvery) });
const body = (id) => Buffer.from(\`\${id}\\r\\n\`.repeat(1 + (parseInt(id.slice(0, 4), 16) % Number(repeat))));
const entry = (id, n) => ({ id, sender: 's@example.com', recipients: ['r@example.net'], meta: { n }, size: 0, num_attempts: n });
const journal = openSync(journalPath, 'a');
const out = (line) => writeSync(journal, line + '\\n');
const end = Date.now() + 20000;
let count = 0;
let said = false;
await Promise.all(Array.from({ length: 6 }, async () => {
  const mine = [];
  while (Date.now() < end && count++ < 200000) {
    const id = newSpoolId();
    out('A ' + id);
    await spool.store(entry(id, 0), body(id));
    out('S ' + id);
    if (!said) said = process.stdout.write('started\\n');
    mine.push(id);
    if (mine.length % 3 === 0) {
      const target = mine[mine.length - 2];
      const n = (mine.length / 3) | 0;
      await spool.update(entry(target, n));
      out('U ' + target + ' ' + n);
    }
    if (mine.length % 4 === 0) {
      const target = mine.shift();
      await spool.remove(target);
      out('R ' + target);
    }
  }
}));
`;

const body = (id: string, repeat: number) =>
  Buffer.from(`${id}\r\n`.repeat(1 + (Number.parseInt(id.slice(0, 4), 16) % repeat)));

/** Resolves once the child says it has stored something. */
function started(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('started')) resolve();
    });
  });
}

const warnings: string[] = [];
const infos: { message: string; fields?: Record<string, unknown> }[] = [];
const logger: Logger = {
  debug() {},
  info: (message, fields) => infos.push({ message, fields }),
  error: (m) => warnings.push(m),
  warn: (m) => warnings.push(m),
};

describe('spool under kill -9', () => {
  let dir: string;
  let script: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sterna-spool-crash-'));
    script = path.join(dir, 'writer.mts');
    await writeFile(script, child);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // Small messages in 256 KiB segments, then messages up to 200 KB in 128 KiB segments (big
  // rounds of writes, so kills land mid-write and leave torn tails more often), then small
  // messages with an index checkpoint written each 32 KiB of log while the child runs (an open
  // reads the latest and replays the log after it). The last column is `checkpointEvery`.
  for (const [name, segmentSize, repeat, rounds, checkpointEvery] of [
    ['small messages', 256 * 1024, 200, 6, 0],
    ['large messages', 128 * 1024, 6000, 5, 0],
    ['small messages, checkpoints while running', 256 * 1024, 200, 6, 32 * 1024],
  ] as const) {
    it(`finds every message whose store resolved, with its bytes and latest update (${name})`, {
      timeout: 90_000,
    }, async () => {
      const dataPath = path.join(dir, name, 'data');
      const metaPath = path.join(dir, name, 'meta');
      const expected = new Map<string, number>(); // id -> attempts of the latest resolved update
      const removed = new Set<string>();
      const attempted = new Set<string>();
      const journal = path.join(dir, `${name}.journal`);
      let total = 0;
      let fromCheckpoint = 0; // opens after a kill that read a checkpoint
      for (let round = 0; round < rounds; round++) {
        const proc = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            '--conditions=@sterna/source',
            script,
            dataPath,
            metaPath,
            String(segmentSize),
            String(repeat),
            journal,
            String(checkpointEvery),
          ],
          {
            cwd: path.join(here, '../..'),
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        const exited = new Promise((r) => proc.once('exit', r));
        await Promise.race([started(proc), exited]);
        expect(proc.exitCode).toBe(null); // still running: it has stored something
        // While it runs the spool is locked against a second daemon.
        await expect(openSpool({ dataPath, metaPath })).rejects.toMatchObject({
          code: 'STERNA_SPOOL_LOCKED',
        });
        await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
        proc.kill('SIGKILL');
        await exited;
        // Complete lines only: the last one may have been cut by the kill.
        const lines = (await readFile(journal, 'utf8')).split('\n').slice(0, -1);
        await writeFile(journal, '');
        for (const line of lines) {
          const [kind, id, n] = line.split(' ');
          if (kind === 'A') attempted.add(id!);
          else if (kind === 'S') expected.set(id!, 0);
          else if (kind === 'U') expected.set(id!, Number(n));
          else if (kind === 'R') {
            expected.delete(id!);
            removed.add(id!);
          }
        }
        total += lines.filter((l) => l.startsWith('S ')).length;

        infos.length = 0;
        const spool = await openSpool({ dataPath, metaPath, minFreeSpace: 0, logger });
        const opened = infos.find((l) => l.message.startsWith('spool index '));
        if (opened?.message.includes('checkpoint') && opened.fields?.replayedBytes)
          fromCheckpoint++;
        const found = new Map<string, number>();
        for await (const e of spool.enumerate()) found.set(e.id, e.num_attempts ?? 0);
        const missing = [...expected.keys()].filter((id) => !found.has(id));
        expect(missing).toEqual([]);
        for (const [id, attempts] of expected) {
          // The printed update is durable; a later one may be too (its line was not printed yet).
          expect(found.get(id)).toBeGreaterThanOrEqual(attempts);
          expect(Buffer.from(await spool.read(id)).equals(body(id, repeat))).toBe(true);
        }
        // The rest are removed messages come back (removal is lazy: at-least-once) or stores
        // cut short by the kill: never anything the child did not try to store, and intact.
        const others = [...found.keys()].filter((id) => !expected.has(id));
        expect(others.filter((id) => !attempted.has(id))).toEqual([]);
        for (const id of others) {
          expect(Buffer.from(await spool.read(id)).equals(body(id, repeat))).toBe(true);
        }
        await spool.close();
        // Its clean stop wrote a checkpoint, which the next child opens from and keeps. With
        // checkpoints while running, drop it: one found after the kill is then the child's.
        if (checkpointEvery > 0) await rm(path.join(dataPath, 'index.checkpoint'));
      }
      expect(total).toBeGreaterThan(100);
      expect(warnings).toContain('spool lock is stale: taking it over');
      // Each child wrote checkpoints for hundreds of milliseconds before its kill. Without, every
      // open after the first read the checkpoint of the parent's clean stop before, kept by the
      // child, and replayed what the child wrote after it.
      if (checkpointEvery > 0) expect(fromCheckpoint).toBeGreaterThan(0);
      else expect(fromCheckpoint).toBe(rounds - 1);
    });
  }
});
