import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { maildirDriver, parseFinalFileName } from '../src/index.js';
import { connect, context, idOf, list, message, sendOptions, tempRoot } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
});
afterEach(async () => {
  await cleanup();
});

describe('maildir delivery', () => {
  it('describes itself as KumoMTA does', async () => {
    expect(maildirDriver.protocol).toBe('maildir_path');
    expect(maildirDriver.deliveryProtocol).toBe('Maildir');
    expect(maildirDriver.capabilities).toEqual({
      reusesConnections: true,
      multiRecipient: true,
      batching: false,
      readyQueue: false,
    });
    const site = await maildirDriver.site(
      { maildir_path: '/x' },
      { queue: 'example.com', domain: 'example.com' },
      context(),
    );
    expect(site).toEqual({ site: { name: '', service: 'maildir' } });
  });

  it('stores the bytes exactly as queued under new/, with the id it reports', async () => {
    const box = join(root, 'kumo-maildir');
    const conn = await connect({ maildir_path: box });
    const msg = message({ recipients: ['user@example.com'] });
    const [outcome] = await conn.send(msg, sendOptions);
    expect(outcome?.kind).toBe('delivered');
    expect(outcome?.retryAfter).toBeUndefined();
    expect(outcome?.response).toMatchObject({ code: 200, enhanced_code: null, command: null });
    expect(outcome?.response.content).toMatch(/^user@example\.com: wrote to maildir with id=/);
    const id = idOf(outcome!.response.content);
    expect(await list(join(box, 'new'))).toEqual([id]);
    expect(await list(join(box, 'tmp'))).toEqual([]);
    expect(await list(join(box, 'cur'))).toEqual([]);
    const stored = await readFile(join(box, 'new', id));
    expect(Buffer.compare(stored, Buffer.from(msg.data))).toBe(0);
    expect(stored.toString('latin1')).toMatch(/^Received: .*\r\nFrom: /);
    await conn.close();
  });

  it('names files <secs>.#<counter>M<nanos>P<pid>V<dev>I<ino>.<host>,S=<size>', async () => {
    const box = join(root, 'names');
    const before = Math.floor(Date.now() / 1000);
    const conn = await connect({ maildir_path: box }, context('mx:1/a.example'));
    const msg = message({ recipients: ['a@example.com'] });
    const id = idOf((await conn.send(msg, sendOptions))[0]!.response.content);
    const parsed = parseFinalFileName(id);
    const st = await stat(join(box, 'new', id), { bigint: true });
    expect(parsed).toMatchObject({
      pid: process.pid,
      dev: st.dev,
      ino: st.ino,
      host: 'mx\\0721\\057a.example',
      size: msg.data.byteLength,
    });
    expect(parsed!.secs).toBeGreaterThanOrEqual(before);
    expect(parsed!.secs).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(parsed!.nanos).toBeLessThan(1e9);
    await conn.close();
  });

  it('expands the path per recipient', async () => {
    const conn = await connect({
      maildir_path: `${root}/{{ domain_part }}/{{ local_part }}/{{ meta.folder }}`,
    });
    const msg = message({
      recipients: ['alice@one.example', 'bob@two.example', '"carol smith"@one.example'],
      meta: { folder: 'Inbox' },
    });
    const outcomes = await conn.send(msg, sendOptions);
    expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(await list(root)).toEqual(['one.example', 'two.example']);
    expect(await list(join(root, 'one.example'))).toEqual(['alice', 'carol smith']);
    for (const [i, dir] of ['one.example/alice', 'two.example/bob', 'one.example/carol smith']
      .map((d) => join(root, d, 'Inbox'))
      .entries()) {
      expect(await list(join(dir, 'new'))).toEqual([idOf(outcomes[i]!.response.content)]);
      expect(outcomes[i]!.response.content.startsWith(`${msg.recipients[i]}: `)).toBe(true);
    }
    await conn.close();
  });

  it('writes one copy per recipient when recipients share a maildir', async () => {
    const conn = await connect({ maildir_path: `${root}/{{ domain }}` });
    const msg = message({ recipients: ['a@example.com', 'b@example.com'], queue: 'example.com' });
    const outcomes = await conn.send(msg, sendOptions);
    const ids = outcomes.map((o) => idOf(o.response.content)).sort();
    expect(ids[0]).not.toBe(ids[1]);
    expect(await list(join(root, 'example.com', 'new'))).toEqual(ids);
    await conn.close();
  });

  it('uses the queue name parts', async () => {
    const conn = await connect({
      maildir_path: `${root}/{{ tenant }}/{{ campaign }}/{{ routing_domain }}/{{ domain }}`,
    });
    const msg = message({
      recipients: ['a@example.com'],
      queue: 'c1:t1@example.com!relay.example',
    });
    expect((await conn.send(msg, sendOptions))[0]?.kind).toBe('delivered');
    expect(await list(join(root, 't1/c1/relay.example/example.com/new'))).toHaveLength(1);
    await conn.close();
  });

  it('applies dir_mode and file_mode whatever the umask, only to what it creates', async () => {
    const previous = process.umask(0o077);
    try {
      const conn = await connect({
        maildir_path: `${root}/modes/{{ local_part }}`,
        dir_mode: 0o775,
        file_mode: 0o664,
      });
      const id = idOf(
        (await conn.send(message({ recipients: ['u@x.example'] }), sendOptions))[0]!.response
          .content,
      );
      const mode = async (p: string) => (await stat(join(root, p))).mode & 0o7777;
      expect(await mode('.')).toBe(0o700); // made by mkdtemp, before: left alone
      for (const dir of ['modes', 'modes/u', 'modes/u/cur', 'modes/u/new', 'modes/u/tmp']) {
        expect({ dir, mode: await mode(dir) }).toEqual({ dir, mode: 0o775 });
      }
      expect(await mode(`modes/u/new/${id}`)).toBe(0o664);
      await conn.close();
    } finally {
      process.umask(previous);
    }
  });

  it('leaves modes to the umask when none are given', async () => {
    const previous = process.umask(0o027);
    try {
      const conn = await connect({ maildir_path: `${root}/plain` });
      const id = idOf(
        (await conn.send(message({ recipients: ['u@x.example'] }), sendOptions))[0]!.response
          .content,
      );
      expect((await stat(join(root, 'plain', 'new'))).mode & 0o7777).toBe(0o750);
      expect((await stat(join(root, 'plain', 'new', id))).mode & 0o7777).toBe(0o640);
      await conn.close();
    } finally {
      process.umask(previous);
    }
  });

  it('applies restrictive modes too', async () => {
    const conn = await connect({
      maildir_path: `${root}/private`,
      dir_mode: 0o700,
      file_mode: 0o600,
    });
    const id = idOf(
      (await conn.send(message({ recipients: ['u@x.example'] }), sendOptions))[0]!.response.content,
    );
    expect((await stat(join(root, 'private'))).mode & 0o7777).toBe(0o700);
    expect((await stat(join(root, 'private', 'new', id))).mode & 0o7777).toBe(0o600);
    await conn.close();
  });

  it('creates the maildir again when it is removed under a live connection', async () => {
    const { rm } = await import('node:fs/promises');
    const box = join(root, 'again');
    const conn = await connect({ maildir_path: box });
    expect((await conn.send(message({ recipients: ['a@x.example'] }), sendOptions))[0]?.kind).toBe(
      'delivered',
    );
    await rm(box, { recursive: true });
    const [outcome] = await conn.send(message({ recipients: ['a@x.example'] }), sendOptions);
    expect(outcome?.kind).toBe('delivered');
    expect(await list(join(box, 'new'))).toEqual([idOf(outcome!.response.content)]);
    await conn.close();
  });
});
