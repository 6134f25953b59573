import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

// Running from TypeScript sources (tests, tsx): the entry is a .ts file, which a worker can only
// import once tsx's loader is registered inside it.
const BOOT = `const { workerData } = require('node:worker_threads');
import(workerData.tsx).then((api) => { api.register(); return import(workerData.entry); })
  .catch((error) => { process.nextTick(() => { throw error; }); });`;

/**
 * Starts a worker thread on the module `name` beside `base` (an `import.meta.url`): `name.js`
 * when `base` is compiled JavaScript, `name.ts` through tsx when it runs from TypeScript sources.
 * `workerData` must be a plain object; the source case adds two fields of its own to it.
 */
export function startModuleWorker(
  base: string,
  name: string,
  options: Omit<WorkerOptions, 'eval' | 'workerData'> & { workerData: object },
): Worker {
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base), options);
  const tsx = createRequire(base)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  return new Worker(BOOT, {
    ...options,
    eval: true,
    execArgv: [...(options.execArgv ?? []), '--conditions=@sterna/source'],
    workerData: {
      ...options.workerData,
      tsx: pathToFileURL(tsx).href,
      entry: new URL(`./${name}.ts`, base).href,
    },
  });
}
