import { readSync } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { endianness } from 'node:os';
import path from 'node:path';
import { crc32 } from './crc32.js';
import { SpoolIndex } from './index-entry.js';
import { HEADER_SIZE } from './record.js';
import { META_CHUNK, RememberedMetas } from './remembered.js';
import { readInto } from './scan.js';
import { newSegment, type Segment, segmentName } from './segment.js';

// The index checkpoint: what a replay of the whole segment log would rebuild, written at a clean
// stop so the next open reads one file instead of every record. Little-endian:
//   header (32 bytes): u32 magic 'SCK1', u32 version (2), u32 CRC-32 of the index part,
//     u32 messages, u32 segments, u32 metadata chunks, f64 body length
//   index part: per segment  u32 number, f64 size, u32 removal targets, per target u32 number,
//                            f64 bytes
//               per message, as columns (message i is the i-th entry of each; the part starts
//                 8-aligned from its own start): 16B ids, f64 data offsets, f64 metadata offsets,
//                 then u32 data segments, STORE meta lengths, data sizes, metadata segments,
//                 metadata lengths, metadata chunks (NONE: not kept), offsets in those chunks
//                 (60 bytes a message; the columns are the machine's typed arrays, which is why
//                 a big-endian machine writes none)
//               per chunk    u32 length, u32 CRC-32 of its bytes
//   then the chunks: the metadata JSON of their messages back to back
// The chunks' places are known from the index part, so the open reads them all at once while it
// builds the index.
//
// A checkpoint is the state at one place in the log: each segment it names up to the size it
// names (the segment that was taking appends may have grown since), nothing of the segments
// numbered above them. It is written at a clean stop (the place is the end of the log, and the
// metadata is in chunks) and, while the spool runs, each time the log has grown by
// `checkpointEvery` bytes (at a place the log writer marks; no metadata: it stays in the
// records). An open reads it, replays only the records after its place, and drops the messages
// whose records were in a segment compaction has deleted since (they were removed: a live
// record is copied forward, after the place, before its segment goes). It stays a true place in
// the log while the spool runs on (segments only grow, numbers are never used again, and what
// is deleted is accounted for as above), so the open leaves it until a newer one replaces it.

/** The checkpoint's file name in the data directory. */
export const CHECKPOINT_NAME = 'index.checkpoint';
const TEMPORARY = `.${CHECKPOINT_NAME}.tmp`;
const MAGIC = 0x314b4353; // 'SCK1' read as a little-endian u32
const VERSION = 2;
const PER_CHUNK = 8;
const HEAD = 32;
const PER_SEGMENT = 16;
const PER_TARGET = 12;
const PER_MESSAGE = 60;
const NONE = 0xffffffff;
// Metadata still on disk is read in spans: the next record's metadata joins the span when it
// starts at most GAP bytes after the previous one ends, up to SPAN bytes a read.
const GAP = 4096;
const SPAN = 4 * 1024 * 1024;

/** What a checkpoint is made from: the open spool's state, once every write is durable. */
export interface CheckpointSource {
  readonly dir: string;
  readonly segments: ReadonlyMap<number, Segment>;
  readonly index: SpoolIndex;
  readonly metas: RememberedMetas;
}

/** Where in the log a checkpoint is: `size` bytes of segment `no` (the others whole). */
export interface LogPlace {
  readonly no: number;
  readonly size: number;
}

/**
 * Writes the checkpoint (under a temporary name, renamed into place; the caller syncs the
 * directory). Everything it holds is taken before its first `await`, so the state it writes is
 * the spool's at the moment of the call: the caller calls it where that state is the log's up to
 * `place` (a clean stop's end of the log, or a place the log writer marks).
 *
 * With `metadata`, each message's latest metadata goes in too: from memory when the spool still
 * remembers it, otherwise from its record on disk, read in segment order with synchronous reads
 * (this runs while the spool closes, with nothing else to serve). Without, the next open reads
 * the metadata from the records.
 *
 * @param place the segment taking appends and its length at the place, when the log goes past it
 * @param scratch memory for the index part, used when it is large enough (see {@link scratchFor})
 * @returns the messages and bytes written
 */
