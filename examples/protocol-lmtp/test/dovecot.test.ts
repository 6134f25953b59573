import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMessage, type Outcome } from '@sterna/core';
import { DriverRegistry, egressPath } from '@sterna/core/engine';
import { testContext } from '@sterna/protocol-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LmtpOptions, lmtpDriver } from '../src/index.js';
import { type Dovecot, ensureDovecot, startDovecot } from './dovecot-server.js';

// A real LMTP server: Dovecot's, installed by the test when missing (apt-get, as root), started
// with a throwaway config on loopback. Mail is read back from Dovecot's own Maildir.
let dovecot: Dovecot;
beforeAll(async () => {
  dovecot = await startDovecot(ensureDovecot());
}, 300_000);
afterAll(() => dovecot?.stop());

const ctx = testContext();
const path = egressPath({ connect_timeout: 5, data_dot_timeout: 10 });

async function deliver(table: unknown, recipients: string[], body: string): Promise<Outcome[]> {
  const { options } = await new DriverRegistry([lmtpDriver]).resolve<LmtpOptions>(table);
  const resolution = await lmtpDriver.site(options, { queue: 'q', domain: 'example.com' }, ctx);
  if (!('site' in resolution)) throw new Error('no site');
  const connection = await lmtpDriver.connect(resolution.site, options, ctx, path);
  if (!('send' in connection)) throw new Error(`connect failed: ${connection.response.content}`);
  try {
    const message = createMessage({
      sender: 'sender@example.org',
      recipients,
      data: `From: sender@example.org\r\nSubject: ${body}\r\n\r\n${body}\r\n.dotted line\r\n`,
    });
    return await connection.send(message, { signal: new AbortController().signal });
  } finally {
    await connection.close();
  }
}

async function mailOf(user: string): Promise<string[]> {
  const dir = join(dovecot.maildirOf(user), 'new');
  const names = await readdir(dir).catch(() => []);
  return Promise.all(names.map((n) => readFile(join(dir, n), 'utf8')));
}

describe('delivery to Dovecot over LMTP', () => {
  it('delivers to two recipients over TCP, each with its own 250', async () => {
    const outcomes = await deliver(
      { lmtp: { host: dovecot.host, port: dovecot.port } },
      ['alice@example.com', 'bob@example.com'],
      'tcp-token-1',
    );
    expect(
      outcomes.map((o) => [o.recipient, o.kind, o.response.code]),
      await dovecot.log(),
    ).toEqual([
      ['alice@example.com', 'delivered', 250],
      ['bob@example.com', 'delivered', 250],
    ]);
    // Dovecot names the mailbox in each reply: the replies really are per recipient.
    expect(outcomes[0]?.response.content).toContain('alice@example.com');
    expect(outcomes[1]?.response.content).toContain('bob@example.com');
    for (const user of ['alice', 'bob']) {
      const files = await mailOf(user);
      expect(files).toHaveLength(1);
      expect(files[0]).toContain('Subject: tcp-token-1');
      // Dovecot stores LF line endings and un-stuffs the dot.
      expect(files[0]).toContain('\ntcp-token-1\n.dotted line\n');
      expect(files[0]).toMatch(/^Return-Path: <sender@example\.org>$/m);
      expect(files[0]).toMatch(/\sby .+ with LMTP\s/);
    }
  });

  it('delivers over Dovecot’s LMTP unix socket', async () => {
    const outcomes = await deliver(
      { lmtp: { path: dovecot.socketPath } },
      ['carol@example.com'],
      'unix-token-2',
    );
    expect(
      outcomes.map((o) => o.kind),
      await dovecot.log(),
    ).toEqual(['delivered']);
    const files = await mailOf('carol');
    expect(files).toHaveLength(1);
    expect(files[0]).toContain('unix-token-2');
  });

  it('answers per recipient: an unknown mailbox is refused, the other delivered', async () => {
    const outcomes = await deliver(
      { lmtp: { host: dovecot.host, port: dovecot.port } },
      ['nosuchuser@example.com', 'alice@example.com'],
      'mixed-token-3',
    );
    expect(
      outcomes.map((o) => [o.recipient, o.kind, o.response.code]),
      await dovecot.log(),
    ).toEqual([
      ['nosuchuser@example.com', 'permanent', 550],
      ['alice@example.com', 'delivered', 250],
    ]);
    expect(outcomes[0]?.response.enhanced_code).toEqual({ class: 5, subject: 1, detail: 1 });
    expect(outcomes[0]?.response.command).toBe('RCPT TO:<nosuchuser@example.com>\r\n');
    const alice = await mailOf('alice');
    expect(alice.filter((m) => m.includes('mixed-token-3'))).toHaveLength(1);
    expect(await readdir(dovecot.maildirOf('nosuchuser')).catch(() => 'absent')).toBe('absent');
  });
});
