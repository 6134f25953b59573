import { readFileSync } from 'node:fs';

/** `@sterna/mta`'s version, from its package.json (one level above src/ and dist/); `0.0.0` when unreadable. */
export function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    const { version } = JSON.parse(text) as { version?: unknown };
    return typeof version === 'string' ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