export async function writeCheckpoint(
  source: CheckpointSource,
  {
    place,
    metadata = true,
    scratch,
  }: { place?: LogPlace | undefined; metadata?: boolean; scratch?: Buffer | undefined } = {},
): Promise<{ messages: number; bytes: number }> {
  const { dir, segments, index } = source;
  const snapshot = index.snapshot();
  let slots = snapshot.slots;
  if (metadata) {
    // By where the latest metadata lies, so the metadata read from disk is read front to back.
    const order = Uint32Array.from(snapshot.slots.keys()).sort((a, b) => {
      const x = snapshot.slots[a]!;
      const y = snapshot.slots[b]!;
      return index.mseg[x]! - index.mseg[y]! || index.moff[x]! - index.moff[y]!;
    });
    slots = order.map((k) => snapshot.slots[k]!);
  }
  if (endianness() !== 'LE')
    throw new Error('the checkpoint is written on little-endian machines only');
  let targets = 0;
  for (const s of segments.values()) targets += s.removeTargets.size;
  const segmentPart = Buffer.alloc(segments.size * PER_SEGMENT + targets * PER_TARGET);
  let p = 0;
  for (const s of segments.values()) {
    p = segmentPart.writeUInt32LE(s.no, p);
    p = segmentPart.writeDoubleLE(s.no === place?.no ? place.size : s.size, p);
    p = segmentPart.writeUInt32LE(s.removeTargets.size, p);
    for (const [target, bytes] of s.removeTargets) {
      p = segmentPart.writeUInt32LE(target, p);
      p = segmentPart.writeDoubleLE(bytes, p);
    }
  }
  const n = slots.length;
  const columns = new Columns(
    scratch !== undefined && scratch.length >= n * PER_MESSAGE && scratch.byteOffset % 8 === 0
      ? scratch.subarray(0, n * PER_MESSAGE)
      : Buffer.alloc(n * PER_MESSAGE),
    n,
  );
  // Metadata packed into chunks no larger than the ones the spool remembers them in, so the
  // next open adopts each chunk as read. A metadata larger than a chunk is not kept.
  const chunkLengths: number[] = [];
  let used = META_CHUNK;
  // A plain loop over local views: it runs while everything else waits (see the caller).
  const { seg, off, storeMeta, size, mseg, moff, mlen } = index;
  const c = columns;
  for (let i = 0; i < n; i++) {
    const slot = slots[i]!;
    const length = mlen[slot]!;
    let chunk = NONE;
    let at = 0;
    if (metadata && length <= META_CHUNK) {
      if (used + length > META_CHUNK) {
        chunkLengths.push(0);
        used = 0;
      }
      chunk = chunkLengths.length - 1;
      at = used;
      used += length;
      chunkLengths[chunk] = used;
    }
    index.copyId(slot, c.bytes, i * 16);
    c.off[i] = off[slot]!;
    c.moff[i] = moff[slot]!;
    c.seg[i] = seg[slot]!;
    c.storeMeta[i] = storeMeta[slot]!;
    c.size[i] = size[slot]!;
    c.mseg[i] = mseg[slot]!;
    c.mlen[i] = length;
    c.chunk[i] = chunk;
    c.at[i] = at;
  }
  const fixed = segmentPart.length + columns.bytes.length;
  const file = path.join(dir, TEMPORARY);
  const fh = await open(file, 'w');
  const table = Buffer.alloc(chunkLengths.length * PER_CHUNK);
  let bytes = HEAD + fixed + table.length;
  try {
    await writeAt(fh, segmentPart, HEAD);
    await writeAt(fh, columns.bytes, HEAD + segmentPart.length);
    const meta = metadata ? metaSource(source, slots) : () => Buffer.alloc(0);
    let next = 0;
    for (const [i, length] of chunkLengths.entries()) {
      const chunk = Buffer.allocUnsafe(length);
      let at = 0;
      for (; at < chunk.length; next++) {
        const slot = slots[next]!;
        if (index.mlen[slot]! > META_CHUNK) continue;
        const json = meta(next);
        if (json.length !== index.mlen[slot]) throw new Error('metadata changed while closing');
        chunk.set(json, at);
        at += json.length;
      }
      table.writeUInt32LE(length, i * PER_CHUNK);
      table.writeUInt32LE(crc32(chunk), i * PER_CHUNK + 4);
      await writeAt(fh, chunk, bytes);
      bytes += chunk.length;
    }
    await writeAt(fh, table, HEAD + fixed);
    const head = Buffer.alloc(HEAD);
    head.writeUInt32LE(MAGIC, 0);
    head.writeUInt32LE(VERSION, 4);
    head.writeUInt32LE(crc32(table, crc32(columns.bytes, crc32(segmentPart))), 8);
    head.writeUInt32LE(slots.length, 12);
    head.writeUInt32LE(segments.size, 16);
    head.writeUInt32LE(chunkLengths.length, 20);
    head.writeDoubleLE(bytes - HEAD, 24);
    await writeAt(fh, head, 0);
  } catch (error) {
    await fh.close().catch(() => {});
    await unlink(file).catch(() => {});
    throw error;
  }
  await fh.close();
  await rename(file, path.join(dir, CHECKPOINT_NAME));
  return { messages: slots.length, bytes };
}

