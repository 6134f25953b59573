import { watch } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MaildirConnection, parseFinalFileName } from '../src/index.js';
import { connect, idOf, list, message, sendOptions, tempRoot } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
});
afterEach(async () => {
  await cleanup();
});

function numbered(i: number, recipients: string[], bodyBytes = 0) {
  const filler = bodyBytes > 0 ? `${'x'.repeat(998)}\r\n`.repeat(Math.ceil(bodyBytes / 1000)) : '';
  return message({
    recipients,
    data: `Subject: message ${i}\r\n\r\nbody ${i}\r\n${filler}`,
  });
}

describe('concurrent maildir deliveries', () => {
  it('writes 200 messages sent at once with unique names and the right bytes', async () => {
    const box = join(root, 'box');
    const conn = await connect({ maildir_path: box });
    const messages = Array.from({ length: 200 }, (_, i) => numbered(i, ['rcpt@x.example']));
    const outcomes = await Promise.all(messages.map((m) => conn.send(m, sendOptions)));
    expect(outcomes.flat().every((o) => o.kind === 'delivered')).toBe(true);
    const ids = outcomes.map((o) => idOf(o[0]!.response.content));
    expect(new Set(ids).size).toBe(200);
    expect(await list(join(box, 'new'))).toEqual([...ids].sort());
    expect(await list(join(box, 'tmp'))).toEqual([]);
    for (const [i, id] of ids.entries()) {
      expect((await readFile(join(box, 'new', id))).toString()).toBe(
        Buffer.from(messages[i]!.data).toString(),
      );
    }
    // Renames that finished together shared a directory fsync (group commit).
    expect(conn).toBeInstanceOf(MaildirConnection);
    const syncs = (conn as MaildirConnection).directorySyncs;
    expect(syncs).toBeGreaterThan(0);
    expect(syncs).toBeLessThan(200);
    await conn.close();
  });

  it('keeps names unique across connections and per-user maildirs', async () => {
    const template = { maildir_path: `${root}/{{ local_part }}` };
    const [a, b] = await Promise.all([connect(template), connect(template)]);
    const users = ['u0', 'u1', 'u2', 'u3'].map((u) => `${u}@x.example`);
    const sends = Array.from({ length: 100 }, (_, i) => [
      a!.send(numbered(i, users), sendOptions),
      b!.send(numbered(100 + i, users), sendOptions),
    ]).flat();
    const outcomes = (await Promise.all(sends)).flat();
    expect(outcomes).toHaveLength(800);
    expect(outcomes.every((o) => o.kind === 'delivered')).toBe(true);
    const ids = outcomes.map((o) => idOf(o.response.content));
    expect(new Set(ids).size).toBe(800);
    for (const u of ['u0', 'u1', 'u2', 'u3']) {
      expect(await list(join(root, u, 'new'))).toHaveLength(200);
    }
    await Promise.all([a!.close(), b!.close()]);
  });

  it('never shows a file in new/ before it is complete', async () => {
    const box = join(root, 'big');
    const conn = await connect({ maildir_path: box });
    // Create the maildir first so the watcher can watch new/ from the start.
    await conn.send(numbered(-1, ['w@x.example']), sendOptions);
    const first = await list(join(box, 'new'));
    const messages = Array.from({ length: 12 }, (_, i) => numbered(i, ['w@x.example'], 2 << 20));
    // Each message names its number in its first line.
    const expected = new Map(messages.map((m, i) => [`Subject: message ${i}\r\n`, m]));
    const seen = new Map<string, { size: number; complete: boolean }>();
    const check = async (name: string) => {
      if (seen.has(name) || first.includes(name)) return;
      // Whoever sees a name first reads it; later sightings wait for that read.
      seen.set(name, { size: -1, complete: false });
      try {
        const data = await readFile(join(box, 'new', name));
        const declared = parseFinalFileName(name)?.size;
        const original = expected.get(data.subarray(0, data.indexOf('\n') + 1).toString());
        seen.set(name, {
          size: data.byteLength,
          complete:
            declared === data.byteLength &&
            original !== undefined &&
            Buffer.compare(data, Buffer.from(original.data)) === 0,
        });
      } catch (error) {
        seen.set(name, { size: -2, complete: false });
        throw error;
      }
    };
    const pending: Promise<void>[] = [];
    const watcher = watch(join(box, 'new'), (_event, name) => {
      if (name) pending.push(check(String(name)));
    });
    let writing = true;
    let polls = 0;
    const poller = (async () => {
      // Bounded: stops when the writes are done, or after 20,000 passes.
      while (writing && polls < 20_000) {
        polls++;
        for (const name of await readdir(join(box, 'new'))) await check(name);
      }
    })();
    const outcomes = await Promise.all(messages.map((m) => conn.send(m, sendOptions)));
    writing = false;
    await poller;
    watcher.close();
    await Promise.allSettled(pending);
    for (const name of await readdir(join(box, 'new'))) await check(name);
    expect(outcomes.flat().map((o) => o.kind)).toEqual(Array(12).fill('delivered'));
    expect(polls).toBeGreaterThan(0);
    expect(seen.size).toBe(12);
    expect([...seen.values()].filter((s) => !s.complete)).toEqual([]);
    expect((await stat(join(box, 'tmp'))).isDirectory()).toBe(true);
    expect(await list(join(box, 'tmp'))).toEqual([]);
    await conn.close();
  });
});
