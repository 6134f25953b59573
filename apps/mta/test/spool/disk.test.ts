import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const spoolModule = path.join(here, '../../src/spool/index.ts');
const coreModule = path.join(here, '../../../../packages/core/src/engine.ts');

// Real small filesystems need a mount, which needs privileges; a private user + mount
// namespace (`unshare -rm`) gives them without touching the host's mounts. Where unshare is
// not allowed the suite is skipped, saying so.
const canMount = (() => {
  try {
    execFileSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=64k none /tmp'], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
})();

// Runs inside the namespace, on a 2 MiB tmpfs (`full`) and a read-only tmpfs (`ro`); prints
// one JSON line of observations for the parent to check.
const child = `
import { openSpool } from ${JSON.stringify(spoolModule)};
import { newSpoolId } from ${JSON.stringify(coreModule)};
const [full, ro] = process.argv.slice(2);
const out = {};
const body = (id) => Buffer.from(id.repeat(512)); // 16 KiB
const entry = (id) => ({ id, sender: 's@example.com', recipients: ['r@example.net'], meta: {}, size: 16384 });
const fill = async (spool) => {
  const stored = [];
  for (let i = 0; i < 1000; i++) {
    const id = newSpoolId();
    try {
      await spool.store(entry(id), body(id));
      stored.push(id);
    } catch (error) {
      return { stored, code: error.code, message: error.message };
    }
  }
  return { stored };
};
// Until compaction has nothing left to do (bounded, 30 s).
const settle = async (spool) => {
  const deadline = Date.now() + 30000;
  while (spool.stats().compacting && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
};
const intact = async (spool, ids) => {
  for (const id of ids) if (!Buffer.from(await spool.read(id)).equals(body(id))) return false;
  return true;
};

// 1. min_free_space (default 10%) refuses before the disk is full.
let spool = await openSpool({ dataPath: full + '/data', metaPath: full + '/meta', segmentSize: 256 * 1024 });
const guarded = await fill(spool);
out.guarded = { stored: guarded.stored.length, code: guarded.code, message: guarded.message, intact: await intact(spool, guarded.stored) };
for (const id of guarded.stored) await spool.remove(id);
await spool.close();

// 2. With no minimum the disk fills up for real: ENOSPC.
spool = await openSpool({ dataPath: full + '/data', metaPath: full + '/meta', segmentSize: 256 * 1024, minFreeSpace: 0, minFreeInodes: 0, removeFlushDelay: 5 });
await settle(spool);
const filled = await fill(spool);
out.enospc = { stored: filled.stored.length, code: filled.code, message: filled.message, intact: await intact(spool, filled.stored) };
const again = await fill(spool); // still full: refused again
out.stillFull = { stored: again.stored.length, code: again.code };

// 3. Space comes back (messages delivered): stores work again, compaction having freed segments.
const keep = filled.stored.slice(0, 5);
for (const id of filled.stored.slice(5)) await spool.remove(id);
await settle(spool);
const later = [];
for (let i = 0; i < 10; i++) {
  const id = newSpoolId();
  await spool.store(entry(id), body(id));
  later.push(id);
}
out.recovered = { stored: later.length, stats: spool.stats() };
await spool.close();
spool = await openSpool({ dataPath: full + '/data', metaPath: full + '/meta', minFreeSpace: 0 });
const found = [];
for await (const e of spool.enumerate()) found.push(e.id);
out.reopened = { count: found.length, expected: keep.length + later.length, allThere: [...keep, ...later].every((id) => found.includes(id)), intact: await intact(spool, [...keep, ...later]) };
await spool.close();

// 4. A read-only filesystem: the spool cannot open.
try {
  await openSpool({ dataPath: ro + '/data', metaPath: ro + '/meta' });
  out.readOnly = { opened: true };
} catch (error) {
  out.readOnly = { code: error.code, message: error.message };
}
process.stdout.write(JSON.stringify(out) + '\\n');
`;

describe.skipIf(!canMount)('spool on a small and a read-only filesystem', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sterna-spool-disk-'));
    await mkdir(path.join(dir, 'full'));
    await mkdir(path.join(dir, 'ro'));
    await writeFile(path.join(dir, 'disk.mts'), child);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses at min_free_space, fails ENOSPC cleanly, recovers when space returns', {
    timeout: 60_000,
  }, async () => {
    const full = path.join(dir, 'full');
    const ro = path.join(dir, 'ro');
    const script = [
      `mount -t tmpfs -o size=2m none "$1"`,
      `mount -t tmpfs -o size=64k,ro none "$2"`,
      `exec "$3" --import tsx --conditions=@sterna/source "$4" "$1" "$2"`,
    ].join(' && ');
    const proc = spawn(
      'unshare',
      ['-rm', 'sh', '-c', script, 'sh', full, ro, process.execPath, path.join(dir, 'disk.mts')],
      { cwd: path.join(here, '../..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    const code = await new Promise((r) => proc.once('exit', r));
    expect(code).toBe(0);
    const out = JSON.parse(stdout);

    // 2 MiB, 10% kept free: about 110 messages of 16 KiB, then STERNA_SPOOL_FULL, not ENOSPC.
    expect(out.guarded.code).toBe('STERNA_SPOOL_FULL');
    expect(out.guarded.stored).toBeGreaterThan(80);
    expect(out.guarded.intact).toBe(true);

    expect(out.enospc.code).toBe('STERNA_SPOOL_WRITE');
    expect(out.enospc.message).toContain('ENOSPC');
    expect(out.enospc.stored).toBeGreaterThan(out.guarded.stored);
    expect(out.enospc.intact).toBe(true);
    // Still full: refused again (the guard now sees less free space than a record needs).
    expect(out.stillFull.stored).toBe(0);
    expect(['STERNA_SPOOL_FULL', 'STERNA_SPOOL_WRITE']).toContain(out.stillFull.code);

    expect(out.recovered.stored).toBe(10);
    expect(out.reopened).toEqual({ count: 15, expected: 15, allThere: true, intact: true });

    expect(out.readOnly.code).toBe('STERNA_SPOOL_WRITE');
    expect(out.readOnly.message).toContain('EROFS');
  });
});
