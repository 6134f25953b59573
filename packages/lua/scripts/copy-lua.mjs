// Part of `build`: tsc emits only JavaScript, so the runtime's Lua files are copied from src/
// to the same places under dist/, where the built modules look for them beside themselves.
import { cpSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const entry of readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })) {
  if (entry.endsWith('.lua')) cpSync(join(root, 'src', entry), join(root, 'dist', entry));
}
