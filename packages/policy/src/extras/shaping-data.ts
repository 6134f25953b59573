/**
 * Reading and checking shaping files (KumoMTA's traffic shaping format, as Sterna's Lua helper
 * packages/lua/src/policy-extras/shaping.lua reads it): `["default"]`, `["<domain>"]` (with
 * `mx_rollup`), `[provider."<name>"]` (with `match` and the `provider_*` limits), each with
 * `sources."<source>"` blocks, `replace_base` and `automation` rules. Every per-path key is
 * checked as `makeEgressPath` checks it; a problem names the file and the key.
 * @module
 */
import { translateRegex } from '@sterna/lua';
import type { DataFile } from './data-files.js';
import { loadAll } from './data-files.js';
import { checkKey, make } from './make.js';
import {
  copy,
  entryPath,
  isTable,
  keyPath,
  knownKeys,
  type Problem,
  Problems,
  put,
  reason,
  sortedEntries,
  type Table,
} from './support.js';

/** A provider's own keys, each checked as the egress path key it becomes. */
export const PROVIDER_KEYS: Readonly<Record<string, string>> = {
  provider_connection_limit: 'connection_limit',
  provider_max_message_rate: 'max_message_rate',
  provider_source_selection_rate: 'source_selection_rate',
};

const ACTIONS = new Set([
  'Suspend',
  'SuspendTenant',
  'SuspendCampaign',
  'Bounce',
  'BounceTenant',
  'BounceCampaign',
]);
const RULE_KEYS = new Set(['regex', 'action', 'trigger', 'duration', 'match_internal']);
const MATCH_KINDS = new Set(['MXSuffix', 'DomainSuffix', 'HostName']);

/** One match rule of a provider, its text lower-cased. */
export type MatchRule = { MXSuffix?: string; DomainSuffix?: string; HostName?: string };

/** An automation rule as written (checked; `trigger` and `match_internal` defaulted). */
export interface AutomationRule {
  regex: unknown;
  action: unknown;
  trigger: unknown;
  duration: unknown;
  match_internal: boolean;
}

/** A `sources."<name>"` block of a section. */
export interface SourceBlock {
  readonly params: Table;
  readonly replace_base: boolean;
  readonly provider_source_selection_rate?: unknown;
}

/** One section of one file. */
export interface ShapingEntry {
  readonly kind: 'default' | 'domain' | 'provider';
  /** The domain (lower case) or the provider's name. */
  readonly name: string;
  readonly file: string;
  readonly params: Table;
  readonly sources: Map<string, SourceBlock>;
  readonly automation: AutomationRule[];
  replace_base: boolean;
  mx_rollup?: boolean;
  match?: MatchRule[];
  provider_connection_limit?: unknown;
  provider_max_message_rate?: unknown;
  provider_source_selection_rate?: unknown;
}

/** Every file's sections in order, and each domain's `mx_rollup` (the last one written). */
export interface ShapingData {
  readonly entries: readonly ShapingEntry[];
  readonly rollup: ReadonlyMap<string, boolean>;
}

// Every per-path key goes through makeEgressPath, whose error names the bad key.
function checkPath(params: Table, file: string, section: string, problems: Problems): void {
  try {
    make('makeEgressPath', copy(params));
  } catch (error) {
    problems.add(file, section, reason(error));
  }
}

// A provider key checked as the path key it stands for; the problem names the key as written.
function checkProviderKey(
  name: string,
  value: unknown,
  file: string,
  section: string,
  problems: Problems,
): void {
  const as = PROVIDER_KEYS[name]!;
  try {
    make('makeEgressPath', { [as]: value });
  } catch (error) {
    problems.add(
      file,
      keyPath(section, name),
      reason(error).replace(new RegExp(`^${as}:\\s*`), ''),
    );
  }
}

function checkDuration(value: unknown, file: string, section: string, problems: Problems): void {
  const why = checkKey('makeQueueConfig', 'retry_interval', value);
  if (why !== undefined) {
    const bare = why.replace(/^retry_interval:\s*/, '').replace(/^duration:\s*/, '');
    problems.add(file, section, `invalid duration ${JSON.stringify(String(value))} (${bare})`);
  }
}

