/**
 * The queue helper (KumoMTA's `policy-extras.queue`; Sterna's Lua version in
 * packages/lua/src/policy-extras/queue.lua, whose header documents the file format) for
 * TypeScript policies, reading the same `queues.toml`:
 *
 *     import { queue } from '@sterna/policy/extras';
 *     const helper = queue.setup(['/etc/sterna/queues.toml']);
 *     on('smtp_server_message_received', (msg) => helper.apply(msg));
 *
 * `setup` registers `get_queue_config` and `validate_config` and, when the data sets any
 * `overall_max_message_rate`, `throttle_insert_ready_queue`. Queue config layers merge key by
 * key, later winning: `queue.default`, `queue.'domain'`, `tenant.'t'`, `queue.default.'t'`,
 * `queue.'domain'.'t'`, `queue.default.'t'.'c'`, `queue.'domain'.'t'.'c'`.
 * @module
 */
import type { Message, SchedulingParams } from '@sterna/lua';
import { on, reject } from '../events.js';
import { delayIfThrottled } from './daemon.js';
import { type DataFile, fileList, loadAll } from './data-files.js';
import { type Compiled, dataSource } from './data-source.js';
import { checkKey, make } from './make.js';
import { definedPools } from './sources.js';
import {
  eachEntry,
  entryPath,
  isArray,
  isTable,
  keyPath,
  type Problem,
  Problems,
  put,
  quoteKey,
  raise,
  reason,
  type Table,
  typeName,
} from './support.js';

const WHAT = 'queue helper';
const OVERALL = 'overall_max_message_rate';

/** The top-level options and their types. */
const OPTIONS: Readonly<Record<string, 'string' | 'boolean'>> = {
  scheduling_header: 'string',
  remove_scheduling_header: 'boolean',
  tenant_header: 'string',
  remove_tenant_header: 'boolean',
  campaign_header: 'string',
  remove_campaign_header: 'boolean',
  default_tenant: 'string',
};

/** The top-level options of the queue data. */
export interface QueueOptions {
  scheduling_header?: string;
  remove_scheduling_header?: boolean;
  tenant_header?: string;
  remove_tenant_header?: boolean;
  campaign_header?: string;
  remove_campaign_header?: boolean;
  default_tenant?: string;
}

// Queue config keys whose value is a table (any other table in a queue entry is a tenant or
// campaign entry below it).
const TABLE_PARAMS = new Set(['protocol', 'shrink_policy']);

/** One entry of the data (`[tenant.'t']`, `[queue.'d'.'t']`…), merged across the files. */
interface Node {
  readonly path: string;
  /** The domain (lower case), for a `queue.'d'` entry. */
  name?: string;
  file?: string;
  readonly params: Table;
  /** The file each key came from. */
  readonly origin: Record<string, string>;
  /** Keys `makeQueueConfig` refused, with the reason. */
  readonly bad: Record<string, string>;
  readonly children: Map<string, Node>;
  campaigns?: Map<string, Node>;
  requireAuthz?: readonly string[];
  routingDomain?: string;
}

/** The queue data of a setup. */
export interface QueueData {
  readonly options: QueueOptions;
  readonly optionOrigin: Record<string, string>;
  readonly tenants: Map<string, Node>;
  readonly queues: Map<string, Node>;
  readonly hasOverall: boolean;
}

const newNode = (path: string): Node => ({
  path,
  params: {},
  origin: {},
  bad: {},
  children: new Map(),
});

// `[tenant.'t'.campaigns]`: campaign entries of a tenant, each read for OVERALL only.
function mergeCampaigns(node: Node, value: unknown, label: string, problems: Problems): void {
  eachEntry(
    value,
    keyPath(node.path, 'campaigns'),
    label,
    problems,
    'a table of campaign keys',
    (name, entry, at) => {
      node.campaigns ??= new Map();
      let campaign = node.campaigns.get(name);
      if (!campaign) {
        campaign = newNode(at);
        node.campaigns.set(name, campaign);
      }
      campaign.file = label;
      for (const [key, v] of Object.entries(entry)) {
        put(campaign.params, key, v);
        put(campaign.origin, key, label);
      }
    },
  );
}

