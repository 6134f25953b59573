import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorText, isProtocolDriver, type Logger } from '@sterna/core';
import { DriverRegistry } from '@sterna/core/engine';

/** A driver that could not be loaded, and why. */
export interface DriverLoadProblem {
  readonly name: string;
  readonly reason: string;
}

/**
 * Turns the driver names of the config into a registry: each package (or path) is imported and
 * its exported drivers registered. A driver that is not installed is reported, not fatal: its
 * queues get a transient failure saying what to install, and `--validate` lists it.
 */
export async function loadDrivers(
  names: readonly string[],
  configDir: string,
  log: Logger,
): Promise<{ registry: DriverRegistry; problems: DriverLoadProblem[] }> {
  const registry = new DriverRegistry();
  const problems: DriverLoadProblem[] = [];
  const requireFromConfig = createRequire(join(configDir, 'sterna.config.js'));
  for (const name of names) {
    let module: Record<string, unknown>;
    try {
      module = await importDriverModule(name, configDir, requireFromConfig);
    } catch (error) {
      const reason = isNotFound(error) ? `not installed (npm install ${name})` : errorText(error);
      problems.push({ name, reason });
      log.warn(`driver ${name} not loaded: ${reason}`);
      continue;
    }
    const drivers = new Set(Object.values(module).filter(isProtocolDriver));
    if (drivers.size === 0) {
      problems.push({
        name,
        reason: 'exports no protocol driver (build one with defineProtocolDriver)',
      });
      continue;
    }
    for (const driver of drivers) {
      try {
        registry.register(driver, name);
      } catch (error) {
        problems.push({ name, reason: errorText(error) });
      }
    }
  }
  return { registry, problems };
}

async function importDriverModule(
  name: string,
  configDir: string,
  req: NodeRequire,
): Promise<Record<string, unknown>> {
  if (name.startsWith('.') || isAbsolute(name))
    return import(pathToFileURL(resolve(configDir, name)).href);
  try {
    return await import(pathToFileURL(req.resolve(name)).href);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    // Not beside the config: the daemon's own dependencies (the first-party drivers).
    return import(name);
  }
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return (
    code === 'MODULE_NOT_FOUND' ||
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'ERR_PACKAGE_PATH_NOT_EXPORTED'
  );
}