function checkRule(
  rule: unknown,
  file: string,
  section: string,
  problems: Problems,
): AutomationRule | undefined {
  if (!isTable(rule)) {
    problems.add(file, section, 'expected an automation rule table');
    return undefined;
  }
  knownKeys(problems, file, section, rule, RULE_KEYS);
  if (typeof rule.regex !== 'string') {
    problems.add(file, keyPath(section, 'regex'), 'required string is missing');
  } else {
    // Rust regex syntax, as the daemon will match it.
    try {
      const { source, flags } = translateRegex(rule.regex);
      new RegExp(source, flags);
    } catch (error) {
      const why = reason(error).replace(/^Invalid regular expression: /, '');
      problems.add(
        file,
        keyPath(section, 'regex'),
        `invalid regex ${JSON.stringify(rule.regex)}: '${rule.regex}': ${why}`,
      );
    }
  }
  const action = rule.action;
  if (typeof action === 'string') {
    if (!ACTIONS.has(action))
      problems.add(file, keyPath(section, 'action'), `unknown action ${JSON.stringify(action)}`);
  } else if (isTable(action)) {
    const kinds = Object.keys(action);
    const kind = kinds[0];
    const body = kind === undefined ? undefined : action[kind];
    if (kinds.length !== 1 || (kind !== 'SetConfig' && kind !== 'SetDomainConfig')) {
      problems.add(
        file,
        keyPath(section, 'action'),
        'expected one of SetConfig or SetDomainConfig',
      );
    } else if (!isTable(body) || typeof body.name !== 'string' || body.value === undefined) {
      problems.add(file, keyPath(section, 'action', kind), 'expected {name=..., value=...}');
    } else {
      knownKeys(problems, file, keyPath(section, 'action', kind), body, new Set(['name', 'value']));
      checkPath({ [body.name]: body.value }, file, keyPath(section, 'action', kind), problems);
    }
  } else {
    problems.add(file, keyPath(section, 'action'), 'required action is missing');
  }
  const trigger = rule.trigger;
  if (trigger !== undefined && trigger !== 'Immediate') {
    if (!isTable(trigger) || typeof trigger.Threshold !== 'string') {
      problems.add(
        file,
        keyPath(section, 'trigger'),
        "expected 'Immediate' or {Threshold='10/hr'}",
      );
    } else {
      knownKeys(problems, file, keyPath(section, 'trigger'), trigger, new Set(['Threshold']));
      try {
        make('makeEgressPath', { max_message_rate: trigger.Threshold });
      } catch (error) {
        problems.add(file, keyPath(section, 'trigger', 'Threshold'), reason(error));
      }
    }
  }
  if (rule.duration === undefined) {
    problems.add(file, keyPath(section, 'duration'), 'required duration is missing');
  } else {
    checkDuration(rule.duration, file, keyPath(section, 'duration'), problems);
  }
  if (rule.match_internal !== undefined && typeof rule.match_internal !== 'boolean') {
    problems.add(file, keyPath(section, 'match_internal'), 'expected a boolean');
  }
  return {
    regex: rule.regex,
    action,
    trigger: trigger ?? 'Immediate',
    duration: rule.duration,
    match_internal: rule.match_internal === true,
  };
}

function checkMatch(
  list: unknown,
  file: string,
  section: string,
  problems: Problems,
): MatchRule[] | undefined {
  if (!Array.isArray(list) || list.length === 0) {
    problems.add(
      file,
      section,
      'expected a list of {MXSuffix=...}, {DomainSuffix=...} or {HostName=...}',
    );
    return undefined;
  }
  const out: MatchRule[] = [];
  list.forEach((m, i) => {
    const kinds = isTable(m) ? Object.keys(m) : [];
    const kind = kinds[0];
    const value = kind === undefined ? undefined : (m as Table)[kind];
    if (kinds.length !== 1 || !MATCH_KINDS.has(kind!) || typeof value !== 'string') {
      problems.add(
        file,
        `${section}[${i + 1}]`,
        'expected one of {MXSuffix="..."}, {DomainSuffix="..."} or {HostName="..."}',
      );
    } else out.push({ [kind!]: value.toLowerCase() });
  });
  return out;
}

function parseSources(
  kind: ShapingEntry['kind'],
  value: unknown,
  file: string,
  section: string,
  problems: Problems,
  entry: ShapingEntry,
): void {
  if (!isTable(value)) {
    problems.add(file, keyPath(section, 'sources'), 'expected a table of egress source names');
    return;
  }
  for (const [source, block] of sortedEntries(value)) {
    const at = entryPath(keyPath(section, 'sources'), source);
    if (!isTable(block)) {
      problems.add(file, at, 'expected a table');
      continue;
    }
    const params = copy(block);
    const replace = params.replace_base;
    delete params.replace_base;
    if (replace !== undefined && typeof replace !== 'boolean') {
      problems.add(file, keyPath(at, 'replace_base'), 'expected a boolean');
    }
    // A provider's source block may cap that source across the provider's sites.
    let selection: unknown;
    if (kind === 'provider' && params.provider_source_selection_rate !== undefined) {
      selection = params.provider_source_selection_rate;
      delete params.provider_source_selection_rate;
      checkProviderKey('provider_source_selection_rate', selection, file, at, problems);
    }
    checkPath(params, file, at, problems);
    entry.sources.set(source, {
      params,
      replace_base: replace === true,
      ...(selection !== undefined ? { provider_source_selection_rate: selection } : {}),
    });
  }
}

