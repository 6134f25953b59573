import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PolicyRuntime } from '../src/index.js';
import { ESM_PRELUDE, FALLBACK, failure, startPolicy, tempPolicyDir } from './js-support.js';

// Registering without importing @sterna/lua: the bridge is found on globalThis by its symbol.
const BARE_ON = `const on = (event, fn) => {
  const g = globalThis;
  const key = Symbol.for('sterna.policy.bridge');
  g[key] ??= { handlers: new Map(), host: undefined, depth: 0 };
  g[key].handlers.set(event, [...(g[key].handlers.get(event) ?? []), fn]);
};
`;

async function loadFailure(name: string, source: string, options = {}) {
  const dir = tempPolicyDir({ [name]: source });
  const error = await failure(
    PolicyRuntime.start({
      policy: join(dir, name),
      poolSize: 1,
      spare: false,
      importFallback: FALLBACK,
      ...options,
    }),
  );
  return { error, path: join(dir, name) };
}

describe('loading a TypeScript or JavaScript policy', () => {
  it('an ES module (.mts) in a folder without node_modules imports @sterna/core through the fallback', async () => {
    const { runtime } = await startPolicy(
      'policy.mts',
      `${BARE_ON}import { domainOf } from '@sterna/core';
// CommonJS has a __filename of the file (a worker run from sources has a global one too).
const kind: string = typeof __filename === 'string' && __filename.includes('policy.') ? 'cjs' : 'esm';
on('which', (address: string) => [domainOf(address), kind]);`,
    );
    try {
      expect((await runtime.call('which', ['a@b.example'])).value).toEqual(['b.example', 'esm']);
    } finally {
      await runtime.close();
    }
  });

  it('a .ts file tsx compiles to CommonJS requires @sterna/core through the fallback', async () => {
    const { runtime } = await startPolicy(
      'policy.ts',
      `${BARE_ON}import { domainOf } from '@sterna/core';
// CommonJS has a __filename of the file (a worker run from sources has a global one too).
const kind: string = typeof __filename === 'string' && __filename.includes('policy.') ? 'cjs' : 'esm';
on('which', (address: string) => [domainOf(address), kind]);`,
    );
    try {
      // The file ran as CommonJS, where ESM resolve hooks do not apply.
      expect((await runtime.call('which', ['a@c.example'])).value).toEqual(['c.example', 'cjs']);
    } finally {
      await runtime.close();
    }
  });

  it('a plain .cjs file requires @sterna/core through the fallback', async () => {
    const { runtime } = await startPolicy(
      'policy.cjs',
      `${BARE_ON}const { domainOf } = require('@sterna/core');
on('which', (address) => domainOf(address));`,
    );
    try {
      expect((await runtime.call('which', ['a@d.example'])).value).toBe('d.example');
    } finally {
      await runtime.close();
    }
  });

  it('without the fallback, the same import fails naming the package', async () => {
    const { error } = await loadFailure('policy.mjs', `import { domainOf } from '@sterna/core';`, {
      importFallback: undefined,
    });
    expect(error.code).toBe('STERNA_LUA_LOAD');
    expect(error.message).toContain('@sterna/core');
  });

  it('a TypeScript syntax error names the file and line', async () => {
    const { error, path } = await loadFailure('policy.ts', `const a: number = 1;\nlet x = ;\n`);
    expect(error.code).toBe('STERNA_LUA_LOAD');
    expect(error.message).toContain(`${path}:2: `);
  });

  it('a JavaScript syntax error names the file and line (ES module and CommonJS)', async () => {
    for (const name of ['policy.mjs', 'policy.cjs']) {
      const { error, path } = await loadFailure(name, `const a = 1;\n\nlet x = ;\n`);
      expect(error.code).toBe('STERNA_LUA_LOAD');
      expect(error.message).toContain(`${path}:3: `);
    }
  });

  it('a throw at the top level names the file and line', async () => {
    const { error, path } = await loadFailure(
      'policy.mts',
      `const a: number = 1;\nif (a === 1) throw new Error('top boom');\n`,
    );
    expect(error.code).toBe('STERNA_LUA_LOAD');
    expect(error.message).toContain(`${path}:2: top boom`);
  });

  it('a missing module is named', async () => {
    const { error } = await loadFailure(
      'policy.mts',
      `import { x } from 'no-such-package-sterna';\nconsole.log(x);\n`,
    );
    expect(error.code).toBe('STERNA_LUA_LOAD');
    expect(error.message).toContain('no-such-package-sterna');
  });

  it('a top-level await past the load deadline fails the start', async () => {
    const { error, path } = await loadFailure('policy.mts', `await new Promise(() => {});\n`, {
      loadDeadlineMs: 300,
    });
    expect(error.code).toBe('STERNA_LUA_LOAD');
    expect(error.message).toContain(`${path}: loading did not finish within 300 ms`);
  });

  it('reload() picks up the file as it is now', async () => {
    const { runtime, path } = await startPolicy(
      'policy.mts',
      `${ESM_PRELUDE}on('version', () => 1);`,
    );
    try {
      expect((await runtime.call('version')).value).toBe(1);
      writeFileSync(path, `${ESM_PRELUDE}on('version', () => 2);\non('added', () => 'new');`);
      await runtime.reload();
      expect((await runtime.call('version')).value).toBe(2);
      expect(runtime.hasEvent('added')).toBe(true);
    } finally {
      await runtime.close();
    }
  });
});

describe('guard rails of a JavaScript worker', () => {
  it('a synchronous endless loop is stopped: the worker is replaced and the next call works', async () => {
    const { runtime } = await startPolicy(
      'policy.mjs',
      `${BARE_ON}on('spin', () => { for (;;) {} });\non('ok', () => 'ok');`,
    );
    try {
      const error = await failure(runtime.call('spin', [], { deadlineMs: 200 }));
      expect(error.code).toBe('STERNA_LUA_TIMEOUT');
      expect((await runtime.call('ok')).value).toBe('ok');
    } finally {
      await runtime.close();
    }
  });

  it('a policy that allocates without end hits the memory cap: that call fails, the next works', async () => {
    const logged: string[] = [];
    const { runtime } = await startPolicy(
      'policy.mjs',
      `${BARE_ON}on('hog', () => { const keep = []; for (;;) keep.push(new Array(1e5).fill(Math.random())); });
on('ok', () => 'ok');`,
      { memoryMaxBytes: 48 * 1024 * 1024, host: { log: (_level, text) => logged.push(text) } },
    );
    try {
      const error = await failure(runtime.call('hog', [], { deadlineMs: 60_000 }));
      expect(error.code).toBe('STERNA_LUA_CONTEXT_LOST');
      expect((await runtime.call('ok')).value).toBe('ok');
      expect(logged.join('\n')).toMatch(/context replaced/);
    } finally {
      await runtime.close();
    }
  });
});
