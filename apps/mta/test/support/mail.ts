import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

/** Sends one message over a fresh SMTP connection; resolves with the server's final reply. */
export async function sendMail(
  server: { host: string; port: number },
  envelope: { from: string; to: string[] },
  data: string | Buffer,
  options: Partial<SMTPConnection.Options> & { auth?: SMTPConnection.Credentials } = {},
): Promise<{ response: string; accepted: string[]; rejected: string[] }> {
  const { auth, ...connectionOptions } = options;
  const connection = new SMTPConnection({
    host: server.host,
    port: server.port,
    ignoreTLS: true,
    socketTimeout: 15_000,
    ...connectionOptions,
  });
  connection.on('error', () => {});
  await new Promise<void>((resolve, reject) =>
    connection.connect((err?: Error) => (err ? reject(err) : resolve())),
  );
  try {
    if (auth) {
      // AUTH PLAIN (nodemailer picks it when offered), after STARTTLS when the options ask for TLS.
      await new Promise<void>((resolve, reject) =>
        connection.login(auth, (err?: Error | null) => (err ? reject(err) : resolve())),
      );
    }
    const info = await new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) =>
      connection.send(envelope, data, (err, result) => (err ? reject(err) : resolve(result))),
    );
    return {
      response: info.response,
      accepted: info.accepted.map(String),
      rejected: info.rejected.map(String),
    };
  } finally {
    connection.quit();
  }
}

/** A small RFC 5322 message with CRLF line endings. */
export function testMessage(subject: string, body = 'Hello from the Sterna tests.'): string {
  return [
    `From: Tests <tests@example.org>`,
    `To: someone@example.com`,
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W/g, '')}@sterna.test>`,
    '',
    body,
    '',
  ].join('\r\n');
}

/** The files under `<maildir>/new`, as text. */
export async function maildirMessages(maildir: string): Promise<string[]> {
  const dir = join(maildir, 'new');
  const names = await readdir(dir).catch(() => [] as string[]);
  return Promise.all(names.sort().map((n) => readFile(join(dir, n), 'utf8')));
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
