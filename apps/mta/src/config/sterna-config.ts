import { access, readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { SternaError } from '@sterna/core';
import { durationSchema as duration } from '@sterna/lua';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** The first-party drivers a daemon loads when its config names none. */
export const DEFAULT_DRIVERS = [
  '@sterna/protocol-smtp',
  '@sterna/protocol-maildir',
  '@sterna/protocol-lua',
] as const;

/** `sterna.config.{ts,js,mjs,json,yaml,yml}`: how the daemon itself runs (the policy decides the mail). */
export const sternaConfigSchema = z.strictObject({
  /** Driver packages (names or paths) to load. @default the three first-party drivers */
  drivers: z.array(z.string().min(1)).default([...DEFAULT_DRIVERS]),
  lua: z
    .strictObject({
      /** Lua contexts in the pool. @default 2 */
      contexts: z.number().int().min(1).max(64).default(2),
      /**
       * Keep a warm spare context (~30 MB) that replaces a terminated one at once. `auto`: from the
       * start with a single context; with more, from the first time a context is terminated.
       * @default 'auto'
       */
      spare: z.union([z.literal('auto'), z.boolean()]).default('auto'),
      /** Deadline of one policy event call, seconds. @default 10 */
      event_deadline: duration.default(10),
      /** Memory cap per Lua context, bytes. @default 256 MiB */
      memory_limit: z
        .number()
        .int()
        .positive()
        .default(256 * 1024 * 1024),
    })
    .default({
      contexts: 2,
      spare: 'auto',
      event_deadline: 10,
      memory_limit: 256 * 1024 * 1024,
    }),
  /**
   * Whether each ESMTP listener runs in its own worker thread (the SMTP conversation and its
   * sockets off the main thread, which keeps the policy, spool, queues and deliveries).
   * `auto`: when the machine has more than one CPU. @default 'auto'
   */
  smtp_listener_thread: z.union([z.literal('auto'), z.boolean()]).default('auto'),
  /** Seconds in-flight deliveries get at shutdown before they are left to the spool. @default 10 */
  shutdown_grace: duration.default(10),
  /** Seconds a single delivery may run before the watchdog abandons it. @default 600 */
  delivery_watchdog: duration.default(600),
  /**
   * Seconds between two looks of the config monitor at the files its globs match (KumoMTA
   * polls every 10 s); a changed file starts a new config epoch. @default 10
   */
  config_monitor_interval: duration.default(10),
});

/** The daemon's own settings. */
export type SternaConfig = z.output<typeof sternaConfigSchema> & {
  readonly dir: string;
  readonly file?: string | undefined;
};

const NAMES = [
  'sterna.config.ts',
  'sterna.config.mts',
  'sterna.config.js',
  'sterna.config.mjs',
  'sterna.config.json',
  'sterna.config.yaml',
  'sterna.config.yml',
];

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Loads the config named by `--config`, else the one beside the policy, else the defaults.
 *
 * @throws SternaError `STERNA_MTA_CONFIG` naming the file and each bad key.
 */
export async function loadSternaConfig(
  explicit: string | undefined,
  policyPath: string,
): Promise<SternaConfig> {
  let file = explicit ? resolve(explicit) : undefined;
  if (!file) {
    for (const name of NAMES) {
      const candidate = join(dirname(resolve(policyPath)), name);
      if (await exists(candidate)) {
        file = candidate;
        break;
      }
    }
  }
  let raw: unknown = {};
  if (file) {
    try {
      raw = await readConfigFile(file);
    } catch (error) {
      throw new SternaError('STERNA_MTA_CONFIG', `${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  const parsed = sternaConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new SternaError(
      'STERNA_MTA_CONFIG',
      `${file ?? 'sterna config'}:\n  ${lines.join('\n  ')}`,
    );
  }
  return { ...parsed.data, dir: file ? dirname(file) : dirname(resolve(policyPath)), file };
}

async function readConfigFile(file: string): Promise<unknown> {
  const ext = extname(file);
  if (ext === '.json') return JSON.parse(await readFile(file, 'utf8'));
  if (ext === '.yaml' || ext === '.yml') return parseYaml(await readFile(file, 'utf8'));
  // Loaded only for a config written in TypeScript or JavaScript.
  const { createJiti } = await import('jiti');
  const jiti = createJiti(import.meta.url, { interopDefault: true });
  return jiti.import(file, { default: true });
}
