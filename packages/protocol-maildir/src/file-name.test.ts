import { describe, expect, it } from 'vitest';
import {
  escapeHostname,
  finalFileName,
  nextNameStem,
  parseFinalFileName,
  tmpFileName,
} from './file-name.js';

describe('maildir file names', () => {
  it('escapes / and : in the host name as the Maildir spec asks', () => {
    expect(escapeHostname('mx1.example.com')).toBe('mx1.example.com');
    expect(escapeHostname('a/b:c')).toBe('a\\057b\\072c');
  });

  it('builds the temporary and final names in KumoMTA form', () => {
    const stem = nextNameStem(1_700_000_000_123.5, 'host.test', 4242);
    expect(stem.secs).toBe(1_700_000_000);
    expect(stem.nanos).toBe(123_500_000);
    const hex = stem.counter.toString(16);
    expect(tmpFileName(stem)).toBe(`1700000000.#${hex}M123500000P4242.host.test`);
    expect(finalFileName(stem, 2049n, 12345678901234567n, 4096)).toBe(
      `1700000000.#${hex}M123500000P4242V2049I12345678901234567.host.test,S=4096`,
    );
  });

  it('counts up process-wide, so names stay unique when the clock stands still', () => {
    const a = nextNameStem(1000, 'h');
    const b = nextNameStem(1000, 'h');
    expect(b.counter).toBe(a.counter + 1);
    expect(tmpFileName(a)).not.toBe(tmpFileName(b));
  });

  it('parses a final name back', () => {
    const stem = nextNameStem(1_700_000_001_000, 'h\\072x', 7);
    const parsed = parseFinalFileName(finalFileName(stem, 1n, 2n, 3));
    expect(parsed).toEqual({
      secs: 1_700_000_001,
      counter: stem.counter,
      nanos: 0,
      pid: 7,
      dev: 1n,
      ino: 2n,
      host: 'h\\072x',
      size: 3,
    });
    expect(parseFinalFileName(tmpFileName(stem))).toBeUndefined();
  });
});