// One section of a file (`["gmail.com"]`, `["default"]`, `[provider."google"]`) as an entry.
function parseBlock(
  kind: ShapingEntry['kind'],
  name: string,
  block: unknown,
  file: string,
  problems: Problems,
  entries: ShapingEntry[],
): void {
  const section = kind === 'provider' ? entryPath('provider', name) : entryPath(undefined, name);
  if (!isTable(block)) {
    problems.add(file, section, 'expected a table');
    return;
  }
  const entry: ShapingEntry = {
    kind,
    name: kind === 'provider' ? name : name.toLowerCase(),
    file,
    params: {},
    sources: new Map(),
    automation: [],
    replace_base: false,
  };
  for (const [k, v] of sortedEntries(block)) {
    if (k === 'replace_base') {
      if (typeof v !== 'boolean') problems.add(file, keyPath(section, k), 'expected a boolean');
      entry.replace_base = v === true;
    } else if (k === 'mx_rollup' && kind === 'domain') {
      if (typeof v !== 'boolean') problems.add(file, keyPath(section, k), 'expected a boolean');
      entry.mx_rollup = v === true;
    } else if (k === 'sources') {
      parseSources(kind, v, file, section, problems, entry);
    } else if (k === 'automation') {
      if (!Array.isArray(v)) {
        // An empty table is an empty list, as in Lua.
        if (!isTable(v))
          problems.add(file, keyPath(section, k), 'expected a list of automation rules');
      } else {
        v.forEach((rule, i) => {
          const checked = checkRule(rule, file, `${keyPath(section, k)}[${i + 1}]`, problems);
          if (checked) entry.automation.push(checked);
        });
      }
    } else if (k === 'match' && kind === 'provider') {
      const match = checkMatch(v, file, keyPath(section, k), problems);
      if (match) entry.match = match;
    } else if (kind === 'provider' && Object.hasOwn(PROVIDER_KEYS, k)) {
      checkProviderKey(k, v, file, section, problems);
      (entry as unknown as Table)[k] = v;
    } else {
      put(entry.params, k, v);
    }
  }
  if (kind === 'provider' && block.match === undefined) {
    problems.add(file, keyPath(section, 'match'), 'a provider block needs a match list');
  }
  checkPath(entry.params, file, section, problems);
  entries.push(entry);
}

function parseFile(data: Table, file: string, problems: Problems, entries: ShapingEntry[]): void {
  for (const [name, block] of sortedEntries(data)) {
    if (name === 'provider') {
      if (!isTable(block)) {
        problems.add(file, 'provider', 'expected a table of provider blocks');
      } else {
        for (const [provider, pblock] of sortedEntries(block)) {
          parseBlock('provider', provider, pblock, file, problems, entries);
        }
      }
    } else {
      parseBlock(name === 'default' ? 'default' : 'domain', name, block, file, problems, entries);
    }
  }
}

/** Loads and checks every file: the compiled data and every problem found. */
export function loadShaping(files: readonly DataFile[]): { data: ShapingData; fatal: Problem[] } {
  const problems = new Problems();
  const entries: ShapingEntry[] = [];
  for (const { label, data } of loadAll(files, problems)) parseFile(data, label, problems, entries);
  const rollup = new Map<string, boolean>();
  for (const e of entries) {
    if (e.kind === 'domain' && e.mx_rollup !== undefined) rollup.set(e.name, e.mx_rollup);
  }
  return { data: { entries, rollup }, fatal: problems.list };
}

/** An automation rule as handed to the daemon (configure kind `shaping_automation`). */
export type DaemonRule = AutomationRule & {
  scope: ShapingEntry['kind'];
  name: string;
  file: string;
  mx_rollup?: boolean;
  match?: MatchRule[];
};

/** The automation rules of the loaded data, in file and section order. */
export function automationRules(data: ShapingData): DaemonRule[] {
  const rules: DaemonRule[] = [];
  for (const e of data.entries) {
    for (const rule of e.automation) {
      const r: DaemonRule = { ...rule, scope: e.kind, name: e.name, file: e.file };
      if (e.kind === 'domain') r.mx_rollup = data.rollup.get(e.name) !== false;
      if (e.kind === 'provider' && e.match) r.match = e.match;
      rules.push(r);
    }
  }
  return rules;
}