// Merges one entry of one file into `node`. `depth` 1 = domain (children are tenants),
// 2 = tenant under a domain (children are campaigns), 3 = campaign, 0 = [tenant.'x'].
function mergeEntry(
  node: Node,
  entry: Table,
  label: string,
  depth: number,
  problems: Problems,
): void {
  node.file = label;
  for (const [key, value] of Object.entries(entry)) {
    if (depth === 0 && key === 'campaigns') {
      mergeCampaigns(node, value, label, problems);
    } else if (depth === 0 && key === 'require_authz') {
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
        node.requireAuthz = value;
      } else if (isTable(value) && Object.keys(value).length === 0) {
        node.requireAuthz = [];
      } else {
        problems.add(label, keyPath(node.path, 'require_authz'), 'expected an array of strings');
      }
    } else if (depth >= 1 && key === 'routing_domain') {
      if (typeof value === 'string') node.routingDomain = value;
      else
        problems.add(
          label,
          keyPath(node.path, 'routing_domain'),
          `expected a string, got ${typeName(value)}`,
        );
    } else if (
      depth >= 1 &&
      depth <= 2 &&
      isTable(value) &&
      !TABLE_PARAMS.has(key) &&
      !isArray(value)
    ) {
      let child = node.children.get(key);
      if (!child) {
        child = newNode(entryPath(node.path, key));
        node.children.set(key, child);
      }
      mergeEntry(child, value, label, depth + 1, problems);
    } else {
      put(node.params, key, value);
      put(node.origin, key, label);
    }
  }
}

function refuse(node: Node, key: string, why: string, problems: Problems): void {
  put(node.bad, key, why);
  problems.add(node.origin[key]!, keyPath(node.path, key), why);
}

// Checks every queue config key of a node (and its children) on its own; a refused key is
// kept in node.bad and listed. Under queue.default, overall_max_message_rate names no scope.
function checkNode(node: Node, problems: Problems, isDefault: boolean): void {
  for (const [key, value] of Object.entries(node.params)) {
    const why = checkKey('makeQueueConfig', key, value);
    if (why !== undefined) refuse(node, key, why, problems);
  }
  if (isDefault && node.params[OVERALL] !== undefined && node.bad[OVERALL] === undefined) {
    refuse(
      node,
      OVERALL,
      'not read under queue.default, whose entries are defaults for each queue: a combined ' +
        "rate needs a scope (tenant.'t', tenant.'t'.campaigns.'c' or queue.'<domain>')",
      problems,
    );
  }
  for (const child of node.children.values()) checkNode(child, problems, isDefault);
  for (const campaign of node.campaigns?.values() ?? []) {
    for (const [key, value] of Object.entries(campaign.params)) {
      const why =
        key !== OVERALL
          ? "unknown key (a tenant's campaigns take only overall_max_message_rate; queue " +
            "config for a campaign goes in queue.default.'t'.'c' or queue.'<domain>'.'t'.'c')"
          : checkKey('makeQueueConfig', key, value);
      if (why !== undefined) refuse(campaign, key, why, problems);
    }
  }
}

function anyOverall(nodes: Iterable<Node>): boolean {
  for (const node of nodes) {
    if (node.params[OVERALL] !== undefined || anyOverall(node.children.values())) return true;
    if (node.campaigns && anyOverall(node.campaigns.values())) return true;
  }
  return false;
}

function compile(files: readonly DataFile[]): Compiled<QueueData> {
  const fatal = new Problems();
  const options: Record<string, unknown> = {};
  const optionOrigin: Record<string, string> = {};
  const tenants = new Map<string, Node>();
  const queues = new Map<string, Node>();
  for (const { label, data: file } of loadAll(files, fatal)) {
    for (const [key, value] of Object.entries(file)) {
      const type = Object.hasOwn(OPTIONS, key) ? OPTIONS[key] : undefined;
      if (type !== undefined) {
        if (typeof value === type) {
          options[key] = value;
          optionOrigin[key] = label;
        } else fatal.add(label, key, `expected a ${type}, got ${typeName(value)}`);
      } else if (key === 'tenant' || key === 'queue') {
        eachEntry(value, key, label, fatal, 'a table of queue config keys', (name, entry, path) => {
          if (key === 'tenant') {
            let node = tenants.get(name);
            if (!node) {
              node = newNode(path);
              tenants.set(name, node);
            }
            mergeEntry(node, entry, label, 0, fatal);
          } else {
            const domain = name.toLowerCase();
            let node = queues.get(domain);
            if (!node) {
              node = newNode(path);
              queues.set(domain, node);
            }
            node.name = domain;
            mergeEntry(node, entry, label, 1, fatal);
          }
        });
      } else {
        fatal.add(label, quoteKey(key), 'unknown key');
      }
    }
  }
  const entries = new Problems();
  for (const node of tenants.values()) checkNode(node, entries, false);
  for (const [name, node] of queues) checkNode(node, entries, name === 'default');
  const hasOverall = anyOverall(tenants.values()) || anyOverall(queues.values());
  return {
    data: { options: options as QueueOptions, optionOrigin, tenants, queues, hasOverall },
    fatal: fatal.list,
    entries: entries.list,
  };
}

