import { constants } from 'node:fs';
import { chmod, type FileHandle, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DirectorySyncer, fsyncDirectory } from './dir-sync.js';
import { finalFileName, nextNameStem, tmpFileName } from './file-name.js';

/** How a {@link MaildirWriter} creates directories and files. */
export interface MaildirWriterOptions {
  /** Mode of the directories it creates; the process umask decides when undefined. */
  readonly dirMode?: number | undefined;
  /** Mode of the message files; the process umask decides (from 0o666) when undefined. */
  readonly fileMode?: number | undefined;
  /** The host name, already escaped for Maildir names. */
  readonly host: string;
  /** Wall-clock epoch milliseconds. */
  readonly now: () => number;
  /**
   * Share the `new/` fsync between writes that finish together. Off only to measure it.
   * @default true
   */
  readonly groupCommit?: boolean | undefined;
}

const CREATE_EXCL = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY;
// A long-lived connection writing to many per-user maildirs must not grow without bound.
const MAX_CACHED_MAILDIRS = 4096;

/** Thrown when a write is abandoned because its signal was aborted before the rename. */
export class WriteAbortedError extends Error {
  constructor() {
    super('the delivery was aborted before the message was complete');
    this.name = 'WriteAbortedError';
  }
}

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

/**
 * Writes messages into Maildirs the way the Maildir specification asks: a new file in `tmp/`
 * (O_EXCL), all bytes, fsync, rename into `new/`, fsync of `new/`. A reader of `new/` only ever
 * sees complete files, and a message is durable when {@link MaildirWriter.deliver} resolves.
 *
 * One writer belongs to one connection: it remembers the maildirs it has already created so
 * the hot path is open, write, fsync, rename and a directory fsync shared by the writes that
 * finish together (group commit).
 */
export class MaildirWriter {
  readonly #options: MaildirWriterOptions;
  readonly #ready = new Map<string, Promise<void>>();
  readonly #closing = new Set<Promise<void>>();
  /** Writes in flight per `new/` directory. */
  readonly #writing = new Map<string, number>();
  /** Group commit of `new/` directory fsyncs. */
  readonly syncer: DirectorySyncer;

  constructor(options: MaildirWriterOptions) {
    this.#options = options;
    this.syncer = new DirectorySyncer({ group: options.groupCommit ?? true });
  }

  /**
   * Stores `data` in the maildir at `maildir` and returns the file name in `new/`.
   * On any failure nothing is left in `new/` or `tmp/` (the temporary file is removed).
   */
  async deliver(maildir: string, data: Uint8Array, signal?: AbortSignal): Promise<string> {
    await this.#ensure(maildir);
    try {
      return await this.#store(maildir, data, signal);
    } catch (error) {
      // The maildir vanished since it was created (a cleanup job, an operator): create it again.
      if (!isErrno(error, 'ENOENT')) throw error;
      this.#ready.delete(maildir);
      await this.#ensure(maildir);
      return await this.#store(maildir, data, signal);
    }
  }

  #ensure(maildir: string): Promise<void> {
    let ready = this.#ready.get(maildir);
    if (!ready) {
      if (this.#ready.size >= MAX_CACHED_MAILDIRS) this.#ready.clear();
      ready = this.#create(maildir);
      this.#ready.set(maildir, ready);
      // A failure is reported to every waiter now, and retried from scratch next time.
      ready.catch(() => {
        if (this.#ready.get(maildir) === ready) this.#ready.delete(maildir);
      });
    }
    return ready;
  }

  // mkdir -p of tmp/, new/ and cur/; dir_mode is applied with chmod to each directory created here,
  // because mkdir's mode is filtered by the umask. New directory entries are fsynced too, so the
  // first message of a new maildir is as durable as the others.
  async #create(maildir: string): Promise<void> {
    const { dirMode } = this.#options;
    const created: string[] = [];
    for (const sub of ['tmp', 'new', 'cur']) {
      created.push(...(await makeDirectories(join(maildir, sub), dirMode ?? 0o777)));
    }
    if (created.length === 0) return;
    if (dirMode !== undefined) await Promise.all(created.map((dir) => chmod(dir, dirMode)));
    const parents = new Set(created.map((dir) => dirname(dir)));
    await Promise.all([...parents].map((dir) => fsyncDirectory(dir)));
  }

