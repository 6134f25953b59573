import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  builtinZstd,
  compressFrame,
  decompressFrame,
  loadZstd,
  scanFrames,
  wasmZstd,
  type ZstdCodec,
} from './zstd.js';

const active = await loadZstd();
const builtin = builtinZstd();
/** Every codec this Node has: zstd-wasm always, Node's own from 22.15 on. */
const codecs: ZstdCodec[] = [await wasmZstd(), ...(builtin ? [builtin] : [])];
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

/** A frame with no content size in its header, as streaming encoders write: raw blocks. */
function streamingFrame(parts: string[]): Uint8Array {
  const chunks: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58])]; // window 128 KiB
  parts.forEach((part, i) => {
    const data = Buffer.from(part);
    const last = i === parts.length - 1 ? 1 : 0;
    const header = (data.length << 3) | last; // raw block
    chunks.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]), data);
  });
  return Buffer.concat(chunks);
}

describe('zstd frames', () => {
  it('finds each frame of a multi-frame file and decompresses them', () => {
    const a = compressFrame(Buffer.from('first\n'), 3);
    const b = compressFrame(Buffer.from('second\n'.repeat(5000)), 19);
    const file = Buffer.concat([a, b]);
    const scan = scanFrames(file);
    expect(scan.tornBytes).toBe(0);
    expect(scan.frames.map((f) => [f.start, f.end])).toEqual([
      [0, a.length],
      [a.length, file.length],
    ]);
    expect(scan.frames.map((f) => text(decompressFrame(file, f)))).toEqual([
      'first\n',
      'second\n'.repeat(5000),
    ]);
  });

  it('reports a torn last frame at every cut point instead of failing', () => {
    const a = compressFrame(Buffer.from('complete\n'), 3);
    const b = compressFrame(Buffer.from('x'.repeat(1000)), 3);
    for (let cut = 1; cut < b.length; cut++) {
      const scan = scanFrames(Buffer.concat([a, b.subarray(0, cut)]));
      expect(scan.frames).toHaveLength(1);
      expect(scan.tornBytes).toBe(cut);
    }
  });

  it('skips skippable frames and reads frames without a content size', () => {
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const streamed = streamingFrame(['alpha\n', 'beta\n']);
    const file = Buffer.concat([skippable, streamed]);
    const scan = scanFrames(file);
    expect(scan.frames.map((f) => f.skippable)).toEqual([true, false]);
    expect(scan.frames.map((f) => text(decompressFrame(file, f))).join('')).toBe('alpha\nbeta\n');
  });

  it('points at bytes that are not a frame', () => {
    const a = compressFrame(Buffer.from('ok\n'), 3);
    const scan = scanFrames(Buffer.concat([a, Buffer.from('garbage!')]));
    expect(scan.frames).toHaveLength(1);
    expect(scan.garbageAt).toBe(a.length);
  });
});

/** Bytes as text that `toEqual` compares at once (it walks a Buffer byte by byte). */
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** Node ≥ 22.15 has zstd in node:zlib. */
function nodeHasZstd(): boolean {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  return major > 22 || (major === 22 && minor >= 15);
}

/** Inputs that exercise the frame header's size fields and blocks past 128 KiB. */
function samples(): Buffer[] {
  const records: string[] = [];
  for (let i = 0; i < 4000; i++) {
    records.push(
      `${JSON.stringify({ type: 'Delivery', id: `${i.toString(36)}-${(i * 7919) % 104729}`, n: i, recipient: `ü${i}@exämple.com` })}\n`,
    );
  }
  return [
    Buffer.alloc(0),
    Buffer.from('x'),
    Buffer.from('a\n'.repeat(200)), // content size in 2 bytes
    Buffer.from(records.join('')), // several blocks, content size in 4 bytes
  ];
}

describe('zstd codecs', () => {
  it(`uses Node's built-in zstd when this Node has one (here ${process.version})`, () => {
    expect(builtin !== undefined).toBe(nodeHasZstd());
    expect(active.name).toBe(nodeHasZstd() ? 'node:zlib' : 'zstd-wasm');
    // The tests below check every codec against every other: both of them from Node 22.15 on.
    expect(codecs.map((c) => c.name)).toEqual(
      nodeHasZstd() ? ['zstd-wasm', 'node:zlib'] : ['zstd-wasm'],
    );
  });

  for (const writer of codecs) {
    it(`frames written by ${writer.name} decode the same with every codec`, () => {
      for (const level of [-5, 1, 3, 19]) {
        const inputs = samples();
        const frames = inputs.map((data) => writer.compress(data, level));
        const file = Buffer.concat(frames);
        const scan = scanFrames(file);
        expect(scan).toMatchObject({ tornBytes: 0 });
        expect(scan.garbageAt).toBeUndefined();
        // One frame per input, each with its exact size in the header.
        expect(scan.frames.map((f) => [f.end - f.start, f.maxSize])).toEqual(
          frames.map((frame, i) => [frame.length, inputs[i]!.length]),
        );
        for (const reader of codecs) {
          const out = scan.frames.map((f) => base64(decompressFrame(file, f, reader)));
          expect(out, `level ${level}, read by ${reader.name}`).toEqual(inputs.map(base64));
        }
      }
    });
  }

  it.skipIf(!nodeHasZstd())(
    'output of createZstdCompress (no content size, a checksum) decodes with every codec',
    async () => {
      const createZstdCompress = (
        zlib as unknown as {
          createZstdCompress(options: { params: Record<number, number> }): NodeJS.ReadWriteStream;
        }
      ).createZstdCompress;
      const c = zlib.constants as unknown as Record<string, number>;
      const data = samples()[3]!;
      const parts: Buffer[] = []; // cuts fall inside UTF-8 sequences too
      for (let at = 0; at < data.length; at += 7000) parts.push(data.subarray(at, at + 7000));
      const encoder = createZstdCompress({ params: { [c.ZSTD_c_checksumFlag!]: 1 } });
      const frame = await buffer(Readable.from(parts).pipe(encoder));
      // Node's encoder ends the stream with an extra empty frame: still one valid zstd file.
      const scan = scanFrames(frame);
      expect(scan).toMatchObject({ tornBytes: 0 });
      expect(scan.garbageAt).toBeUndefined();
      expect(scan.frames.at(-1)!.end).toBe(frame.length);
      expect(scan.frames[0]!.maxSize).toBeGreaterThanOrEqual(data.length);
      for (const reader of codecs) {
        const out = Buffer.concat(scan.frames.map((f) => decompressFrame(frame, f, reader)));
        expect(base64(out), reader.name).toBe(base64(data));
      }
    },
  );

  it('a frame whose content is not the size its header says is an error with every codec', () => {
    const frame = Buffer.from(compressFrame(samples()[3]!, 3));
    // Single-segment frame with a 4-byte content size (checked): claim one byte more.
    expect(frame[4]! >> 5).toBe(0b101);
    frame.writeUInt32LE(frame.readUInt32LE(5) + 1, 5);
    const scan = scanFrames(frame);
    expect(scan.frames).toHaveLength(1);
    for (const reader of codecs) {
      expect(() => decompressFrame(frame, scan.frames[0]!, reader), reader.name).toThrow();
    }
  });
});
