import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';

/**
 * Writes a run's figures to `bench/results/<prefix>-<time>.json` under `root`, with the date,
 * host and CPU count beside them, and says where.
 */
export async function writeResults(
  root: string,
  prefix: string,
  figures: Record<string, unknown>,
): Promise<string> {
  const dir = join(root, 'bench/results');
  const out = join(dir, `${prefix}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await mkdir(dir, { recursive: true });
  const run = { date: new Date().toISOString(), host: hostname(), cpus: cpus().length };
  await writeFile(out, JSON.stringify({ ...run, ...figures }, null, 2));
  console.log(`\nresults: ${out}`);
  return out;
}