/** The latest metadata of `slots[i]`: pending, remembered, or read from its record. */
function metaSource(source: CheckpointSource, slots: Uint32Array): (i: number) => Uint8Array {
  const { index, metas, segments } = source;
  let segment = -1;
  let start = 0;
  let span: Buffer = Buffer.alloc(0);
  return (i) => {
    const slot = slots[i]!;
    const kept = index.pending.get(slot) ?? metas.bytes(slot);
    if (kept !== undefined) return kept;
    const no = index.mseg[slot]!;
    const at = index.moff[slot]! + HEADER_SIZE;
    const length = index.mlen[slot]!;
    if (no !== segment || at < start || at + length > start + span.length) {
      let end = at + length;
      for (let j = i + 1; j < slots.length; j++) {
        const next = slots[j]!;
        const from = index.moff[next]! + HEADER_SIZE;
        const to = from + index.mlen[next]!;
        if (index.mseg[next] !== no || from - end > GAP || to - at > SPAN) break;
        end = to;
      }
      const fh = segments.get(no)?.fh;
      if (fh === undefined) throw new Error(`spool segment ${no} is missing`);
      span = readFully(fh, at, end - at);
      segment = no;
      start = at;
    }
    return span.subarray(at - start, at - start + length);
  };
}

function readFully(fh: FileHandle, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fh.fd, buf, got, length - got, position + got);
    if (n === 0) throw new Error(`unexpected end of spool segment at ${position + got}`);
    got += n;
  }
  return buf;
}

async function writeAt(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw new Error('short write');
    done += bytesWritten;
  }
}

/**
 * Memory for the index part of a checkpoint of up to `messages` messages, written to a few MiB
 * at a time with a turn of the event loop between: the first write to new memory is what costs
 * (on this project's virtual machines ~165 ms for the 60 MB of a million messages), and it is
 * then not paid while everything else waits for the copy of the index.
 */
