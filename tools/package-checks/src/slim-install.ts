import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { packPackage } from './pack.js';
import { run } from './run.js';
import { packageNamed } from './workspace.js';

/** An npm project outside the workspace with some packed Sterna packages installed. */
export interface SlimInstall {
  /** The project directory (holds node_modules). */
  readonly dir: string;
  /** npm's output, for failure messages. */
  readonly npmOutput: string;
}

/**
 * Packs the named workspace packages, then `npm install`s the tarballs into `<root>/app` as an
 * operator would (third-party dependencies come from the npm registry). Needs `dist/` built.
 */
export async function slimInstall(root: string, names: readonly string[]): Promise<SlimInstall> {
  const tarballs = join(root, 'tarballs');
  const dir = join(root, 'app');
  await mkdir(tarballs, { recursive: true });
  await mkdir(dir, { recursive: true });
  const dependencies: Record<string, string> = {};
  for (const name of names) {
    const tarball = await packPackage(await packageNamed(name), tarballs);
    dependencies[name] = `file:../tarballs/${basename(tarball)}`;
  }
  await writeFile(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'slim-sterna', private: true, type: 'module', dependencies }, null, 2)}\n`,
  );
  const npm = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=warn'], {
    cwd: dir,
    timeoutMs: 240_000,
  });
  if (npm.code !== 0) throw new Error(`npm install failed (exit ${npm.code}):\n${npm.output}`);
  return { dir, npmOutput: npm.output };
}

/** A daemon started from an installed `sterna` bin. */
export interface InstalledDaemon {
  readonly child: ChildProcess;
  /** `http://host:port` of its HTTP listener. */
  readonly http: string;
  output(): string;
  /** SIGTERM, then wait for exit (SIGKILL after 20 s). */
  stop(): Promise<number | null>;
}

/** Runs `node_modules/.bin/sterna --policy <policy>` in `dir` until `initialization complete`. */
export async function startInstalledDaemon(dir: string, policy: string): Promise<InstalledDaemon> {
  const child = spawn(join(dir, 'node_modules', '.bin', 'sterna'), ['--policy', policy], {
    cwd: dir,
    env: { ...process.env, STERNA_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the installed daemon did not start within 60 s:\n${out}`)),
      60_000,
    );
    const check = () => {
      if (!out.includes('initialization complete')) return;
      clearTimeout(timer);
      resolve();
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the installed daemon exited with ${code}:\n${out}`));
    });
  });
  const http = /http listener on (\S+)/.exec(out)?.[1];
  if (!http) throw new Error(`no http listener line:\n${out}`);
  return {
    child,
    http: `http://${http}`,
    output: () => out,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
