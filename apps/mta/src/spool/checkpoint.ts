import { readSync } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from './crc32.js';
import { SpoolIndex } from './index-entry.js';
import { HEADER_SIZE } from './record.js';
import { META_CHUNK, RememberedMetas } from './remembered.js';
import { newSegment, type Segment, segmentName } from './segment.js';

// The index checkpoint: what a replay of the whole segment log would rebuild, written at a clean
// stop so the next open reads one file instead of every record. Little-endian:
//   header (32 bytes): u32 magic 'SCK1', u32 version (1), u32 CRC-32 of the body, u32 messages,
//     u32 segments, u32 metadata chunks, f64 body length
//   body: per segment   u32 number, f64 size, u32 removal targets, per target u32 number, f64 bytes
//         per message   16B id, u32 seg, f64 off, u32 store meta length, u32 data size,
//                       u32 meta seg, f64 meta off, u32 meta length, u32 chunk (NONE: not kept),
//                       u32 offset in that chunk  (60 bytes)
//         per chunk     u32 length, then the metadata JSON of its messages back to back
// It is valid only with exactly the segments it names, each of the size it names; the open that
// reads it deletes it before the spool writes anything, so a crash later replays the log.

/** The checkpoint's file name in the data directory. */
export const CHECKPOINT_NAME = 'index.checkpoint';
const TEMPORARY = `.${CHECKPOINT_NAME}.tmp`;
const MAGIC = 0x314b4353; // 'SCK1' read as a little-endian u32
const VERSION = 1;
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

/**
 * Writes the checkpoint (under a temporary name, renamed into place; the caller syncs the
 * directory). Each message's latest metadata comes from memory when the spool still remembers
 * it, otherwise from its record on disk, read in segment order with synchronous reads: this
 * runs while the spool closes, with nothing else to serve.
 *
 * @returns the messages and bytes written
 */
