import zlib from 'node:zlib';

/**
 * One zstd implementation: Node's own (`node:zlib`, Node 22.15 and later) or the
 * `@bokuweb/zstd-wasm` module (every Node we support). Both write the same frame format —
 * content size in the header, no checksum — and read each other's frames; the bytes of a frame
 * may differ between zstd versions.
 */
export interface ZstdCodec {
  readonly name: 'node:zlib' | 'zstd-wasm';
  /** One complete zstd frame holding `data`. */
  compress(data: Uint8Array, level: number): Uint8Array;
  /** The content of one complete frame, of at most `maxSize` bytes. */
  decompress(frame: Uint8Array, maxSize: number): Uint8Array;
}

/** The part of `node:zlib` added in Node 22.15 (`@types/node` 20 does not describe it). */
interface NodeZstd {
  zstdCompressSync(data: Uint8Array, options: { params: Record<number, number> }): Buffer;
  zstdDecompressSync(data: Uint8Array, options: { maxOutputLength: number }): Buffer;
}

/** Node's built-in zstd, or `undefined` on a Node without it (20, and 22 before 22.15). */
export function builtinZstd(): ZstdCodec | undefined {
  const z = zlib as typeof zlib & Partial<NodeZstd>;
  const level = (z.constants as Record<string, number | undefined>).ZSTD_c_compressionLevel;
  const { zstdCompressSync, zstdDecompressSync } = z;
  if (typeof zstdCompressSync !== 'function' || typeof zstdDecompressSync !== 'function') return;
  if (level === undefined) return;
  return {
    name: 'node:zlib',
    // One call with all the input: zstd knows the size up front and writes it in the header.
    compress: (data, compressionLevel) =>
      zstdCompressSync(data, { params: { [level]: compressionLevel } }),
    // A frame that holds more than its header or blocks allow is corrupt: stop there.
    decompress: (frame, maxSize) => zstdDecompressSync(frame, { maxOutputLength: maxSize }),
  };
}

let wasm: Promise<ZstdCodec> | undefined;

/**
 * The zstd-wasm codec, imported and compiled on first use (once per process). Only Nodes
 * without a built-in zstd need it; tests use it to check both codecs against each other.
 */
export function wasmZstd(): Promise<ZstdCodec> {
  wasm ??= (async (): Promise<ZstdCodec> => {
    const { compress, decompress, init } = await import('@bokuweb/zstd-wasm');
    await init();
    return {
      name: 'zstd-wasm',
      compress: (data, level) => compress(data, level),
      // The library sizes its output from the frame header, or from this hint when the
      // header has no content size (frames of streaming encoders such as KumoMTA's own).
      decompress: (frame, maxSize) => decompress(frame, { defaultHeapSize: maxSize }),
    };
  })().catch((error: unknown) => {
    wasm = undefined; // let a later call try again
    throw error;
  });
  return wasm;
}

let codec: ZstdCodec | undefined;
let ready: Promise<ZstdCodec> | undefined;

/**
 * Picks the zstd codec of this process once: Node's built-in zstd when this Node has it,
 * otherwise zstd-wasm (loaded here, so a Node with the built-in never loads the wasm module).
 * Every other function here needs it.
 */
export function loadZstd(): Promise<ZstdCodec> {
  ready ??= (async () => {
    codec = builtinZstd() ?? (await wasmZstd());
    return codec;
  })().catch((error: unknown) => {
    ready = undefined; // let a later call try again
    throw error;
  });
  return ready;
}

function loaded(): ZstdCodec {
  if (codec === undefined) throw new Error('zstd is not loaded: await loadZstd() first');
  return codec;
}

/**
 * Compresses `data` into one complete zstd frame (content size in the header, no checksum).
 * Frames written one after another form a valid multi-frame file: `zstd -d` concatenates them.
 * Call {@link loadZstd} first.
 */
export function compressFrame(data: Uint8Array, level: number): Uint8Array {
  return loaded().compress(data, level);
}

const MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** A block never regenerates more than this (zstd's block size limit). */
const MAX_BLOCK = 128 * 1024;

/** Where one frame sits in a file, and an upper bound of its decompressed size. */
export interface FrameSpan {
  readonly start: number;
  readonly end: number;
  readonly skippable: boolean;
  readonly maxSize: number;
}

/** The result of walking the frames of a buffer. */
export interface FrameScan {
  readonly frames: FrameSpan[];
  /** Bytes after the last complete frame (a frame cut short by a crash), 0 when none. */
  readonly tornBytes: number;
  /** Set when the bytes at `frames[-1].end` are not the start of a zstd frame at all. */
  readonly garbageAt?: number;
}

/**
 * Finds the frame boundaries of a zstd file by reading only frame and block headers (RFC 8878
 * §3.1). A last frame that runs past the end of the buffer is reported as torn, not as an error.
 */
export function scanFrames(buf: Uint8Array): FrameScan {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const frames: FrameSpan[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < 4) return { frames, tornBytes: buf.length - at };
    const magic = view.getUint32(at, true);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (buf.length - at < 8) return { frames, tornBytes: buf.length - at };
      const end = at + 8 + view.getUint32(at + 4, true);
      if (end > buf.length) return { frames, tornBytes: buf.length - at };
      frames.push({ start: at, end, skippable: true, maxSize: 0 });
      at = end;
      continue;
    }
    if (magic !== MAGIC) return { frames, tornBytes: 0, garbageAt: at };
    const end = frameEnd(buf, view, at);
    if (end === undefined) return { frames, tornBytes: buf.length - at };
    frames.push({ start: at, end: end.end, skippable: false, maxSize: end.maxSize });
    at = end.end;
  }
  return { frames, tornBytes: 0 };
}

function frameEnd(
  buf: Uint8Array,
  view: DataView,
  start: number,
): { end: number; maxSize: number } | undefined {
  let at = start + 4;
  if (at >= buf.length) return undefined;
  const descriptor = buf[at]!;
  at += 1;
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const checksum = (descriptor >> 2) & 1;
  const dictIdSize = [0, 1, 2, 4][descriptor & 3]!;
  const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  at += (singleSegment ? 0 : 1) + dictIdSize;
  let contentSize: number | undefined;
  if (at + fcsSize > buf.length) return undefined;
  if (fcsSize === 1) contentSize = buf[at]!;
  else if (fcsSize === 2) contentSize = view.getUint16(at, true) + 256;
  else if (fcsSize === 4) contentSize = view.getUint32(at, true);
  else if (fcsSize === 8) contentSize = Number(view.getBigUint64(at, true));
  at += fcsSize;
  let bound = 0;
  for (;;) {
    if (at + 3 > buf.length) return undefined;
    const header = buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16);
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    at += 3;
    if (type === 3) return undefined; // reserved: treat as damage at the tail
    at += type === 1 ? 1 : size;
    bound += type === 1 ? size : MAX_BLOCK;
    if (at > buf.length) return undefined;
    if (last) break;
  }
  if (checksum) at += 4;
  if (at > buf.length) return undefined;
  return { end: at, maxSize: contentSize ?? bound };
}

/**
 * Decompresses one frame found by {@link scanFrames}. Call {@link loadZstd} first, or pass the
 * codec to use.
 */
export function decompressFrame(
  buf: Uint8Array,
  frame: FrameSpan,
  use: ZstdCodec = loaded(),
): Uint8Array {
  if (frame.skippable) return new Uint8Array(0);
  return use.decompress(buf.subarray(frame.start, frame.end), Math.max(frame.maxSize, 1));
}
