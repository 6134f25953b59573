// Part of `build`: tsc emits only JavaScript, so the runtime's Lua (and data) files are copied from src/
// to the same places under dist/, where the built modules look for them beside themselves.
import { cpSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const entry of readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })) {
  // policy-extras/ also ships its default data (shaping.toml, read by policy-extras.shaping).
  if (entry.endsWith('.lua') || entry.endsWith('.toml'))
    cpSync(join(root, 'src', entry), join(root, 'dist', entry));
}
