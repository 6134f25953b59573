import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeProtocolDriver } from '@sterna/protocol-testkit';
import { __CAMEL__Driver } from '../src/index.js';

// Every copy in the directory, read without the driver's help.
async function delivered(dir: string) {
  const copies: { recipients: string[]; data: Uint8Array }[] = [];
  for (const folder of await readdir(dir, { withFileTypes: true })) {
    if (!folder.isDirectory()) continue;
    for (const name of await readdir(join(dir, folder.name))) {
      if (!name.endsWith('.eml')) continue;
      copies.push({
        recipients: [decodeURIComponent(folder.name)],
        data: await readFile(join(dir, folder.name, name)),
      });
    }
  }
  return copies;
}

describeProtocolDriver({
  driver: __CAMEL__Driver,
  async setup() {
    const dir = await mkdtemp(join(tmpdir(), '__NAME__-'));
    // A regular file where one recipient's folder would go: that write fails (transient).
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, encodeURIComponent('blocked@example.com')), '');
    return {
      options: { __KEY__: { dir } },
      recipients: {
        accept: ['alice@example.com', 'bob@example.com'],
        transient: 'blocked@example.com',
        permanent: `${'x'.repeat(65)}@example.com`,
      },
      delivered: () => delivered(dir),
      teardown: () => rm(dir, { recursive: true, force: true }),
    };
  },
  invalidOptions: [
    { table: { __KEY__: {} }, path: 'protocol.__KEY__.dir' },
    { table: { __KEY__: { dir: '/x', extra: 1 } }, path: 'protocol.__KEY__' },
  ],
});
