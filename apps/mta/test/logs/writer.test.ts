import { execFileSync } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSternaError, makeResponse } from '@sterna/core';
import {
  buildLogRecord,
  LOG_RECORD_KEYS,
  type LogRecord,
  type LogRecordType,
  newSpoolId,
  parseHeaders,
} from '@sterna/core/engine';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LocalLogWriter,
  type LocalLogWriterOptions,
  listSegments,
  parseLocalLogsConfig,
  readLogRecords,
  readSegment,
} from '../../src/logs/index.js';

let root: string;
const open: LocalLogWriter[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sterna-logs-'));
});

afterEach(async () => {
  for (const writer of open.splice(0)) await writer.close().catch(() => {});
  await rm(root, { recursive: true, force: true });
});

async function writer(table: Record<string, unknown>, options: LocalLogWriterOptions = {}) {
  const w = await LocalLogWriter.open(parseLocalLogsConfig({ log_dir: root, ...table }), options);
  open.push(w);
  return w;
}

function record(type: LogRecordType = 'Delivery', extra: Partial<LogRecord> = {}): LogRecord {
  return {
    ...buildLogRecord({
      type,
      id: newSpoolId(),
      sender: 'sender@example.com',
      recipient: 'rcpt@example.net',
      queue: 'example.net',
      site: 'unspecified->mx_list:127.0.0.1@smtp_client',
      size: 1234,
      response: makeResponse(250, '2.0.0 OK queued', { command: '.\r\n' }),
      peer_address: { name: 'mx.example.net', addr: '127.0.0.1' },
      num_attempts: 1,
      egress_pool: 'pool',
      egress_source: 'src',
      source_address: { address: '127.0.0.1:40000' },
      delivery_protocol: 'ESMTP',
      reception_protocol: 'ESMTP',
      nodeid: '1b2c3d4e-0000-4000-8000-000000000000',
      tls: { cipher: 'TLS_AES_256_GCM_SHA384', protocolVersion: 'TLSv1.3' },
      session_id: '0b6a2f3c-1111-4111-8111-111111111111',
    }),
    ...extra,
  };
}

const isReadOnly = async (path: string) => ((await stat(path)).mode & 0o222) === 0;

describe('records written and read back', () => {
  it("has every key of KumoMTA's schema, in order, with meta and headers from the message", async () => {
    const w = await writer({ meta: ['tenant', 'campaign'], headers: ['Subject'] });
    const original = record();
    const headers = parseHeaders(Buffer.from('Subject: hello\r\nFrom: a@b\r\n\r\nbody'));
    expect(w.write(original, { meta: { tenant: 't1', campaign: 'c1', queue: 'q' }, headers })).toBe(
      undefined,
    );
    await w.close();
    const [read, ...rest] = await readLogRecords(root);
    expect(rest).toEqual([]);
    expect(Object.keys(read!).slice(0, LOG_RECORD_KEYS.length)).toEqual([...LOG_RECORD_KEYS]);
    expect(Object.keys(read!).slice(LOG_RECORD_KEYS.length)).toEqual([
      'tls_cipher',
      'tls_protocol_version',
      'session_id',
    ]);
    expect(read).toEqual({
      ...original,
      meta: { tenant: 't1', campaign: 'c1' },
      headers: { Subject: 'hello' },
    });
    // The caller's record is not modified.
    expect(original.meta).toEqual({});
  });

  it('selects meta with prefix wildcards and headers case-insensitively, arrays when repeated', async () => {
    const w = await writer({ meta: ['xfer_*', 'tenant', 'absent'], headers: ['subject', 'X-*'] });
    const headers = parseHeaders(
      Buffer.from(
        'X-Campaign: spring\r\nSubject: =?UTF-8?Q?Caf=C3=A9?=\r\nx-campaign: second\r\n' +
          'X-Mailer: m\r\nReceived: from x\r\n\r\n',
      ),
    );
    w.write(record(), {
      meta: { xfer_from: 'a', xfer_to: 'b', Xfer_no: 'c', tenant: 't', tenantx: 'no' },
      headers,
    });
    await w.flush();
    const [read] = await readLogRecords(root);
    expect(read!.meta).toEqual({ xfer_from: 'a', xfer_to: 'b', tenant: 't' });
    expect(read!.headers).toEqual({
      Subject: 'Café',
      'X-Campaign': ['spring', 'second'],
      'X-Mailer': 'm',
    });
  });

  it('without a message context, filters the meta and headers the record carries', async () => {
    const w = await writer({ meta: ['keep'], headers: ['Subject'] });
    w.write(
      record('Rejection', { meta: { keep: 1, drop: 2 }, headers: { subject: 's', To: 't' } }),
    );
    await w.flush();
    const [read] = await readLogRecords(root);
    expect(read!.meta).toEqual({ keep: 1 });
    expect(read!.headers).toEqual({ subject: 's' });
  });

  it('per_record: enable = false drops a type, Any covers the rest, suffix and log_dir route', async () => {
    const deliveries = join(root, 'deliveries');
    const w = await writer({
      per_record: {
        TransientFailure: { enable: false },
        Reception: { suffix: '_recv' },
        Delivery: { log_dir: deliveries },
        Any: { enable: false },
      },
    });
    for (const type of ['Reception', 'Delivery', 'TransientFailure', 'Bounce'] as const) {
      w.write(record(type));
    }
    await w.close();
    const top = await readdir(root);
    expect(top.filter((n) => n !== 'deliveries')).toEqual([expect.stringMatching(/_recv$/)]);
    expect((await readLogRecords(root)).map((r) => r.type)).toEqual(['Reception']);
    expect((await readLogRecords(deliveries)).map((r) => r.type)).toEqual(['Delivery']);
    expect(w.stats()).toMatchObject({ written: 2, queued: 0, dropped: 0 });
  });

  it('per_record template and segment_header replace the JSON line', async () => {
    const w = await writer({
      per_record: {
        Bounce: {
          suffix: '.csv',
          segment_header: 'id,code,age\n',
          template: '{{ id }},{{ response.code }},{{ timestamp - created }}',
        },
        Feedback: { template: '{{ log_record | tojson }}' },
      },
    });
    const bounce = record('Bounce', { response: makeResponse(550, '5.1.1 no such user') });
    w.write(bounce);
    w.write(record('Bounce', { id: 'second' }));
    const feedback = record('Feedback');
    w.write(feedback);
    await w.close();
    const [csv] = (await listSegments(root)).filter((p) => p.endsWith('.csv'));
    const text = (await readSegment(csv!)).text;
    const age = bounce.timestamp - bounce.created;
    expect(text).toBe(`id,code,age\n${bounce.id},550,${age}\nsecond,250,${age}\n`);
    expect(await readLogRecords(root)).toEqual([feedback]);
  });

  it('a record whose template fails at render time is dropped and counted', async () => {
    const w = await writer({ per_record: { Bounce: { template: '{{ nothing() }}' } } });
    w.write(record('Bounce'));
    w.write(record('Delivery'));
    await w.close();
    expect((await readLogRecords(root)).map((r) => r.type)).toEqual(['Delivery']);
    expect(w.stats().dropped).toBe(1);
  });
});

