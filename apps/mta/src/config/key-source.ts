import { readFile } from 'node:fs/promises';

/**
 * Reads a KumoMTA key source: a string is a file path; `{ key_data = '…' }` is the data inline.
 * Vault sources are not supported yet and say so.
 */
export async function readKeySource(source: unknown, what: string): Promise<string | undefined> {
  if (source === undefined || source === null) return undefined;
  if (typeof source === 'string') {
    try {
      return await readFile(source, 'utf8');
    } catch (error) {
      // The string is not echoed: it may be the secret itself, put here by mistake.
      const code = (error as { code?: string }).code ?? 'error';
      throw new Error(
        `${what}: cannot read key file (${code}); a string names a file — give the key itself as { key_data = '…' }`,
      );
    }
  }
  if (
    typeof source === 'object' &&
    typeof (source as { key_data?: unknown }).key_data === 'string'
  ) {
    return (source as { key_data: string }).key_data;
  }
  throw new Error(
    `${what}: expected a file path or { key_data = '…' } (vault key sources are not supported yet)`,
  );
}
