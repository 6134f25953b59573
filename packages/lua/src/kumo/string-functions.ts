import { createRequire } from 'node:module';
import { errorText } from '@sterna/core';
import type { Environment } from 'minijinja-js';
import type { ContextImplementations } from '../host/host-calls.js';
import { fromLua } from '../shared/json-text.js';

// MiniJinja instructions one kumo.string.eval_template may run: a runaway loop stops after a
// second or two instead of holding the context to its deadline (templates in policies are small).
const TEMPLATE_FUEL = 10_000_000;

const require = createRequire(import.meta.url);
let environment: Environment | undefined;

/** The worker's MiniJinja environment (minijinja-js, loaded on first use, Python methods on). */
function engine(): Environment {
  if (!environment) {
    const { Environment } = require('minijinja-js') as typeof import('minijinja-js');
    environment = new Environment();
    environment.enablePyCompat();
    environment.debug = false;
    environment.fuel = TEMPLATE_FUEL;
  }
  return environment;
}

// The whole Public Suffix List, private section included, as the Rust psl crate KumoMTA uses.
const PSL = { allowPrivateDomains: true } as const;
let tldts: typeof import('tldts') | undefined;

/** tldts, loaded on first use: its list costs each worker ~12 MB that most policies never use. */
function parseDomain(text: string) {
  tldts ??= require('tldts') as typeof import('tldts');
  return tldts.parse(text, PSL);
}

/**
 * The host functions behind kumo/string.lua's `eval_template` and `psl_*`: MiniJinja through
 * minijinja-js (the engine `apps/mta` renders inject templates with), the Public Suffix List
 * through tldts.
 */
export function stringFunctions() {
  return {
    eval_template: (name: string, source: string, context: unknown) => {
      try {
        return engine().renderNamedStr(String(name), String(source), fromLua(context ?? {}));
      } catch (error) {
        // A trap (out of memory, a panic) leaves the instance unusable: start afresh next time.
        if ((error as { name?: unknown } | null)?.name === 'RuntimeError') environment = undefined;
        throw `kumo.string.eval_template ${name}: ${errorText(error).split('\n')[0]}`;
      }
    },
    psl: (what: 'domain' | 'suffix' | 'domain_known' | 'suffix_known', text: string) => {
      const parsed = parseDomain(String(text));
      const known = parsed.isIcann === true || parsed.isPrivate === true;
      switch (what) {
        case 'domain':
          return parsed.domain ?? undefined;
        case 'suffix':
          return parsed.publicSuffix ?? undefined;
        case 'domain_known':
          return parsed.domain !== null && known;
        case 'suffix_known':
          return parsed.publicSuffix !== null && known;
      }
    },
  } satisfies Partial<ContextImplementations>;
}