/**
 * The `queue.'<domain>'` entry for a domain: the exact name, else the closest `*.` wildcard
 * above it (`*.b.example.com`, then `*.example.com`, …), case-insensitively.
 */
function byDomain(queues: Map<string, Node>, domain: unknown): Node | undefined {
  if (typeof domain !== 'string') return undefined;
  const name = domain.toLowerCase();
  const exact = queues.get(name);
  if (exact) return exact;
  for (let at = name.indexOf('.'); at >= 0; at = name.indexOf('.', at + 1)) {
    const wild = queues.get(`*.${name.slice(at + 1)}`);
    if (wild) return wild;
  }
  return undefined;
}

const child = (node: Node | undefined, name: unknown): Node | undefined =>
  node && typeof name === 'string' ? node.children.get(name) : undefined;

const present = (value: unknown): unknown => (value === '' || value === null ? undefined : value);

interface Resolved {
  readonly params: Table;
  readonly routingDomain: string | undefined;
  readonly used: Node[];
}

// The merged queue config params for a queue, its routing domain, and the entries used.
function resolve(
  data: QueueData,
  domain: unknown,
  tenantIn: unknown,
  campaignIn: unknown,
): Resolved {
  const tenant = present(tenantIn);
  const campaign = present(campaignIn);
  const fallback = data.queues.get('default');
  let domainNode = byDomain(data.queues, domain);
  if (domainNode === fallback) domainNode = undefined;
  const defaultT = child(fallback, tenant);
  const domainT = child(domainNode, tenant);
  const layers = [
    fallback,
    domainNode,
    typeof tenant === 'string' ? data.tenants.get(tenant) : undefined,
    defaultT,
    domainT,
    child(defaultT, campaign),
    child(domainT, campaign),
  ];
  const params: Table = {};
  let routingDomain: string | undefined;
  const used: Node[] = [];
  for (const node of layers) {
    if (!node) continue;
    used.push(node);
    for (const [key, value] of Object.entries(node.params)) put(params, key, value);
    if (node.routingDomain !== undefined) routingDomain = node.routingDomain;
  }
  return { params, routingDomain, used };
}

function makeConfig({ params, used }: Resolved): Table {
  // Only a refused key that won the merge stops this queue.
  const refused: Problem[] = [];
  for (const node of used) {
    for (const [key, why] of Object.entries(node.bad)) {
      if (params[key] === node.params[key]) {
        refused.push({ file: node.origin[key]!, path: keyPath(node.path, key), text: why });
      }
    }
  }
  raise(WHAT, refused);
  try {
    return make('makeQueueConfig', params);
  } catch (error) {
    const names = used.map((node) => node.path).join(', ');
    throw new Error(`${WHAT}: merged from ${names}: ${reason(error)}`);
  }
}

// Queues other helpers own by name: the log_hooks helper's `<name>.log_hook` queues, unless
// the data names such a queue itself.
const FOREIGN_SUFFIXES = ['.log_hook'];

function handles(data: QueueData, domain: unknown): boolean {
  if (typeof domain !== 'string') return true;
  const name = domain.toLowerCase();
  for (const suffix of FOREIGN_SUFFIXES) {
    if (name.endsWith(suffix)) return data.queues.has(name);
  }
  return true;
}

/**
 * A scheduled queue name's domain, tenant and campaign:
 * `campaign:tenant@domain!routing_domain`; a name without `@` is all domain.
 */
function queueParts(name: string): { domain: string; tenant?: string; campaign?: string } {
  const at = name.indexOf('@');
  const prefix = at < 0 ? undefined : name.slice(0, at);
  const rest = at < 0 ? name : name.slice(at + 1);
  let tenant: string | undefined;
  let campaign: string | undefined;
  if (prefix !== undefined) {
    const colon = prefix.indexOf(':');
    if (colon < 0) tenant = prefix;
    else {
      campaign = prefix.slice(0, colon);
      tenant = prefix.slice(colon + 1);
    }
  }
  const bang = rest.indexOf('!');
  return {
    domain: bang < 0 ? rest : rest.slice(0, bang),
    ...(tenant ? { tenant } : {}),
    ...(campaign ? { campaign } : {}),
  };
}