export async function scratchFor(messages: number): Promise<Buffer> {
  const bytes = messages * PER_MESSAGE;
  const scratch = Buffer.allocUnsafeSlow(bytes);
  const step = 4 * 1024 * 1024;
  for (let at = 0; at < bytes; at += step) {
    scratch.fill(0, at, Math.min(bytes, at + step));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return scratch;
}

/** The state a checkpoint holds, with the segments on disk opened. */
export interface CheckpointState {
  readonly segments: Map<number, Segment>;
  readonly index: SpoolIndex;
  /** The metadata of the messages, in chunks still being read (see RememberedMetas.adopt). */
  readonly metas: RememberedMetas;
  /**
   * The log after the checkpoint's place, to replay on top of it: the segments on disk that go
   * past it, ascending, each with its length on disk (its `size` is the place, 0 for a segment
   * made after it).
   */
  readonly after: readonly { readonly segment: Segment; readonly end: number }[];
  /** Segments it names that compaction has deleted since. */
  readonly gone: ReadonlySet<number>;
}

/**
 * Reads the checkpoint in `dir`, if there is one, and checks it against the segments on disk
 * (`numbers`, ascending): each segment it names either on disk and at least as long as it says,
 * or deleted; no other segment on disk below the ones it names; and every record it points at
 * inside its place in the log. Returns the state, undefined when there is no checkpoint, or why
 * it cannot be used (the caller replays the log instead). Throws only when a segment cannot be
 * opened. The metadata chunks are read after it returns and checked when first used; one that is
 * damaged costs only reads of its messages' metadata from their records, not the checkpoint.
 */
export async function readCheckpoint(
  dir: string,
  numbers: readonly number[],
): Promise<CheckpointState | { problem: string } | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path.join(dir, CHECKPOINT_NAME), 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { problem: `cannot open it: ${(error as Error).message}` };
  }
  let parsed: Parsed | string;
  try {
    parsed = await parse(fh);
  } catch (error) {
    parsed = `cannot read it: ${(error as Error).message}`;
  }
  if (typeof parsed === 'string') {
    await fh.close().catch(() => {});
    return { problem: parsed };
  }
  // The metadata chunks are still being read: the file is closed once they are.
  const read = Promise.all(parsed.reads);
  void read.finally(() => fh.close().catch(() => {}));
  let built: Awaited<ReturnType<typeof build>>;
  try {
    built = await build(dir, numbers, parsed);
  } catch (error) {
    await read;
    throw error;
  }
  if ('problem' in built) await read; // a replay follows: not beside reads it no longer needs
  return built;
}

interface Parsed {
  readonly messages: number;
  readonly segments: number;
  readonly segmentPart: Buffer;
  readonly messageBytes: Buffer;
  /** The metadata chunks, being read. */
  readonly chunks: Buffer[];
  /** Per chunk, settles once it is read: with its check (the checksum), or why it is unusable. */
  readonly reads: Promise<(() => string | undefined) | string>[];
}

