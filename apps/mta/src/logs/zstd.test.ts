import { describe, expect, it } from 'vitest';
import { compressFrame, decompressFrame, loadZstd, scanFrames } from './zstd.js';

await loadZstd();
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
