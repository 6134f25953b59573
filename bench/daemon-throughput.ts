// Issue 7's measurement, as a preset of `pnpm bench`: custom_lua (send returns 'OK') beside the
// SMTP relay, 4 KiB messages over 20 reused SMTP connections, in one run.
//   npx tsx --conditions=@sterna/source bench/daemon-throughput.ts [--n 20000] [--no-build]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

execFileSync(
  process.execPath,
  [
    ...process.execArgv,
    fileURLToPath(new URL('./index.ts', import.meta.url)),
    '--scenarios',
    'relay,lua',
    '--modes',
    'reuse',
    '--sizes',
    '4096',
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);