async function parse(fh: FileHandle): Promise<Parsed | string> {
  const { size } = await fh.stat();
  const head = await readAt(fh, 0, Math.min(HEAD, size));
  if (head.length < HEAD) return 'shorter than its header';
  if (head.readUInt32LE(0) !== MAGIC) return 'bad magic';
  if (head.readUInt32LE(4) !== VERSION) return `unknown version ${head.readUInt32LE(4)}`;
  const messages = head.readUInt32LE(12);
  const segments = head.readUInt32LE(16);
  const chunkCount = head.readUInt32LE(20);
  const bodyLength = head.readDoubleLE(24);
  if (HEAD + bodyLength !== size)
    return `its length is ${size}, its header says ${HEAD + bodyLength}`;
  // Segments' removal targets vary in number: find where the messages start.
  let p = 0;
  let at = HEAD;
  const segmentBytes: Buffer[] = [];
  for (let i = 0; i < segments; i++) {
    const s = await readAt(fh, at, PER_SEGMENT);
    if (s.length < PER_SEGMENT) return 'cut short in its segments';
    const targets = s.readUInt32LE(12);
    const rest = await readAt(fh, at + PER_SEGMENT, targets * PER_TARGET);
    if (rest.length < targets * PER_TARGET) return 'cut short in its segments';
    segmentBytes.push(s, rest);
    at += PER_SEGMENT + rest.length;
    p += PER_SEGMENT + rest.length;
  }
  // A damaged count must not ask for more memory than the file could fill.
  if (at + messages * PER_MESSAGE + chunkCount * PER_CHUNK > size)
    return 'cut short in its messages';
  // Its own allocation, so the columns' typed arrays are aligned.
  const messageBytes = Buffer.allocUnsafeSlow(messages * PER_MESSAGE);
  if ((await readInto(fh, messageBytes, at)) < messageBytes.length)
    return 'cut short in its messages';
  at += messageBytes.length;
  const table = await readAt(fh, at, chunkCount * PER_CHUNK);
  if (table.length < chunkCount * PER_CHUNK) return 'cut short in its chunk table';
  at += table.length;
  const segmentPart = Buffer.concat(segmentBytes, p);
  if (crc32(table, crc32(messageBytes, crc32(segmentPart))) !== head.readUInt32LE(8))
    return 'checksum mismatch';
  let end = at;
  for (let i = 0; i < chunkCount; i++) {
    const length = table.readUInt32LE(i * PER_CHUNK);
    if (length > META_CHUNK) return 'a metadata chunk is too large';
    end += length;
  }
  if (end !== size) return `its chunks end at ${end}, its length is ${size}`;
  // Every chunk read at once, in the background: the index is built and the spool opens while
  // they are read, and each is checked against its checksum when it is first used, so its check
  // is not in the way of the open either. Nothing returns early from here.
  const chunks: Buffer[] = [];
  const reads: Promise<(() => string | undefined) | string>[] = [];
  for (let i = 0; i < chunkCount; i++) {
    const length = table.readUInt32LE(i * PER_CHUNK);
    const crc = table.readUInt32LE(i * PER_CHUNK + 4);
    // Its own allocation outside the heap, given back whole once nothing in it is needed.
    const chunk = Buffer.allocUnsafeSlow(length);
    chunks.push(chunk);
    const from = at;
    reads.push(
      readInto(fh, chunk, from).then(
        (got) =>
          got < length
            ? `metadata chunk ${i} is cut short`
            : () => (crc32(chunk) === crc ? undefined : `checksum mismatch in metadata chunk ${i}`),
        (error: unknown) => `cannot read metadata chunk ${i}: ${(error as Error).message}`,
      ),
    );
    at += length;
  }
  return { messages, segments, segmentPart, messageBytes, chunks, reads };
}