/** A combined-rate throttle a queue's messages are subject to. */
interface OverallThrottle {
  readonly name: string;
  readonly spec: string;
}

// The overall_max_message_rate throttles a message of queue `name` is subject to, in the order
// they are checked. Throws (in the helper's words) when an entry that applies holds a refused
// value.
function overallThrottles(data: QueueData, name: string): OverallThrottle[] {
  const { domain, tenant, campaign } = queueParts(name);
  if (!handles(data, domain)) return [];
  const list: OverallThrottle[] = [];
  const problems = new Problems();
  const add = (node: Node | undefined, throttleName: string) => {
    if (node?.params[OVERALL] === undefined) return;
    const bad = node.bad[OVERALL];
    if (bad !== undefined) problems.add(node.origin[OVERALL]!, keyPath(node.path, OVERALL), bad);
    else
      list.push({
        name: `queue-helper-overall-${throttleName}`,
        spec: String(node.params[OVERALL]),
      });
  };
  const t = tenant === undefined ? undefined : data.tenants.get(tenant);
  if (t) {
    add(t, `tenant-${tenant}`);
    const c = campaign === undefined ? undefined : t.campaigns?.get(campaign);
    if (c) {
      for (const [key, why] of Object.entries(c.bad)) {
        if (key !== OVERALL) problems.add(c.origin[key]!, keyPath(c.path, key), why);
      }
      add(c, `campaign-${campaign}:${tenant}`);
    }
  }
  const d = byDomain(data.queues, domain);
  if (d !== undefined && d !== data.queues.get('default')) {
    add(d, `domain-${d.name}`);
    const dt = child(d, tenant);
    add(dt, `domain-tenant-${tenant}@${d.name}`);
    add(child(dt, campaign), `domain-campaign-${campaign}:${tenant}@${d.name}`);
  }
  raise(WHAT, problems.list);
  return list;
}

function headerValue(msg: Message, name: string, remove: boolean | undefined): string | undefined {
  const value = msg.getFirstNamedHeaderValue(name);
  if (remove) msg.removeAllNamedHeaders(name);
  const trimmed = value?.trim();
  return trimmed === '' ? undefined : trimmed;
}

/**
 * `msg:import_scheduling_header(name, remove)`: the header's JSON as the scheduling. The
 * message's own method when it has one, else the same steps through the message API.
 */
function importSchedulingHeader(msg: Message, name: string, remove: boolean): void {
  const own = (msg as { importSchedulingHeader?: (name: string, remove?: boolean) => unknown })
    .importSchedulingHeader;
  if (typeof own === 'function') {
    own.call(msg, name, remove);
    return;
  }
  const text = msg.getFirstNamedHeaderValue(name);
  if (text === undefined) return;
  let params: SchedulingParams;
  try {
    params = JSON.parse(text) as SchedulingParams;
  } catch (error) {
    throw new Error(`import_scheduling_header: ${name} is not JSON: ${reason(error)}`);
  }
  if (remove) msg.removeAllNamedHeaders(name);
  msg.setScheduling(params);
}

// Cross-checks for validate_config: tenants named but not defined, pools not defined by the
// sources helper (when it is set up).
function crossCheck(data: QueueData, problems: Problems): void {
  const hasTenants = data.tenants.size > 0;
  const defaultTenant = data.options.default_tenant;
  if (defaultTenant !== undefined && !data.tenants.has(defaultTenant)) {
    problems.add(
      data.optionOrigin.default_tenant!,
      'default_tenant',
      `tenant '${defaultTenant}' is not defined (no [tenant.'${defaultTenant}'])`,
    );
  }
  const pools = definedPools();
  const checkPool = (node: Node) => {
    const pool = node.params.egress_pool;
    if (pools && typeof pool === 'string' && !pools.has(pool)) {
      problems.add(
        node.origin.egress_pool!,
        keyPath(node.path, 'egress_pool'),
        `egress pool '${pool}' is not defined by the sources helper`,
      );
    }
  };
  for (const node of data.tenants.values()) checkPool(node);
  for (const node of data.queues.values()) {
    checkPool(node);
    for (const [tenant, t] of node.children) {
      if (hasTenants && !data.tenants.has(tenant)) {
        problems.add(
          t.file!,
          t.path,
          `tenant '${tenant}' is not defined (no [tenant.'${tenant}'])`,
        );
      }
      checkPool(t);
      for (const c of t.children.values()) checkPool(c);
    }
  }
}