describe('segment files', () => {
  it('are named by UTC opening time, one zstd frame per flush, read-only once closed', async () => {
    const before = new Date();
    const w = await writer({});
    w.write(record());
    await w.flush();
    w.write(record());
    await w.flush();
    const [path, ...others] = await listSegments(root);
    expect(others).toEqual([]);
    const name = path!.slice(root.length + 1);
    expect(name).toMatch(/^\d{8}-\d{6}\.\d{9}$/);
    const stamp = `${name.slice(0, 4)}-${name.slice(4, 6)}-${name.slice(6, 8)}T${name.slice(9, 11)}:${name.slice(11, 13)}:${name.slice(13, 15)}Z`;
    expect(Math.abs(Date.parse(stamp) - before.getTime())).toBeLessThan(5000);
    expect(await isReadOnly(path!)).toBe(false);
    // Two flushes, two complete frames: the file is readable while still open.
    const bytes = await readFile(path!);
    const magic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
    expect(bytes.indexOf(magic, 4)).toBeGreaterThan(0);
    expect(await readLogRecords(root)).toHaveLength(2);
    await w.close();
    expect(await isReadOnly(path!)).toBe(true);
    // close() is idempotent and later writes are refused.
    await w.close();
    expect(() => w.write(record())).toThrow(
      expect.objectContaining({ code: 'STERNA_LOGS_CLOSED' }),
    );
  });

  it('rotate when max_file_size uncompressed bytes are written', async () => {
    const one = Buffer.byteLength(`${JSON.stringify(record())}\n`);
    const w = await writer({ max_file_size: one * 2 + 10 });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = record();
      ids.push(r.id);
      w.write(r);
    }
    await w.flush();
    const segments = await listSegments(root);
    // Three records reach the limit (2 are just under it), so 7 records make 3 segments.
    expect(segments).toHaveLength(3);
    expect(await isReadOnly(segments[0]!)).toBe(true);
    expect(await isReadOnly(segments[1]!)).toBe(true);
    expect(await isReadOnly(segments[2]!)).toBe(false);
    const perSegment = await Promise.all(
      segments.map(async (p) => (await readSegment(p)).text.split('\n').length - 1),
    );
    expect(perSegment).toEqual([3, 3, 1]);
    await w.close();
    expect((await readLogRecords(root)).map((r) => r.id)).toEqual(ids);
  });

  it('rotate after max_segment_duration even with no further records (timer-driven)', async () => {
    const w = await writer({ max_segment_duration: '1s' });
    w.write(record());
    await w.flush();
    const [first] = await listSegments(root);
    expect(await isReadOnly(first!)).toBe(false);
    await waitFor(async () => isReadOnly(first!), 15_000);
    w.write(record());
    await w.flush();
    const segments = await listSegments(root);
    expect(segments).toHaveLength(2);
    expect(segments[0]).toBe(first);
    expect(await isReadOnly(segments[1]!)).toBe(false);
    await w.close();
    expect(await readLogRecords(root)).toHaveLength(2);
  });

  it('at max_segment_duration, records still queued go into the segment being finished', async () => {
    const w = await writer({ max_segment_duration: '1s' }, { flushIntervalMs: 60_000 });
    const first = record();
    w.write(first);
    await w.flush();
    const [path] = await listSegments(root);
    const queued = record('Bounce');
    w.write(queued); // not flushed: the batch timer is a minute away
    await waitFor(async () => isReadOnly(path!), 15_000);
    expect(await listSegments(root)).toEqual([path]);
    expect(await readLogRecords(root)).toEqual([first, queued]);
    expect(w.stats()).toMatchObject({ queued: 0, written: 2, segments: 1 });
  });

  it('stay open for a max_segment_duration longer than a Node timer can wait', async () => {
    const w = await writer({ max_segment_duration: '30 days' });
    w.write(record());
    await w.flush();
    await new Promise((r) => setTimeout(r, 100));
    const [path, ...others] = await listSegments(root);
    expect(others).toEqual([]);
    expect(await isReadOnly(path!)).toBe(false);
    await w.close();
    expect(await isReadOnly(path!)).toBe(true);
  });

  it('left writable by an earlier run are marked read-only at startup', async () => {
    const crashed = await writer({});
    crashed.write(record());
    await crashed.flush();
    const [left] = await listSegments(root);
    await writeFile(join(root, '.keep'), '');
    expect(await isReadOnly(left!)).toBe(false);
    // A second writer on the same directory: what the daemon does after a restart.
    const next = await writer({});
    expect(await isReadOnly(left!)).toBe(true);
    expect(await isReadOnly(join(root, '.keep'))).toBe(false);
    next.write(record());
    await next.close();
    expect(await listSegments(root)).toHaveLength(2);
  });

  it('a torn last frame (crash mid-write) is skipped; the complete frames are read', async () => {
    const w = await writer({});
    const first = record();
    w.write(first);
    await w.flush();
    await w.close();
    const [path] = await listSegments(root);
    // Simulate a crash: half of a second frame at the end of the file.
    const other = await mkdtemp(join(tmpdir(), 'sterna-logs-frame-'));
    try {
      const w2 = await LocalLogWriter.open(parseLocalLogsConfig({ log_dir: other }));
      w2.write(record());
      await w2.close();
      const [frameFile] = await listSegments(other);
      const frame = await readFile(frameFile!);
      const { chmod } = await import('node:fs/promises');
      await chmod(path!, 0o644);
      await appendFile(path!, frame.subarray(0, Math.floor(frame.length / 2)));
    } finally {
      await rm(other, { recursive: true, force: true });
    }
    const segment = await readSegment(path!);
    expect(segment.tornBytes).toBeGreaterThan(0);
    expect(await readLogRecords(root)).toEqual([first]);
  });

  it('a file that is not zstd is an error naming it', async () => {
    await writeFile(join(root, 'notes.txt'), 'hello, not a segment');
    await expect(readLogRecords(root)).rejects.toSatisfy(
      (e) => isSternaError(e, 'STERNA_LOGS_READ') && (e as Error).message.includes('notes.txt'),
    );
  });

  it.skipIf(!hasZstdCli())('decompress with the zstd command-line tool', async () => {
    const w = await writer({});
    const records = [record(), record('Bounce'), record('Reception')];
    for (const r of records) {
      w.write(r);
      await w.flush(); // one frame each
    }
    await w.close();
    const [path] = await listSegments(root);
    const text = execFileSync('zstd', ['-dc', path!], { encoding: 'utf8' });
    expect(
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
    ).toEqual(records);
  });
});