  // The chain a message waits for is open, write, fsync, rename, directory fsync: the file's fstat
  // runs beside the fsync, and closing handles happens after the outcome. A write with no other
  // in flight to the same new/ also opens new/ beside the fsync (it will sync alone, and this
  // keeps the open off its path); writes that overlap leave it to the group's sync, which opens
  // new/ once for the whole group — fewer calls, which is what counts when many are in flight.
  async #store(maildir: string, data: Uint8Array, signal?: AbortSignal): Promise<string> {
    const newDir = join(maildir, 'new');
    const alone = !this.#writing.has(newDir);
    this.#writing.set(newDir, (this.#writing.get(newDir) ?? 0) + 1);
    try {
      return await this.#write(maildir, newDir, data, alone, signal);
    } finally {
      const left = (this.#writing.get(newDir) ?? 1) - 1;
      if (left > 0) this.#writing.set(newDir, left);
      else this.#writing.delete(newDir);
    }
  }

  async #write(
    maildir: string,
    newDir: string,
    data: Uint8Array,
    alone: boolean,
    signal?: AbortSignal,
  ): Promise<string> {
    const { fileMode } = this.#options;
    const stem = nextNameStem(this.#options.now(), this.#options.host);
    const tmpPath = join(maildir, 'tmp', tmpFileName(stem));
    const file = await open(tmpPath, CREATE_EXCL, fileMode ?? 0o666);
    let dir: FileHandle | undefined;
    let finalName: string;
    try {
      await Promise.all([
        fileMode === undefined ? undefined : file.chmod(fileMode),
        writeAll(file, data),
      ]);
      const [synced, stat, opened] = await Promise.allSettled([
        file.sync(),
        file.stat({ bigint: true }),
        // Opened before the rename, so it is the new/ the rename goes into.
        alone ? open(newDir, 'r') : undefined,
      ]);
      if (opened.status === 'fulfilled') dir = opened.value;
      if (synced.status === 'rejected') throw synced.reason;
      if (stat.status === 'rejected') throw stat.reason;
      if (opened.status === 'rejected') throw opened.reason;
      finalName = finalFileName(stem, stat.value.dev, stat.value.ino, data.byteLength);
      if (signal?.aborted) throw new WriteAbortedError();
      // Renaming an open file is fine: every byte is on disk already.
      await rename(tmpPath, join(newDir, finalName));
    } catch (error) {
      await Promise.all([file.close().catch(() => {}), dir?.close().catch(() => {})]);
      await unlink(tmpPath).catch(() => {});
      throw error;
    }
    this.#later(file.close());
    const handle = dir;
    try {
      await this.syncer.sync(newDir, handle ? () => handle.sync() : () => fsyncDirectory(newDir));
    } catch (error) {
      // Visible but not known to be durable: take it back so the retry does not duplicate it.
      await unlink(join(newDir, finalName)).catch(() => {});
      throw error;
    } finally {
      if (handle) this.#later(handle.close());
    }
    return finalName;
  }

  // Closing a handle is off the message's path; close() waits for these.
  #later(closing: Promise<void>): void {
    const tracked = closing.catch(() => {}).finally(() => this.#closing.delete(tracked));
    this.#closing.add(tracked);
  }

  /** Resolves when every handle this writer opened is closed. */
  async drain(): Promise<void> {
    while (this.#closing.size > 0) await Promise.all([...this.#closing]);
  }
}

async function writeAll(file: FileHandle, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) {
    const { bytesWritten } = await file.write(data, offset, data.byteLength - offset);
    offset += bytesWritten;
  }
}

function notDirectory(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), {
    code: 'ENOTDIR',
    path,
  });
}

/**
 * `mkdir -p`, returning the directories it created, top first. Not `mkdir(…, {recursive})`:
 * Node's version loops forever where mkdir answers ENOENT under an existing parent (/proc), and
 * does not say which levels it made. The walk up is bounded by the depth of the path.
 */
export async function makeDirectories(target: string, mode: number): Promise<string[]> {
  const missing: string[] = [];
  for (let dir = target; ; dir = dirname(dir)) {
    try {
      if (!(await stat(dir)).isDirectory()) throw notDirectory(dir);
      break;
    } catch (error) {
      if (!isErrno(error, 'ENOENT') || dirname(dir) === dir) throw error;
      missing.push(dir);
    }
  }
  const created: string[] = [];
  for (const dir of missing.reverse()) {
    try {
      await mkdir(dir, { mode });
      created.push(dir);
    } catch (error) {
      // Another writer made it meanwhile; whether it is a directory shows at the next level.
      if (!isErrno(error, 'EEXIST')) throw error;
    }
  }
  return created;
}
