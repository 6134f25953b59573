import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  errorLines,
  fixture,
  luaPolicy,
  outcome,
  tsBridge,
} from '../../test/fixtures/extras/harness.js';
import { sources } from './index.js';

const FILES = [fixture('sources.toml'), fixture('sources-extra.json')];
const BAD = [fixture('bad-sources.toml')];
const luaList = (files: string[]) => files.map((f) => `'${f}'`).join(', ');

describe('sources: the TypeScript helper answers as the Lua helper does', () => {
  let lua: Awaited<ReturnType<typeof luaPolicy>>;
  let bad: Awaited<ReturnType<typeof luaPolicy>>;
  beforeAll(async () => {
    lua = await luaPolicy(`require('policy-extras.sources'):setup { ${luaList(FILES)} }`);
    bad = await luaPolicy(`require('policy-extras.sources'):setup { ${luaList(BAD)} }`);
  });
  afterAll(async () => {
    await lua?.close();
    await bad?.close();
  });

  it('get_egress_source and get_egress_pool: the same tables, files merged in order', async () => {
    const ts = tsBridge();
    sources.setup(FILES);
    for (const [event, name] of [
      ['get_egress_source', 'ip-1'],
      ['get_egress_source', 'ip-2'],
      ['get_egress_pool', 'pool-1'],
      ['get_egress_pool', 'pool-2'],
    ] as const) {
      expect(await ts.call(event, name), `${event} ${name}`).toEqual(await lua.call(event, name));
    }
    expect(await ts.call('get_egress_source', 'ip-1')).toEqual({
      name: 'ip-1',
      source_address: '10.0.0.1',
      ehlo_domain: 'mta1-override.example.com',
    });
    expect(await ts.call('get_egress_pool', 'pool-2')).toEqual({
      name: 'pool-2',
      entries: [
        { name: 'ip-1', weight: 0 },
        { name: 'ip-2', weight: 1 },
      ],
    });
  });

  it('a name the data does not define: the same error', async () => {
    const ts = tsBridge();
    sources.setup(FILES);
    for (const [event, name] of [
      ['get_egress_source', 'ip-9'],
      ['get_egress_pool', 'pool-9'],
    ] as const) {
      const fromTs = await outcome(() => ts.call(event, name));
      const fromLua = await outcome(() => lua.call(event, name));
      expect(fromTs.error).toMatch(/^sources helper: no (source|pool) named '(ip|pool)-9'/);
      expect(fromLua.error).toContain(fromTs.error);
    }
  });

  it('bad files: validate_config logs the same lines; a call meets the mistake it needs', async () => {
    const ts = tsBridge();
    sources.setup(BAD);
    await bad.call('validate_config');
    await ts.call('validate_config');
    expect(errorLines(ts.logged)).toEqual(errorLines(bad.logged));
    expect(errorLines(ts.logged)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^sources helper: .*bad-sources\.toml: source\.'ip-1'\.source_adress: .*unknown field/,
        ),
        `sources helper: ${BAD[0]}: pool.'pool-1'.'ip-1'.wieght: unknown key (expected weight)`,
        `sources helper: ${BAD[0]}: pool.'pool-2'.'ip-9': source 'ip-9' is not defined (no [source.'ip-9'])`,
      ]),
    );
    expect(ts.configured.map(([kind]) => kind)).toContain('validation_failed');
    // The top-level problem (the pool key typo) stops every use, in both.
    const fromTs = await outcome(() => ts.call('get_egress_pool', 'pool-1'));
    const fromLua = await outcome(() => bad.call('get_egress_pool', 'pool-1'));
    expect(fromTs.error).toContain("pool.'pool-1'.'ip-1'.wieght: unknown key");
    expect(fromLua.error).toContain(fromTs.error);
  });

  it('setup refuses what is not a list of files, naming the item', () => {
    tsBridge();
    // @ts-expect-error: a number is not a data file
    expect(() => sources.setup([fixture('sources.toml'), 3])).toThrow(
      'sources.setup: data file 2 is a number, not a file name or an object',
    );
  });

  it('definedPools and definedSources name what the last setup defines', () => {
    tsBridge();
    sources.setup(FILES);
    expect(sources.definedPools()).toEqual(new Set(['pool-1', 'pool-2']));
    expect(sources.definedSources()).toEqual(new Set(['ip-1', 'ip-2']));
  });

  it('YAML data files read alike; a file that does not parse is named with its line', async () => {
    const yaml = [fixture('sources.yaml')];
    const lua = await luaPolicy(`require('policy-extras.sources'):setup { ${luaList(yaml)} }`);
    try {
      const ts = tsBridge();
      sources.setup(yaml);
      for (const [event, name] of [
        ['get_egress_source', 'ip-3'],
        ['get_egress_pool', 'pool-3'],
      ] as const) {
        expect(await ts.call(event, name)).toEqual(await lua.call(event, name));
      }
      expect(await ts.call('get_egress_source', 'ip-3')).toMatchObject({
        source_address: '10.0.0.3',
      });
    } finally {
      await lua.close();
    }
    const ts = tsBridge();
    sources.setup([fixture('broken.toml')]);
    const failed = await outcome(() => ts.call('get_egress_source', 'ip-1'));
    expect(failed.error).toMatch(/^sources helper: .*broken\.toml: line 1, column \d+: /);
  });
});
