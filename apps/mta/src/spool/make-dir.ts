import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * `mkdir -p`, bounded, with the real error: Node's recursive mkdir reports ENOENT on a
 * read-only filesystem (EROFS is what the operator needs to read).
 */
export async function makeDir(dir: string, depth = 0): Promise<void> {
  try {
    await mkdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return;
      throw Object.assign(new Error(`${dir} exists and is not a directory`), { code: 'ENOTDIR' });
    }
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir || depth >= 64) throw error;
    await makeDir(parent, depth + 1);
    await mkdir(dir).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST') throw again;
    });
  }
}