describe('back-pressure and write failures', () => {
  it('asks writers to wait beyond back_pressure, keeps records while the disk fails, drops past twice the limit', async () => {
    const w = await writer({ back_pressure: 4 }, { flushIntervalMs: 60_000, batchRecords: 1000 });
    // Block the directory: log_dir becomes a regular file, so no segment can be created.
    await rm(root, { recursive: true });
    await writeFile(root, 'blocked');
    for (let i = 0; i < 4; i++) expect(w.write(record())).toBe(undefined);
    const wait = w.write(record());
    expect(wait).toBeInstanceOf(Promise);
    await expect(w.flush()).rejects.toSatisfy((e) => isSternaError(e, 'STERNA_LOGS_WRITE'));
    for (let i = 0; i < 5; i++) w.write(record()); // 10 queued: twice back_pressure is 8
    expect(w.stats()).toMatchObject({ queued: 8, dropped: 2 });
    let resolved = false;
    void wait!.then(() => {
      resolved = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(false);
    // The disk comes back: everything kept is written, and waiting writers resume.
    await rm(root);
    await w.flush();
    await wait;
    expect(w.stats()).toMatchObject({ queued: 0, written: 8, dropped: 2 });
    await w.close();
    expect(await readLogRecords(root)).toHaveLength(8);
  });
});

function hasZstdCli(): boolean {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// Bounds are generous: they only end a test whose timer never fires, and a busy machine may
// take seconds over a rotation's fsync.
async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
