import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PAGE_HEADERS } from '../../src/dashboard/assets.js';
import { Dashboard } from '../../src/dashboard/hub.js';
import { NOT_ENABLED } from '../../src/dashboard/routes.js';
import { type Started, startTestListener, TestAdmin } from '../http/fixtures.js';

// A dashboard over an in-memory engine: what these tests look at is the HTTP side.
function testDashboard(assetsDir: string, admin = new TestAdmin()): Dashboard {
  const counters = { received: 0, delivered: 0, transientFailures: 0, bounced: 0, expired: 0 };
  return new Dashboard({
    nodeId: 'node-1',
    startedAt: 0,
    engine: {
      counters,
      figures: () => ({ held: 0, scheduled: 0, ready: 0, connections: 0 }),
      stats: () => ({ counters, messages: 0, scheduled: {}, ready: {} }),
      admin,
      locate: () => undefined,
      heldMessages: () => [],
    },
    telemetry: { outcomes: new Map(), diskWatch: new Map() },
    policy: { path: '/etc/kumo/init.lua', loadedAt: 0, reloadedAt: () => null },
    listeners: () => [],
    drivers: [],
    logDirs: null,
    assetsDir,
    version: '0.0.0-test',
  });
}

/** A GET with the path sent exactly as written (fetch would resolve `..` first). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let started: Started | undefined;
let dashboard: Dashboard | undefined;
let dir: string | undefined;
afterEach(async () => {
  await started?.listener.close();
  dashboard?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  started = undefined;
  dashboard = undefined;
  dir = undefined;
});

// The app's folder is `<temp>/ui`; a file beside it must stay out of reach.
async function withAssets(files: Record<string, string>): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'sterna-ui-'));
  const ui = join(dir, 'ui');
  await mkdir(join(ui, 'assets'), { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(ui, name), text);
  await writeFile(join(dir, 'secret-beside-ui.txt'), 'not for the web');
  return ui;
}

describe('the dashboard assets', () => {
  it('serves index.html with the security headers, and the bundle with its types', async () => {
    const folder = await withAssets({
      'index.html':
        '<!doctype html><title>Sterna</title><script type="module" src="assets/app.js"></script>',
      'assets/app.js': 'console.log(1)',
      'assets/app.css': 'body{}',
      'assets/chunk-4F2A91C0.js': 'export {}',
    });
    dashboard = testDashboard(folder);
    started = await startTestListener({}, { dashboard });

    const page = await fetch(`${started.url}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    for (const [name, value] of Object.entries(PAGE_HEADERS))
      expect(page.headers.get(name), name).toBe(value);
    expect(page.headers.get('content-security-policy')).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    expect(await page.text()).toContain('<title>Sterna</title>');

    const js = await fetch(`${started.url}/ui/assets/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('no-cache');
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await js.text()).toBe('console.log(1)');
    const css = await fetch(`${started.url}/ui/assets/app.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const hashed = await fetch(`${started.url}/ui/assets/chunk-4F2A91C0.js`);
    expect(hashed.headers.get('cache-control')).toMatch(/max-age=31536000/);
    const missing = await fetch(`${started.url}/ui/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('no dashboard asset nope.js');
  });

  it('refuses paths out of the assets folder', async () => {
    const folder = await withAssets({ 'index.html': 'x', 'assets/app.js': 'y' });
    dashboard = testDashboard(folder);
    started = await startTestListener({}, { dashboard });
    for (const path of [
      '/ui/assets/../../secret-beside-ui.txt',
      '/ui/assets/../index.html',
      '/ui/assets/%2e%2e/%2e%2e/secret-beside-ui.txt',
      '/ui/assets/..%2f..%2fsecret-beside-ui.txt',
      '/ui/assets/%00',
    ]) {
      const answer = await rawGet(started.url, path);
      expect(answer.status, path).toBe(404);
      expect(answer.body, path).not.toContain('not for the web');
    }
  });

  it('answers 503 naming the missing index.html when the app is not built', async () => {
    const folder = await withAssets({});
    dashboard = testDashboard(folder);
    started = await startTestListener({}, { dashboard });
    for (const path of ['/ui/', '/ui/assets/app.js']) {
      const answer = await fetch(`${started.url}${path}`);
      expect(answer.status, path).toBe(503);
      expect(await answer.text(), path).toBe(
        `the dashboard is not built: run pnpm build (${join(folder, 'index.html')} is missing)`,
      );
    }
    // The JSON endpoints do not need the build.
    expect((await fetch(`${started.url}/ui/api/overview`)).status).toBe(200);
  });

  it('answers 501 on every /ui path of a listener without a dashboard', async () => {
    started = await startTestListener();
    for (const path of ['/ui', '/ui/', '/ui/api/overview', '/ui/api/admin/suspend/v1']) {
      const answer = await fetch(`${started.url}${path}`);
      expect(answer.status, path).toBe(501);
      expect(await answer.text(), path).toBe(NOT_ENABLED);
    }
  });

  it('documents its routes once: the admin mount is left out of the OpenAPI document', async () => {
    dashboard = testDashboard(await withAssets({}));
    started = await startTestListener({}, { dashboard });
    const doc = (await (await fetch(`${started.url}/api-docs/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { 'x-sterna-access'?: string; tags: string[] }>>;
    };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/ui/api/admin'))).toEqual([]);
    expect(doc.paths['/api/admin/suspend/v1']?.post).toBeDefined();
    const overview = doc.paths['/ui/api/overview']?.get;
    expect(overview?.['x-sterna-access']).toBe('dashboard');
    expect(overview?.tags).toEqual(['dashboard']);
    // The admin mount answers all the same.
    expect((await fetch(`${started.url}/ui/api/admin/suspend/v1`)).status).toBe(200);
  });

  it('ends open event streams when the listener closes', async () => {
    dashboard = testDashboard(await withAssets({}));
    started = await startTestListener({}, { dashboard });
    const abort = new AbortController();
    try {
      const response = await fetch(`${started.url}/ui/api/events`, { signal: abort.signal });
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while (!text.includes('event: hello')) text += (await reader.read()).value ?? '';
      expect(text).toMatch(/^retry: 2000\n\n/);
      expect(dashboard.subscribers).toBe(1);
      await started.listener.close();
      started = undefined;
      for (;;) if ((await reader.read()).done) break;
      expect(dashboard.subscribers).toBe(0);
    } finally {
      abort.abort();
    }
  });
});
