import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The node's identity (log `nodeid`): a UUID kept in a file so it survives restarts. */
export async function loadNodeId(path: string): Promise<string> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    if (/^[0-9a-f-]{36}$/i.test(text)) return text;
  } catch {
    // first start: made below
  }
  const id = randomUUID();
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${id}\n`, { mode: 0o644 });
  return id;
}
