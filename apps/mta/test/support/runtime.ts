import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyRuntime } from '@sterna/lua';

/** A policy runtime of one Lua context (no spare) on `text`, written into a temp dir. */
export interface TestRuntime {
  readonly runtime: PolicyRuntime;
  readonly dir: string;
  /** Closes the runtime and removes the dir. */
  close(): Promise<void>;
}

/** Starts a {@link TestRuntime}: the policy is `<dir>/policy.lua`. */
export async function startTestRuntime(
  text: string,
  prefix = 'sterna-runtime-',
): Promise<TestRuntime> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await writeFile(join(dir, 'policy.lua'), text);
  const runtime = await PolicyRuntime.start({
    policy: join(dir, 'policy.lua'),
    poolSize: 1,
    spare: false,
  });
  return {
    runtime,
    dir,
    async close() {
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