async function build(
  dir: string,
  numbers: readonly number[],
  { messages, segments: segmentCount, segmentPart, messageBytes, chunks, reads }: Parsed,
): Promise<CheckpointState | { problem: string }> {
  const named = new Map<number, { size: number; targets: Map<number, number> }>();
  const fixed = segmentPart;
  let p = 0;
  for (let i = 0; i < segmentCount; i++) {
    const no = fixed.readUInt32LE(p);
    const size = fixed.readDoubleLE(p + 4);
    const count = fixed.readUInt32LE(p + 12);
    p += PER_SEGMENT;
    const targets = new Map<number, number>();
    for (let t = 0; t < count; t++, p += PER_TARGET) {
      targets.set(fixed.readUInt32LE(p), fixed.readDoubleLE(p + 4));
    }
    named.set(no, { size, targets });
  }
  const last = Math.max(-1, ...named.keys());
  const stray = numbers.find((no) => no < last && !named.has(no));
  if (stray !== undefined) {
    return { problem: `segment ${segmentName(stray)} on disk is not one it names` };
  }
  const segments = new Map<number, Segment>();
  const closeAll = async () => {
    for (const s of segments.values()) await s.fh.close().catch(() => {});
  };
  const after: { segment: Segment; end: number }[] = [];
  for (const no of numbers) {
    const { size, targets } = named.get(no) ?? { size: 0, targets: undefined };
    const segment = newSegment(dir, no, await open(path.join(dir, segmentName(no)), 'r+'), size);
    segment.sealed = true;
    for (const [target, bytes] of targets ?? []) segment.removeTargets.set(target, bytes);
    segments.set(no, segment);
    const { size: onDisk } = await segment.fh.stat();
    if (onDisk < size) {
      await closeAll();
      return { problem: `segment ${segment.path} is ${onDisk} bytes, it names ${size}` };
    }
    if (onDisk > size) after.push({ segment, end: onDisk });
  }
  const gone = new Set([...named.keys()].filter((no) => !segments.has(no)));
  const c = new Columns(messageBytes, messages);
  // A record it points at lies inside its place in the log, or in a segment deleted since.
  const fits = (no: number, end: number) => {
    const place = named.get(no)?.size ?? -1;
    return end <= place || (place >= 0 && gone.has(no));
  };
  for (let i = 0; i < messages; i++) {
    const chunk = c.chunk[i]!;
    if (
      !fits(c.seg[i]!, c.off[i]! + HEADER_SIZE + c.storeMeta[i]! + c.size[i]!) ||
      !fits(c.mseg[i]!, c.moff[i]! + HEADER_SIZE + c.mlen[i]!) ||
      (chunk !== NONE && !(chunk < chunks.length && c.at[i]! + c.mlen[i]! <= chunks[chunk]!.length))
    ) {
      await closeAll();
      return { problem: `its message ${c.id(i)} does not fit the segments` };
    }
  }
  const index = new SpoolIndex();
  if (!index.load(messages, c.bytes, c)) {
    await closeAll();
    return { problem: 'it names a message twice' };
  }
  const metas = new RememberedMetas();
  metas.reserve(messages);
  const adopted = chunks.map((chunk, i) => metas.adopt(chunk, reads[i]));
  for (let i = 0; i < messages; i++) {
    const chunk = c.chunk[i]!;
    if (chunk !== NONE) metas.place(i, adopted[chunk]!, c.at[i]!, c.mlen[i]!);
  }
  return { segments, index, metas, after, gone };
}

/** The per-message columns of a checkpoint, as typed arrays over its bytes. */
class Columns {
  readonly off: Float64Array;
  readonly moff: Float64Array;
  readonly seg: Uint32Array;
  readonly storeMeta: Uint32Array;
  readonly size: Uint32Array;
  readonly mseg: Uint32Array;
  readonly mlen: Uint32Array;
  readonly chunk: Uint32Array;
  readonly at: Uint32Array;

  /** `bytes` must start 8-aligned in its buffer (its own allocation). */
  constructor(
    readonly bytes: Buffer,
    n: number,
  ) {
    const { buffer, byteOffset } = bytes;
    let p = byteOffset + n * 16;
    const f64 = () => {
      const column = new Float64Array(buffer, p, n);
      p += n * 8;
      return column;
    };
    const u32 = () => {
      const column = new Uint32Array(buffer, p, n);
      p += n * 4;
      return column;
    };
    this.off = f64();
    this.moff = f64();
    this.seg = u32();
    this.storeMeta = u32();
    this.size = u32();
    this.mseg = u32();
    this.mlen = u32();
    this.chunk = u32();
    this.at = u32();
  }

  id(i: number): string {
    return this.bytes.toString('hex', i * 16, i * 16 + 16);
  }
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  return buf.subarray(0, await readInto(fh, buf, position));
}

/**
 * Deletes a checkpoint left half-written and, unless `keep`, the checkpoint, and syncs the
 * directory when it did delete something.
 */
export async function discardCheckpoint(
  dir: string,
  dirHandle: FileHandle,
  { keep }: { keep: boolean },
): Promise<void> {
  let removed = false;
  for (const name of keep ? [TEMPORARY] : [CHECKPOINT_NAME, TEMPORARY]) {
    try {
      await unlink(path.join(dir, name));
      removed = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  if (removed) await dirHandle.sync();
}
