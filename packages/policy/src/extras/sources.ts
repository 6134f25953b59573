/**
 * The sources helper (KumoMTA's `policy-extras.sources`, Sterna's Lua version in
 * packages/lua/src/policy-extras/sources.lua), for TypeScript policies, reading the same files:
 *
 *     [source.'ip-1']                  # any makeEgressSource option but name
 *     source_address = '10.0.0.1'
 *     ehlo_domain = 'mta1.example.com'
 *     [pool.'pool-1'.'ip-1']           # pool-1 holds ip-1 (weight 1 when not given)
 *     [pool.'pool-2'.'ip-2']
 *     weight = 2
 *
 * `sources.setup(files)` registers `get_egress_source`, `get_egress_pool` and `validate_config`.
 * @module
 */
import { on } from '../events.js';
import { type DataFile, fileList, loadAll } from './data-files.js';
import { type Compiled, dataSource } from './data-source.js';
import { checkKey, make } from './make.js';
import {
  eachEntry,
  entryPath,
  keyPath,
  Problems,
  put,
  quoteKey,
  quoteName,
  raise,
  reason,
  type Table,
} from './support.js';

const WHAT = 'sources helper';

interface SourceEntry {
  readonly path: string;
  readonly params: Table;
  /** The file each key came from. */
  readonly origin: Record<string, string>;
  /** Keys `makeEgressSource` refused, with the reason. */
  readonly bad: Record<string, string>;
}

interface PoolMember {
  weight: number;
  file: string;
  path: string;
}

interface PoolEntry {
  readonly path: string;
  file: string;
  readonly members: Map<string, PoolMember>;
}

/** The sources data of a setup: sources and pools by name. */
export interface SourcesData {
  readonly sources: Map<string, SourceEntry>;
  readonly pools: Map<string, PoolEntry>;
}

/** An egress source as `get_egress_source` returns it (a `makeEgressSource` table). */
export type EgressSourceParams = Table & { name: string };

/** An egress pool as `get_egress_pool` returns it (a `makeEgressPool` table). */
export interface EgressPoolParams {
  name: string;
  entries: { name: string; weight: number }[];
  [key: string]: unknown;
}

function compile(files: readonly DataFile[]): Compiled<SourcesData> {
  const fatal = new Problems();
  const data: SourcesData = { sources: new Map(), pools: new Map() };
  for (const { label, data: file } of loadAll(files, fatal)) {
    for (const [key, value] of Object.entries(file)) {
      if (key === 'source') {
        eachEntry(
          value,
          'source',
          label,
          fatal,
          'a table of egress source options',
          (name, params, path) => {
            let entry = data.sources.get(name);
            if (!entry) {
              entry = { path, params: {}, origin: {}, bad: {} };
              data.sources.set(name, entry);
            }
            for (const [k, v] of Object.entries(params)) {
              if (k === 'name') {
                fatal.add(
                  label,
                  keyPath(path, 'name'),
                  'the source name is the table name; remove name',
                );
              } else {
                put(entry.params, k, v);
                put(entry.origin, k, label);
              }
            }
          },
        );
      } else if (key === 'pool') {
        eachEntry(value, 'pool', label, fatal, 'a table of sources', (pool, members, path) => {
          let entry = data.pools.get(pool);
          if (!entry) {
            entry = { path, file: label, members: new Map() };
            data.pools.set(pool, entry);
          }
          entry.file = label;
          const poolEntry = entry;
          eachEntry(members, path, label, fatal, 'a table (weight = n)', (source, options, at) => {
            let member = poolEntry.members.get(source);
            if (!member) {
              member = { weight: 1, file: label, path: at };
              poolEntry.members.set(source, member);
            }
            member.file = label;
            member.path = at;
            for (const [k, v] of Object.entries(options)) {
              if (k !== 'weight') {
                fatal.add(label, keyPath(at, k), 'unknown key (expected weight)');
              } else if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
                fatal.add(label, keyPath(at, 'weight'), 'expected a whole number 0 or more');
              } else member.weight = v;
            }
          });
        });
      } else {
        fatal.add(label, quoteKey(key), 'unknown key (expected source or pool)');
      }
    }
  }
  const entries = new Problems();
  for (const [name, entry] of data.sources) {
    for (const [key, value] of Object.entries(entry.params)) {
      const why = checkKey('makeEgressSource', key, value, { name });
      if (why !== undefined) {
        entry.bad[key] = why;
        entries.add(entry.origin[key]!, keyPath(entry.path, key), why);
      }
    }
  }
  return { data, fatal: fatal.list, entries: entries.list };
}

