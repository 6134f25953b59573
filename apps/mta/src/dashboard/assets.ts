import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the build puts the browser app: `dist/ui/` of this package (from src/ or dist/). */
export const DEFAULT_ASSETS_DIR = new URL('../../dist/ui/', import.meta.url);

/** The security headers of every dashboard page. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// A content hash in a file name (`app-3f9a1c2b.js`, `chunk.8F2A91C0.css`): such files never change.
const HASHED = /[.-](?=[0-9a-zA-Z]*\d)[0-9a-zA-Z]{8,}\.[a-z0-9]+$/;

/** One file to send, or why not. */
export type AssetAnswer =
  | {
      readonly status: 200;
      readonly body: Buffer;
      readonly headers: Readonly<Record<string, string>>;
    }
  | { readonly status: 404 | 503; readonly text: string };

/**
 * The built browser app on disk: `index.html` and `assets/<file>`. Files are read per request
 * (the build may replace them while the daemon runs); a name that leaves the folder is a 404.
 */
export class Assets {
  readonly dir: string;

  constructor(dir: URL | string = DEFAULT_ASSETS_DIR) {
    this.dir = resolve(typeof dir === 'string' ? dir : fileURLToPath(dir));
  }

  /** The 503 text when `index.html` is missing. */
  get notBuilt(): string {
    return `the dashboard is not built: run pnpm build (${join(this.dir, 'index.html')} is missing)`;
  }

  /** `index.html`, with the page headers and no caching. */
  async index(): Promise<AssetAnswer> {
    const body = await readFile(join(this.dir, 'index.html')).catch(() => undefined);
    if (!body) return { status: 503, text: this.notBuilt };
    return {
      status: 200,
      body,
      headers: { 'content-type': TYPES['.html']!, 'cache-control': 'no-cache', ...PAGE_HEADERS },
    };
  }

  /** `assets/<name>` (`name` may hold sub-folders, never `..` out of `assets/`). */
  async asset(name: string): Promise<AssetAnswer> {
    const root = join(this.dir, 'assets');
    const path = resolve(root, name);
    if (name === '' || name.includes('\0') || !path.startsWith(root + sep))
      return { status: 404, text: `no dashboard asset ${name}` };
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) {
      const built = await stat(join(this.dir, 'index.html')).catch(() => undefined);
      return built
        ? { status: 404, text: `no dashboard asset ${name}` }
        : { status: 503, text: this.notBuilt };
    }
    const body = await readFile(path);
    const type = TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
    return {
      status: 200,
      body,
      headers: {
        'content-type': type,
        'cache-control': HASHED.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache',
        ...(type.startsWith('text/html') ? PAGE_HEADERS : { 'x-content-type-options': 'nosniff' }),
      },
    };
  }
}
