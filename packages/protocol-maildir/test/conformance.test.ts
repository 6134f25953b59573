import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeProtocolDriver } from '@sterna/protocol-testkit';
import { maildirDriver } from '../src/index.js';
import { tempRoot } from './helpers.js';

// Reads every complete message under <root>/<domain>/<local>/new/ without the driver's help;
// the directory it sits in says which recipient it is for.
async function inspect(root: string) {
  const copies: { recipients: string[]; data: Uint8Array }[] = [];
  for (const domain of await readdir(root)) {
    const domainDir = join(root, domain);
    let locals: string[];
    try {
      locals = await readdir(domainDir);
    } catch {
      continue; // a regular file (the blocked path) holds no mail
    }
    for (const local of locals) {
      const newDir = join(domainDir, local, 'new');
      let names: string[];
      try {
        names = await readdir(newDir);
      } catch {
        continue;
      }
      for (const name of names) {
        copies.push({
          recipients: [`${local}@${domain}`],
          data: await readFile(join(newDir, name)),
        });
      }
    }
  }
  return copies;
}

describeProtocolDriver({
  driver: maildirDriver,
  async setup() {
    const { root, cleanup } = await tempRoot();
    // A regular file where one recipient's maildir would go: writing there fails (transient).
    await mkdir(join(root, 'example.com'));
    await writeFile(join(root, 'example.com', 'blocked'), 'not a maildir');
    return {
      options: { maildir_path: `${root}/{{ domain_part }}/{{ local_part }}`, dir_mode: 0o750 },
      recipients: {
        accept: ['alice@example.com', 'bob@example.com'],
        transient: 'blocked@example.com',
        // A path-escaping local part can never be stored under this template.
        permanent: '../escape@example.com',
      },
      delivered: () => inspect(root),
      teardown: cleanup,
    };
  },
  invalidOptions: [
    { table: { maildir_path: '/m', dir_mode: 0o10000 }, path: 'protocol.dir_mode' },
    { table: { maildir_path: '/m', file_mode: -1 }, path: 'protocol.file_mode' },
    { table: { maildir_path: '/m', file_mode: '640' }, path: 'protocol.file_mode' },
    { table: { maildir_path: '/m/{{ nobody }}' }, path: 'protocol.maildir_path' },
    { table: { maildir_path: '/m', mode: 1 }, path: "'mode'" },
    { table: { maildir_path: 1 }, path: 'protocol.maildir_path' },
  ],
});