export async function writeCheckpoint(
  source: CheckpointSource,
): Promise<{ messages: number; bytes: number }> {
  const { dir, segments, index } = source;
  const snapshot = index.snapshot();
  // By where the latest metadata lies, so the metadata read from disk is read front to back.
  const order = Uint32Array.from(snapshot.slots.keys()).sort((a, b) => {
    const x = snapshot.slots[a]!;
    const y = snapshot.slots[b]!;
    return index.mseg[x]! - index.mseg[y]! || index.moff[x]! - index.moff[y]!;
  });
  const slots = order.map((k) => snapshot.slots[k]!);
  let targets = 0;
  for (const s of segments.values()) targets += s.removeTargets.size;
  const fixed = Buffer.alloc(
    segments.size * PER_SEGMENT + targets * PER_TARGET + slots.length * PER_MESSAGE,
  );
  let p = 0;
  for (const s of segments.values()) {
    p = fixed.writeUInt32LE(s.no, p);
    p = fixed.writeDoubleLE(s.size, p);
    p = fixed.writeUInt32LE(s.removeTargets.size, p);
    for (const [target, bytes] of s.removeTargets) {
      p = fixed.writeUInt32LE(target, p);
      p = fixed.writeDoubleLE(bytes, p);
    }
  }
  // Metadata packed into chunks no larger than the ones the spool remembers them in, so the
  // next open adopts each chunk as read. A metadata larger than a chunk is not kept.
  const chunkLengths: number[] = [];
  let used = META_CHUNK;
  for (const [i, slot] of slots.entries()) {
    const length = index.mlen[slot]!;
    let chunk = NONE;
    let at = 0;
    if (length <= META_CHUNK) {
      if (used + length > META_CHUNK) {
        chunkLengths.push(0);
        used = 0;
      }
      chunk = chunkLengths.length - 1;
      at = used;
      used += length;
      chunkLengths[chunk] = used;
    }
    fixed.write(snapshot.ids[order[i]!]!, p, 16, 'hex');
    p += 16;
    p = fixed.writeUInt32LE(index.seg[slot]!, p);
    p = fixed.writeDoubleLE(index.off[slot]!, p);
    p = fixed.writeUInt32LE(index.storeMeta[slot]!, p);
    p = fixed.writeUInt32LE(index.size[slot]!, p);
    p = fixed.writeUInt32LE(index.mseg[slot]!, p);
    p = fixed.writeDoubleLE(index.moff[slot]!, p);
    p = fixed.writeUInt32LE(length, p);
    p = fixed.writeUInt32LE(chunk, p);
    p = fixed.writeUInt32LE(at, p);
  }
  const file = path.join(dir, TEMPORARY);
  const fh = await open(file, 'w');
  let bytes = HEAD;
  try {
    let crc = crc32(fixed);
    await writeAt(fh, fixed, bytes);
    bytes += fixed.length;
    const meta = metaSource(source, slots);
    let next = 0;
    for (const length of chunkLengths) {
      const chunk = Buffer.allocUnsafe(4 + length);
      chunk.writeUInt32LE(length, 0);
      let at = 4;
      for (; at < chunk.length; next++) {
        const slot = slots[next]!;
        if (index.mlen[slot]! > META_CHUNK) continue;
        const json = meta(next);
        if (json.length !== index.mlen[slot]) throw new Error('metadata changed while closing');
        chunk.set(json, at);
        at += json.length;
      }
      crc = crc32(chunk, crc);
      await writeAt(fh, chunk, bytes);
      bytes += chunk.length;
    }
    const head = Buffer.alloc(HEAD);
    head.writeUInt32LE(MAGIC, 0);
    head.writeUInt32LE(VERSION, 4);
    head.writeUInt32LE(crc, 8);
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

/** The state a checkpoint holds, with the segments it names opened. */
export interface CheckpointState {
  readonly segments: Map<number, Segment>;
  readonly index: SpoolIndex;
  readonly metas: RememberedMetas;
}

/**
 * Reads the checkpoint in `dir`, if there is one, and checks it against the segments on disk
 * (`numbers`, ascending): the same segments, each of the size it names, and every record it
 * points at inside them. Returns the state, undefined when there is no checkpoint, or why it
 * cannot be used (the caller replays the log instead). Throws only when a segment it names
 * cannot be opened.
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
  } finally {
    await fh.close().catch(() => {});
  }
  if (typeof parsed === 'string') return { problem: parsed };
  return build(dir, numbers, parsed);
}

interface Parsed {
  readonly messages: number;
  readonly segments: number;
  readonly segmentPart: Buffer;
  readonly messageBytes: Buffer;
  readonly chunks: Buffer[];
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
  const messageBytes = await readAt(fh, at, messages * PER_MESSAGE);
  if (messageBytes.length < messages * PER_MESSAGE) return 'cut short in its messages';
  at += messageBytes.length;
  const segmentPart = Buffer.concat(segmentBytes, p);
  let crc = crc32(messageBytes, crc32(segmentPart));
  const chunks: Buffer[] = [];
  for (let i = 0; i < chunkCount; i++) {
    const lengthBytes = await readAt(fh, at, 4);
    if (lengthBytes.length < 4) return 'cut short in its metadata';
    const length = lengthBytes.readUInt32LE(0);
    if (length > META_CHUNK) return 'a metadata chunk is too large';
    // Its own allocation outside the heap, given back whole once nothing in it is needed.
    const chunk = Buffer.allocUnsafeSlow(length);
    const got = await readInto(fh, chunk, at + 4);
    if (got < length) return 'cut short in its metadata';
    crc = crc32(chunk, crc32(lengthBytes, crc));
    chunks.push(chunk);
    at += 4 + length;
  }
  if (at !== size) return 'longer than its contents';
  if (crc !== head.readUInt32LE(8)) return 'checksum mismatch';
  return { messages, segments, segmentPart, messageBytes, chunks };
}

async function build(
  dir: string,
  numbers: readonly number[],
  { messages, segments: segmentCount, segmentPart, messageBytes, chunks }: Parsed,
): Promise<CheckpointState | { problem: string }> {
  const named = new Map<number, { size: number; targets: Map<number, number> }>();
  let fixed = segmentPart;
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
  if (named.size !== numbers.length || numbers.some((no) => !named.has(no))) {
    return { problem: 'the segments on disk are not the ones it names' };
  }
  const segments = new Map<number, Segment>();
  const closeAll = async () => {
    for (const s of segments.values()) await s.fh.close().catch(() => {});
  };
  for (const no of numbers) {
    const { size, targets } = named.get(no)!;
    const segment = newSegment(dir, no, await open(path.join(dir, segmentName(no)), 'r+'), size);
    segment.sealed = true;
    for (const [target, bytes] of targets) segment.removeTargets.set(target, bytes);
    segments.set(no, segment);
    const { size: onDisk } = await segment.fh.stat();
    if (onDisk !== size) {
      await closeAll();
      return { problem: `segment ${segment.path} is ${onDisk} bytes, it names ${size}` };
    }
  }
  const index = new SpoolIndex();
  index.reserve(messages);
  const metas = new RememberedMetas();
  metas.reserve(messages);
  const adopted = chunks.map((c) => metas.adopt(c));
  const within = (no: number, end: number) => end <= (segments.get(no)?.size ?? -1);
  fixed = messageBytes;
  p = 0;
  for (let i = 0; i < messages; i++, p += PER_MESSAGE) {
    const id = fixed.toString('hex', p, p + 16);
    const seg = fixed.readUInt32LE(p + 16);
    const off = fixed.readDoubleLE(p + 20);
    const storeMeta = fixed.readUInt32LE(p + 28);
    const size = fixed.readUInt32LE(p + 32);
    const mseg = fixed.readUInt32LE(p + 36);
    const moff = fixed.readDoubleLE(p + 40);
    const mlen = fixed.readUInt32LE(p + 48);
    const chunk = fixed.readUInt32LE(p + 52);
    const at = fixed.readUInt32LE(p + 56);
    if (
      !within(seg, off + HEADER_SIZE + storeMeta + size) ||
      !within(mseg, moff + HEADER_SIZE + mlen) ||
      (chunk !== NONE && !(chunk < chunks.length && at + mlen <= chunks[chunk]!.length))
    ) {
      await closeAll();
      return { problem: `its message ${id} does not fit the segments` };
    }
    const slot = index.set(id, seg, off, storeMeta, size);
    if (index.count !== i + 1) {
      await closeAll();
      return { problem: `it names message ${id} twice` };
    }
    index.mseg[slot] = mseg;
    index.moff[slot] = moff;
    index.mlen[slot] = mlen;
    if (chunk !== NONE) metas.place(slot, adopted[chunk]!, at, mlen);
  }
  return { segments, index, metas };
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  return buf.subarray(0, await readInto(fh, buf, position));
}

async function readInto(fh: FileHandle, buf: Buffer, position: number): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/**
 * Deletes the checkpoint (and a temporary one left by an interrupted write), and syncs the
 * directory when it did: from here the log is the only truth, and a crash replays it.
 */
export async function discardCheckpoint(dir: string, dirHandle: FileHandle): Promise<void> {
  let removed = false;
  for (const name of [CHECKPOINT_NAME, TEMPORARY]) {
    try {
      await unlink(path.join(dir, name));
      removed = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  if (removed) await dirHandle.sync();
}
