import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isSternaError } from '@sterna/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAILDIR_RETRY_AFTER } from '../src/index.js';
import { connect, idOf, list, message, sendOptions, tempRoot } from './helpers.js';

const run = promisify(execFile);

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
});
afterEach(async () => {
  await cleanup();
});

// Every file under `dir`, relative to it (to prove nothing was written anywhere else).
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe('maildir write failures', () => {
  it('is a transient failure retried 60 s later when a regular file blocks the path', async () => {
    await writeFile(join(root, 'blocked'), 'not a directory');
    const conn = await connect({ maildir_path: `${root}/blocked/box` });
    const [outcome] = await conn.send(message({ recipients: ['a@x.example'] }), sendOptions);
    expect(outcome).toMatchObject({
      recipient: 'a@x.example',
      kind: 'transient',
      retryAfter: 60,
      response: { code: 400, enhanced_code: null },
    });
    expect(MAILDIR_RETRY_AFTER).toBe(60);
    expect(outcome?.response.content).toMatch(
      /^a@x\.example: failed to write to maildir: ENOTDIR: not a directory/,
    );
    expect(await tree(root)).toEqual(['blocked']);
    await conn.close();
  });

  it('fails only the recipient whose path is blocked', async () => {
    await writeFile(join(root, 'bob'), 'a file where a maildir should be');
    const conn = await connect({ maildir_path: `${root}/{{ local_part }}` });
    const outcomes = await conn.send(
      message({ recipients: ['alice@x.example', 'bob@x.example'] }),
      sendOptions,
    );
    expect(outcomes.map((o) => [o.recipient, o.kind])).toEqual([
      ['alice@x.example', 'delivered'],
      ['bob@x.example', 'transient'],
    ]);
    expect(outcomes[1]?.retryAfter).toBe(60);
    await conn.close();
  });

  it('fails transiently under a path the kernel will not create (/proc)', async () => {
    const conn = await connect({ maildir_path: `/proc/sterna-maildir-test-${process.pid}/box` });
    const [outcome] = await conn.send(message({ recipients: ['a@x.example'] }), sendOptions);
    expect(outcome).toMatchObject({ kind: 'transient', retryAfter: 60 });
    expect(outcome?.response.content).toContain('failed to write to maildir: ');
    await conn.close();
  });

  // Root ignores permission bits, so as root the directory is made immutable (chattr +i, which
  // binds root too); as any other user, chmod 0555 is enough. Where neither works (root on a file
  // system without the immutable flag, such as tmpfs) the test says so and is skipped.
  it('fails transiently in a read-only directory, leaves nothing behind, and succeeds once writable', async (ctx) => {
    const box = join(root, 'box');
    const conn = await connect({ maildir_path: box });
    expect((await conn.send(message({ recipients: ['a@x.example'] }), sendOptions))[0]?.kind).toBe(
      'delivered',
    );
    const before = await list(join(box, 'new'));
    const tmp = join(box, 'tmp');
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      const refused = await run('chattr', ['+i', tmp]).then(
        () => undefined,
        (error: Error) => error.message,
      );
      if (refused) ctx.skip(`cannot make a directory read-only for root here: ${refused}`);
    } else {
      await chmod(tmp, 0o555);
    }
    try {
      const [outcome] = await conn.send(message({ recipients: ['a@x.example'] }), sendOptions);
      expect(outcome).toMatchObject({ kind: 'transient', retryAfter: 60, response: { code: 400 } });
      expect(outcome?.response.content).toMatch(/failed to write to maildir: (EPERM|EACCES)/);
      expect(await list(join(box, 'new'))).toEqual(before);
      expect(await list(tmp)).toEqual([]);
    } finally {
      if (asRoot) await run('chattr', ['-i', tmp]);
      else await chmod(tmp, 0o755);
    }
    const [retry] = await conn.send(message({ recipients: ['a@x.example'] }), sendOptions);
    expect(retry?.kind).toBe('delivered');
    expect(await list(join(box, 'new'))).toHaveLength(2);
    await conn.close();
  });

  it('removes the temporary file when the rename fails', async () => {
    const box = join(root, 'box');
    const conn = await connect({ maildir_path: box });
    await conn.send(message({ recipients: ['a@x.example'] }), sendOptions);
    // The connection has cached the maildir as ready; now new/ stops being a directory.
    await rm(join(box, 'new'), { recursive: true });
    await writeFile(join(box, 'new'), 'not a directory');
    const [outcome] = await conn.send(message({ recipients: ['a@x.example'] }), sendOptions);
    expect(outcome).toMatchObject({ kind: 'transient', retryAfter: 60 });
    expect(outcome?.response.content).toContain('ENOTDIR');
    expect(await list(join(box, 'tmp'))).toEqual([]);
    await conn.close();
  });

  it.each([
    '../../etc@x.example',
    '..@x.example',
    '.@x.example',
    'a/../../b@x.example',
    '""@x.example',
    'x@../../etc',
  ])(
    'refuses the hostile recipient %j permanently and writes nothing outside the base',
    async (hostile) => {
      await mkdir(join(root, 'base'));
      const conn = await connect({
        maildir_path: `${root}/base/{{ domain_part }}/{{ local_part }}`,
      });
      const outcomes = await conn.send(
        message({ recipients: [hostile, 'good@x.example'] }),
        sendOptions,
      );
      expect(outcomes[0]).toMatchObject({
        recipient: hostile,
        kind: 'permanent',
        response: { code: 550, enhanced_code: { class: 5, subject: 1, detail: 3 } },
      });
      expect(outcomes[0]?.response.content).toMatch(/failed to write to maildir: refusing to use /);
      expect(outcomes[0]?.retryAfter).toBeUndefined();
      expect(outcomes[1]?.kind).toBe('delivered');
      const id = idOf(outcomes[1]!.response.content);
      expect(await tree(root)).toEqual(
        [
          'base',
          'base/x.example',
          'base/x.example/good',
          'base/x.example/good/cur',
          'base/x.example/good/new',
          `base/x.example/good/new/${id}`,
          'base/x.example/good/tmp',
        ].sort(),
      );
      await conn.close();
    },
  );

  it('fails transiently, naming it, when a meta value the template uses is unset', async () => {
    const conn = await connect({ maildir_path: `${root}/{{ meta.folder }}` });
    const [outcome] = await conn.send(message({ recipients: ['a@x.example'] }), sendOptions);
    expect(outcome).toMatchObject({ kind: 'transient', retryAfter: 60 });
    expect(outcome?.response.content).toContain("meta 'folder' is not set");
    expect(await tree(root)).toEqual([]);
    await conn.close();
  });

  it('writes nothing for an aborted send', async () => {
    const conn = await connect({ maildir_path: `${root}/box` });
    const signal = AbortSignal.abort();
    const [outcome] = await conn.send(message({ recipients: ['a@x.example'] }), { signal });
    expect(outcome).toMatchObject({ kind: 'transient', retryAfter: 60 });
    expect(await tree(root)).toEqual([]);
    await conn.close();
  });

  it('waits for writes in flight on close, then refuses to write; close is idempotent', async () => {
    const conn = await connect({ maildir_path: `${root}/box` });
    const inFlight = conn.send(message({ recipients: ['a@x.example'] }), sendOptions);
    const closing = conn.close();
    await expect(
      conn.send(message({ recipients: ['b@x.example'] }), sendOptions),
    ).rejects.toSatisfy((e) => isSternaError(e, 'STERNA_CONNECTION_CLOSED'));
    await closing;
    expect((await inFlight)[0]?.kind).toBe('delivered');
    await conn.close();
    expect(await list(join(root, 'box', 'new'))).toHaveLength(1);
    expect(conn.isUsable?.()).toBe(false);
  });
});

describe('an abort during the write', () => {
  it('either completes the delivery or leaves nothing in new/ or tmp/', async () => {
    const box = join(root, 'box');
    const conn = await connect({ maildir_path: box });
    await conn.send(message({ recipients: ['a@x.example'] }), sendOptions); // create the maildir
    const before = await list(join(box, 'new'));
    const controller = new AbortController();
    const big = message({
      recipients: ['a@x.example'],
      data: `Subject: big\r\n\r\n${'y'.repeat(8 << 20)}\r\n`,
    });
    const sending = conn.send(big, { signal: controller.signal });
    setImmediate(() => controller.abort());
    const [outcome] = await sending;
    const after = await list(join(box, 'new'));
    if (outcome?.kind === 'delivered') {
      expect(after).toEqual([...before, idOf(outcome.response.content)].sort());
    } else {
      expect(outcome).toMatchObject({ kind: 'transient', retryAfter: 60 });
      expect(outcome?.response.content).toContain('aborted');
      expect(after).toEqual(before);
    }
    expect(await list(join(box, 'tmp'))).toEqual([]);
    await conn.close();
  });
});