/** What {@link setup} returns. */
export interface QueueHelper {
  /**
   * Sets the message's tenant, campaign, scheduling and routing domain as the data says (the
   * Lua helper's `queue_helper:apply(msg)`), for `smtp_server_message_received` and
   * `http_message_generated`. An unknown tenant, or a tenant whose `require_authz` does not
   * list the client's `authz_id`, rejects the message with a 500.
   */
  apply(msg: Message): void;
  /** The `get_queue_config` handler it registered: the merged queue config, or `undefined`
   * for a queue another helper owns. */
  getQueueConfig(
    domain: string,
    tenant?: string,
    campaign?: string,
    routingDomain?: string,
  ): Table | undefined;
}

/**
 * Reads `files` (kept for 5 minutes), registers `get_queue_config`, `validate_config` and,
 * when the data sets any `overall_max_message_rate`, `throttle_insert_ready_queue`; returns
 * the helper whose `apply(msg)` sets tenant, campaign, scheduling and routing domain.
 *
 * @throws TypeError when `files` is not a list of file names or objects.
 */
export function setup(files: string | readonly DataFile[]): QueueHelper {
  const list = fileList(files, 'queue');
  const data = dataSource(WHAT, list, compile, { check: crossCheck });

  const getQueueConfig: QueueHelper['getQueueConfig'] = (domain, tenant, campaign) => {
    const current = data();
    if (!handles(current, domain)) return undefined;
    return makeConfig(resolve(current, domain, tenant, campaign));
  };
  on('get_queue_config', getQueueConfig);

  // Without a rate to enforce, the daemon need not call the policy for every message that
  // moves to a ready queue. Data that does not load registers nothing (validate_config and
  // get_queue_config report it).
  let loaded: QueueData | undefined;
  try {
    loaded = data();
  } catch {
    loaded = undefined;
  }
  if (loaded?.hasOverall) {
    // Returns nothing, so the handlers registered after this one are called too.
    on('throttle_insert_ready_queue', async (msg: Message) => {
      const current = data();
      if (!current.hasOverall) return undefined;
      for (const throttle of overallThrottles(current, msg.queueName())) {
        // Held by one: the others are not counted for a message that does not move now.
        if (await delayIfThrottled(throttle.name, throttle.spec, msg)) return undefined;
      }
      return undefined;
    });
  }

  return {
    getQueueConfig,
    apply(msg) {
      const current = data();
      const o = current.options;
      if (o.scheduling_header !== undefined) {
        importSchedulingHeader(msg, o.scheduling_header, o.remove_scheduling_header !== false);
      }
      let tenant: string | undefined;
      let fromHeader = false;
      if (o.tenant_header !== undefined) {
        tenant = headerValue(msg, o.tenant_header, o.remove_tenant_header);
        fromHeader = tenant !== undefined;
      }
      if (tenant === undefined && msg.getMeta('tenant') == null) tenant = o.default_tenant;
      if (tenant !== undefined) {
        const entry = current.tenants.get(tenant);
        if (entry === undefined) reject(500, `tenant ${tenant} is not configured`);
        if (fromHeader && entry.requireAuthz) {
          const authz = msg.getMeta('authz_id');
          if (!entry.requireAuthz.some((who) => who === authz)) {
            const who = authz == null ? 'an unauthenticated client' : `'${String(authz)}'`;
            reject(500, `${who} is not authorized to use tenant ${tenant}`);
          }
        }
        msg.setMeta('tenant', tenant);
      }
      if (o.campaign_header !== undefined) {
        const campaign = headerValue(msg, o.campaign_header, o.remove_campaign_header);
        if (campaign !== undefined) msg.setMeta('campaign', campaign);
      }
      const domain = msg.recipient()?.domain;
      const { routingDomain } = resolve(
        current,
        domain,
        msg.getMeta('tenant'),
        msg.getMeta('campaign'),
      );
      if (routingDomain !== undefined) msg.setMeta('routing_domain', routingDomain);
    },
  };
}
