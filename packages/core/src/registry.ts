import { type AnyProtocolDriver, DRIVER_API_VERSION, isProtocolDriver } from './driver.js';
import { SternaError } from './errors.js';
import { validateOptions } from './schema.js';

/** The protocol of a queue whose config names none: SMTP to the domain's MX. */
export const DEFAULT_PROTOCOL: Readonly<Record<string, unknown>> = Object.freeze({
  smtp: Object.freeze({}),
});

// The packages that provide Sterna's own drivers, for "install …" hints.
const FIRST_PARTY: Readonly<Record<string, string>> = {
  smtp: '@sterna/protocol-smtp',
  maildir_path: '@sterna/protocol-maildir',
  custom_lua: '@sterna/protocol-lua',
};

/** The package to suggest for a protocol key no loaded driver claims. */
export function packageHintFor(key: string): string {
  return (
    FIRST_PARTY[key] ??
    `a driver package that claims '${key}' (community drivers are named sterna-protocol-<name>)`
  );
}

/** A driver and the options its schema produced from a `protocol` table. */
export interface ResolvedProtocol<Options = unknown> {
  readonly driver: AnyProtocolDriver;
  readonly options: Options;
}

function isPlainTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The loaded drivers, by the protocol key each claims. The registry takes driver objects; turning
 * package names into imports is the application's job.
 */
export class DriverRegistry {
  readonly #drivers = new Map<string, AnyProtocolDriver>();

  constructor(drivers: Iterable<unknown> = []) {
    for (const driver of drivers) this.register(driver);
  }

  /**
   * Adds a driver.
   *
   * @throws SternaError `STERNA_DRIVER_INVALID` for an object not made by `defineProtocolDriver`,
   * `STERNA_DRIVER_API_VERSION` for another contract version, `STERNA_DRIVER_DUPLICATE` when
   * the key is taken.
   */
  register(driver: unknown, source = 'driver'): this {
    if (!isProtocolDriver(driver)) {
      throw new SternaError(
        'STERNA_DRIVER_INVALID',
        `${source} is not a protocol driver: build it with defineProtocolDriver() from @sterna/core`,
      );
    }
    if (driver.apiVersion !== DRIVER_API_VERSION) {
      throw new SternaError(
        'STERNA_DRIVER_API_VERSION',
        `driver '${driver.protocol}' speaks driver API version ${String(driver.apiVersion)}; this @sterna/core speaks version ${DRIVER_API_VERSION}`,
      );
    }
    const existing = this.#drivers.get(driver.protocol);
    if (existing) {
      throw new SternaError(
        'STERNA_DRIVER_DUPLICATE',
        `two drivers claim protocol '${driver.protocol}' (${existing.packageName ?? 'unnamed'} and ${driver.packageName ?? 'unnamed'})`,
      );
    }
    this.#drivers.set(driver.protocol, driver);
    return this;
  }

  /** The driver claiming `key`, if loaded. */
  get(key: string): AnyProtocolDriver | undefined {
    return this.#drivers.get(key);
  }

  /** The protocol keys of the loaded drivers. */
  keys(): string[] {
    return [...this.#drivers.keys()];
  }

  /** The loaded drivers. */
  drivers(): AnyProtocolDriver[] {
    return [...this.#drivers.values()];
  }

  /**
   * Finds the driver for a queue's `protocol` table and validates the table with its schema.
   * Exactly one key of the table must be a driver's protocol key; the others belong to that
   * driver (`{ maildir_path = …, dir_mode = … }`).
   *
   * @param path how the table is named in errors, e.g. `protocol`
   * @throws SternaError `STERNA_PROTOCOL_INVALID`, `STERNA_PROTOCOL_UNKNOWN`,
   * `STERNA_PROTOCOL_AMBIGUOUS` or `STERNA_OPTIONS_INVALID` (naming the path of each problem).
   */
  async resolve<Options = unknown>(
    table: unknown = DEFAULT_PROTOCOL,
    path = 'protocol',
  ): Promise<ResolvedProtocol<Options>> {
    if (!isPlainTable(table)) {
      throw new SternaError(
        'STERNA_PROTOCOL_INVALID',
        `${path}: expected a table like { smtp = {} }, got ${Array.isArray(table) ? 'an array' : typeof table}`,
      );
    }
    const keys = Object.keys(table);
    const claimed = keys.filter((key) => this.#drivers.has(key));
    if (claimed.length > 1) {
      throw new SternaError(
        'STERNA_PROTOCOL_AMBIGUOUS',
        `${path}: names more than one protocol (${claimed.join(', ')}); choose one`,
      );
    }
    const key = claimed[0];
    if (key === undefined) {
      if (keys.length === 0) {
        throw new SternaError(
          'STERNA_PROTOCOL_UNKNOWN',
          `${path}: the table is empty; name a protocol such as { smtp = {} }`,
        );
      }
      const loaded = this.keys().join(', ') || 'none';
      throw new SternaError(
        'STERNA_PROTOCOL_UNKNOWN',
        `${path}: no loaded driver handles protocol '${keys[0]}'; install ${packageHintFor(keys[0]!)} and add it to the drivers in sterna.config (loaded: ${loaded})`,
      );
    }
    const driver = this.#drivers.get(key)!;
    const options = await validateOptions<Options>(
      driver.options,
      table,
      path,
      `protocol '${key}'`,
    );
    return { driver, options };
  }
}
