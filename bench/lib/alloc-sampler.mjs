// Allocation sampling for a benchmark's daemons: where the main thread's garbage comes from.
//
//   STERNA_ALLOC_PROF=DIR NODE_OPTIONS="--import $PWD/bench/lib/alloc-sampler.mjs" \
//     npx tsx --conditions=@sterna/source bench/many-queues.ts … --no-build
//
// Each Sterna daemon the benchmark starts (the environment is inherited) samples its main
// thread's allocations from start to exit, objects the garbage collector has since freed
// included (what `--heap-prof` leaves out: it keeps only what is still alive), and writes
// DIR/alloc-<pid>.heapprofile as it exits; Chrome DevTools opens it. Any other Node process
// (the benchmark itself, its sink) is left alone.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

// biome-ignore lint/suspicious/noUndeclaredEnvVars: read by a benchmark's daemons, never by a turbo task
const dir = process.env.STERNA_ALLOC_PROF;
const isDaemon = process.argv.some((arg) => arg.endsWith('/bin/sterna.js'));

if (dir && isMainThread && isDaemon) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 32 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  // An in-thread inspector session answers synchronously, so this runs to the end on 'exit'.
  process.on('exit', () => {
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (error) {
        process.stderr.write(`alloc-sampler: ${error.message}\n`);
        return;
      }
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `alloc-${process.pid}.heapprofile`), JSON.stringify(result.profile));
    });
  });
}