const undefinedSource = (name: string) =>
  `source ${quoteName(name)} is not defined (no [${entryPath('source', name)}])`;

function poolEntries(pool: PoolEntry): { name: string; weight: number }[] {
  return [...pool.members.keys()]
    .sort()
    .map((name) => ({ name, weight: pool.members.get(name)!.weight }));
}

// For validate_config: every pool through makeEgressPool, every member defined.
function checkPools(data: SourcesData, problems: Problems): void {
  for (const [name, pool] of data.pools) {
    try {
      make('makeEgressPool', { name, entries: poolEntries(pool) });
    } catch (error) {
      problems.add(pool.file, pool.path, reason(error));
    }
    for (const [source, member] of pool.members) {
      if (!data.sources.has(source))
        problems.add(member.file, member.path, undefinedSource(source));
    }
  }
}

/** The files of the last `setup`, for {@link definedPools} and {@link definedSources}. */
let configuredFiles: readonly DataFile[] | undefined;

/** What {@link setup} returns: the handlers it registered, for a policy's own use. */
export interface SourcesHelper {
  /** The `get_egress_source` handler. */
  getEgressSource(name: string): EgressSourceParams;
  /** The `get_egress_pool` handler. */
  getEgressPool(name: string): EgressPoolParams;
}

/**
 * Reads `files` (when first needed; kept for 5 minutes) and registers `get_egress_source`,
 * `get_egress_pool` and `validate_config`, as the Lua helper's `sources:setup{…}`.
 *
 * @throws TypeError when `files` is not a list of file names or objects.
 */
export function setup(files: string | readonly DataFile[]): SourcesHelper {
  const list = fileList(files, 'sources');
  configuredFiles = list;
  const data = dataSource(WHAT, list, compile, { check: checkPools });

  const helper: SourcesHelper = {
    getEgressSource(name) {
      const current = data();
      const entry = current.sources.get(name);
      if (entry === undefined) {
        for (const pool of current.pools.values()) {
          const member = pool.members.get(name);
          if (member)
            raise(WHAT, [{ file: member.file, path: member.path, text: undefinedSource(name) }]);
        }
        throw new Error(`${WHAT}: no source named '${name}' in the sources data`);
      }
      raise(
        WHAT,
        Object.entries(entry.bad).map(([key, why]) => ({
          file: entry.origin[key]!,
          path: keyPath(entry.path, key),
          text: why,
        })),
      );
      return make('makeEgressSource', { name, ...entry.params });
    },
    getEgressPool(name) {
      const pool = data().pools.get(name);
      if (pool === undefined)
        throw new Error(`${WHAT}: no pool named '${name}' in the sources data`);
      return make('makeEgressPool', { name, entries: poolEntries(pool) });
    },
  };
  on('get_egress_source', helper.getEgressSource);
  on('get_egress_pool', helper.getEgressPool);
  return helper;
}

function namesOf(field: 'sources' | 'pools'): Set<string> | undefined {
  if (configuredFiles === undefined) return undefined;
  return new Set(compile(configuredFiles).data[field].keys());
}

/** The pool names the data of the last `setup` defines, or `undefined` before any setup. */
export function definedPools(): Set<string> | undefined {
  return namesOf('pools');
}

/** The source names the data of the last `setup` defines, or `undefined` before any setup. */
export function definedSources(): Set<string> | undefined {
  return namesOf('sources');
}
