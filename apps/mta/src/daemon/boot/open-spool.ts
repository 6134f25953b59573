import { dirname, join, resolve } from 'node:path';
import { type Logger, SternaError } from '@sterna/core';
import { telemetry } from '../../observe/telemetry.js';
import { HoldingSpool, openSpool, type Spool } from '../../spool/index.js';
import type { CollectedConfig } from '../collected-config.js';
import { loadNodeId } from '../node-id.js';
import type { DaemonParts } from './parts.js';

/** The spool `init` defined, and the node id kept beside it. */
export interface OpenedSpool {
  readonly spool: Spool;
  readonly nodeId: string;
  /** The folder beside the spools where the node id and the shaping state are kept. */
  readonly stateDir: string;
}

/**
 * Boot stage 2: opens the spools `init` defined (`data`, and `meta` if given; one directory
 * serves both otherwise) and reads the node id kept beside the meta spool (made on first start;
 * `STERNA_NODE_ID_PATH` names another file).
 *
 * @throws SternaError `STERNA_MTA_POLICY` when `init` defined no spool named `data`.
 */
export async function openDaemonSpool(
  collected: CollectedConfig,
  log: Logger,
  parts: DaemonParts,
): Promise<OpenedSpool> {
  const data = collected.spools.get('data');
  if (!data)
    throw new SternaError(
      'STERNA_MTA_POLICY',
      "init defined no spool named 'data' (kumo.define_spool{ name = 'data', path = … })",
    );
  const meta = collected.spools.get('meta') ?? data;
  // Wrapped so that a `deferred_spool` source (a log hook, a listener, an injection) can keep
  // its messages in memory until they first have to wait.
  const spool = new HoldingSpool(
    await openSpool({
      dataPath: data.path,
      metaPath: meta.path,
      minFreeSpace: data.min_free_space,
      minFreeInodes: data.min_free_inodes,
      logger: log,
    }),
    log,
  );
  parts.spool = spool;
  telemetry.watchDisk('data spool', data.path);
  if (meta !== data) telemetry.watchDisk('meta spool', meta.path);
  const stateDir = dirname(resolve(meta.path));
  const nodeId = await loadNodeId(process.env.STERNA_NODE_ID_PATH ?? join(stateDir, 'nodeid'));
  return { spool, nodeId, stateDir };
}
