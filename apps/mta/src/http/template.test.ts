import { describe, expect, it } from 'vitest';
import { expectNoLeak, SANDBOX_PAYLOADS } from '../../test/http/template-payloads.js';
import {
  compileTemplate,
  compileTemplates,
  TemplateError,
  templateEnvironmentsForTests,
} from './template.js';
import { engineMemoryForTests, TEMPLATE_LIMITS } from './template-engine.js';

describe('compileTemplate', () => {
  it('renders Jinja syntax: variables, filters, conditions, loops; undefined renders empty', () => {
    const render = compileTemplate(
      '{{ name | upper }}{% if vip %}!{% endif %}{% for i in items %}[{{ i }}]{% endfor %}{{ nothing }}',
      'Jinja',
      { what: 't' },
    );
    expect(render({ name: 'ann', vip: true, items: [1, 2] })).toBe('ANN![1][2]');
    expect(render({ name: 'bob', items: [] })).toBe('BOB');
  });

  it('escapes HTML only in HTML templates', () => {
    expect(compileTemplate('{{ v }}', 'Jinja', { what: 't' })({ v: '<a&b>' })).toBe('<a&b>');
    expect(compileTemplate('{{ v }}', 'Jinja', { what: 't', html: true })({ v: '<a&b>' })).toBe(
      '&lt;a&amp;b&gt;',
    );
  });

  it('leaves the text alone in the Static dialect', () => {
    expect(compileTemplate('{{ v }} {% bogus', 'Static', { what: 't' })({ v: 1 })).toBe(
      '{{ v }} {% bogus',
    );
  });

  it('throws a TemplateError naming the field on a syntax error, at compile time', () => {
    expect(() => compileTemplate('Hi {{ name', 'Jinja', { what: 'subject' })).toThrow(
      TemplateError,
    );
    // MiniJinja names what it expected ("end of block"), not the tag (nunjucks said "endif").
    expect(() => compileTemplate('{% if x %}', 'Jinja', { what: 'text_body' })).toThrow(
      /^text_body: syntax error: unexpected end of input.*\(line 1: "\{% if x %\}"\)$/,
    );
  });

  it('throws a TemplateError when rendering fails', () => {
    const render = compileTemplate('{{ missing() }}', 'Jinja', { what: 'content' });
    expect(() => render({})).toThrow(TemplateError);
  });
});

describe('compileTemplate sandbox', () => {
  const vars = { name: 'ann', x: JSON.parse('{"__proto__": {"polluted": "data"}, "a": 1}') };

  it.each(SANDBOX_PAYLOADS)('%s renders empty or as data, or is refused', (payload) => {
    for (const html of [false, true]) {
      let text: string;
      try {
        text = compileTemplate(`<${payload}>`, 'Jinja', { what: 'content', html })(vars);
      } catch (error) {
        expect(error).toBeInstanceOf(TemplateError);
        expectNoLeak((error as Error).message);
        continue;
      }
      expectNoLeak(text);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('renders substitutions with __proto__ and constructor keys as data', () => {
    const render = compileTemplate(
      '{{ x.__proto__.polluted }}|{{ obj.constructor }}|{{ obj.prototype.p }}|{{ __proto__.q }}|{{ obj|tojson }}',
      'Jinja',
      { what: 'content' },
    );
    const obj = JSON.parse('{"constructor": "c", "prototype": {"p": 1}}');
    const top = JSON.parse('{"__proto__": {"q": "own"}}');
    expect(render({ ...top, x: vars.x, obj })).toBe(
      'data|c|1|own|{"constructor":"c","prototype":{"p":1}}',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('stops a recursion bomb with a TemplateError', () => {
    const render = compileTemplate('{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}', 'Jinja', {
      what: 'content',
    });
    expect(() => render({})).toThrow(/^content: invalid operation: recursion limit exceeded/);
  });

  it('bounds loops: range has at most 100,000 items, and fuel stops nested loops', () => {
    expect(() =>
      compileTemplate('{{ range(10**9)|length }}', 'Jinja', { what: 'content' })({}),
    ).toThrow(/range has too many elements/);
    const nested = compileTemplate(
      '{% for a in range(100000) %}{% for b in range(100000) %}.{% endfor %}{% endfor %}',
      'Jinja',
      { what: 'content' },
    );
    // Fuel runs out after about half a second; on a loaded machine the clock may stop it first.
    expect(() => nested({})).toThrow(
      /^content: (engine ran out of fuel|the template engine stopped: rendering took longer)/,
    );
  });

  it('stops a render that runs past the time limit, whatever its fuel', () => {
    // 100,000 iterations are little fuel, but each copies a string of up to megabytes.
    const render = compileTemplate(
      '{% set ns = namespace(s="") %}{% for i in range(100000) %}' +
        '{% set ns.s = ns.s ~ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" %}{% endfor %}' +
        '{{ ns.s|length }}',
      'Jinja',
      { what: 'text_body' },
    );
    expect(() => render({})).toThrow(
      /^text_body: the template engine stopped: rendering took longer than 1000 ms/,
    );
    expect(compileTemplate('{{ a }}!', 'Jinja', { what: 't' })({ a: 'fine' })).toBe('fine!');
  });

  it('refuses a template that needs more memory than allowed, and keeps working', () => {
    const render = compileTemplate('{{ "x" * n }}', 'Jinja', { what: 'subject' });
    expect(() => render({ n: 3_000_000_000 })).toThrow(
      /^subject: the template engine stopped: .*256 MiB/,
    );
    expect(compileTemplate('{{ a }}!', 'Jinja', { what: 't' })({ a: 'fine' })).toBe('fine!');
    // A template compiled before the engine restarted registers itself again.
    const before = compileTemplate('{{ a }}?', 'Jinja', { what: 't' });
    expect(() => render({ n: 3_000_000_000 })).toThrow(TemplateError);
    expect(before({ a: 'still' })).toBe('still?');
    expect(render({ n: 3 })).toBe('xxx');
    // Constant expressions are computed while compiling.
    expect(() => compileTemplate('{{ "x" * 3000000000 }}', 'Jinja', { what: 'subject' })).toThrow(
      /^subject: the template engine stopped: .*256 MiB/,
    );
  });

  it('stops compiling a template whose constant expressions take too long, and keeps working', () => {
    // MiniJinja computes constant expressions while compiling and keeps what they make: each of
    // these builds 50 MB. A slow machine meets the time limit first, a fast one the memory
    // limit; either stops the compile (which one depends on the machine, so both are accepted).
    expect(() =>
      compileTemplate('{{ ("x" * 50000000)|length }}'.repeat(20), 'Jinja', { what: 'content' }),
    ).toThrow(
      /^content: the template engine stopped: (rendering took longer than 1000 ms|the template needs more than the 256 MiB)/,
    );
    expect(compileTemplate('{{ a }}!', 'Jinja', { what: 't' })({ a: 'fine' })).toBe('fine!');
  });

  it('refuses nesting past the parser limit at compile time', () => {
    for (const source of [
      `{{ ${'('.repeat(5000)}1${')'.repeat(5000)} }}`,
      `${'{% if 1 %}'.repeat(3000)}${'{% endif %}'.repeat(3000)}`,
      `{{ x${'|upper'.repeat(20_000)} }}`,
    ]) {
      expect(() => compileTemplate(source, 'Jinja', { what: 'content' })).toThrow(TemplateError);
    }
    expect(compileTemplate('{{ a }}', 'Jinja', { what: 't' })({ a: 'ok' })).toBe('ok');
  });
});

describe('compileTemplate, as KumoMTA renders inject templates', () => {
  const render = (source: string, vars: Record<string, unknown> = {}, html = false) =>
    compileTemplate(source, 'Jinja', { what: 't', html })(vars);

  it('renders undefined names empty, but an attribute of one is an error (lenient)', () => {
    expect(render('[{{ nothing }}][{{ nothing|default("d") }}]')).toBe('[][d]');
    expect(render('{% if nothing %}y{% else %}n{% endif %}')).toBe('n');
    expect(() => render('{{ nothing.attr }}')).toThrow(/^t: undefined value \(line 1\)$/);
  });

  it('takes ASCII names only, as MiniJinja does (template-engine.ts relies on it)', () => {
    expect(() => render('{{ prénom }}')).toThrow(/^t: syntax error: unexpected character/);
  });

  it('keeps the trailing newline, reports errors on one line with the line number', () => {
    expect(render('a {{ b }}\n', { b: 1 })).toBe('a 1\n');
    expect(() => render('line one\n{{ missing() }}\n')).toThrow(
      /^t: unknown function: missing is unknown \(line 2\)$/,
    );
  });

  it('escapes HTML as MiniJinja does, and `safe` opts out', () => {
    expect(render(`{{ v }}|{{ v|safe }}`, { v: `<a href="x">'&'</a>` }, true)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;&#x2f;a&gt;|<a href="x">\'&\'</a>',
    );
  });

  it('has the filters and methods the documentation lists', () => {
    const vars = {
      name: 'ann lee',
      items: [3, 1, 2],
      price: 12.3456,
      plan: { tier: 'gold' },
      words: 'a b c',
      users: [
        { n: 'a', on: true },
        { n: 'b', on: false },
      ],
    };
    const cases: [string, string][] = [
      ['{{ name|upper }}', 'ANN LEE'],
      ['{{ name|title }}', 'Ann Lee'],
      ['{{ name|capitalize }}', 'Ann lee'],
      ['{{ "  x  "|trim }}', 'x'],
      ['{{ name|replace("ann", "bo") }}', 'bo lee'],
      ['{{ name|length }}', '7'],
      ['{{ items|join(", ") }}', '3, 1, 2'],
      ['{{ items|sort|join }}', '123'],
      ['{{ items|first }}-{{ items|last }}', '3-2'],
      ['{{ price|round(2) }}', '12.35'],
      ['{{ "42"|int + 1 }}', '43'],
      ['{{ plan|tojson }}', '{"tier":"gold"}'],
      ['{{ plan.tier }}{{ plan["tier"] }}', 'goldgold'],
      ['{{ words|split|list|length }}', '3'],
      // truncate takes keyword arguments only (minijinja-contrib, as in KumoMTA).
      ['{{ name|truncate(length=5, killwords=true, end="…", leeway=0) }}', 'ann …'],
      ['{{ name.upper() }}{{ name.startswith("ann") }}', 'ANN LEEtrue'],
      ['{% for i in items %}{{ loop.index }}{% endfor %}', '123'],
      ['{{ 1 if name else 2 }}{{ "a" ~ "b" }}', '1ab'],
      ['{{ -3|abs }}{{ 0|bool }}{{ "1.5"|float }}{{ 2|pluralize }}', '3false1.5s'],
      [
        '{{ plan|attr("tier") }}{{ plan|items|list }}{{ plan|dictsort }}',
        'gold[["tier", "gold"]][["tier", "gold"]]',
      ],
      ['{{ items|batch(2)|list }}{{ items|slice(2)|list }}', '[[3, 1], [2]][[3, 1], [2]]'],
      [
        '{{ items|chain([9])|list }}{{ items|count }}{{ items|max }}{{ items|min }}',
        '[3, 1, 2, 9]331',
      ],
      ['{{ items|reverse|list }}{{ items|unique|list }}{{ items|sum }}', '[2, 1, 3][3, 1, 2]6'],
      ['{{ items|select("odd")|list }}{{ items|reject("odd")|list }}', '[3, 1][2]'],
      [
        '{{ users|selectattr("on")|map(attribute="n")|join }}{{ users|rejectattr("on")|map(attribute="n")|join }}',
        'ab',
      ],
      [
        '{% for g in users|groupby("on") %}{{ g.grouper }}{{ g.list|length }} {% endfor %}',
        'false1 true1 ',
      ],
      [
        '{{ "<b>x</b>"|striptags }}{{ "<b>"|escape }}{{ "<b>"|e }}{{ "AbC"|lower }}',
        'x&lt;b&gt;&lt;b&gt;abc',
      ],
      [
        '{{ 123456789|filesizeformat }}|{{ "a\nb"|indent(2) }}|{{ "a\nb"|lines }}',
        '123.5 MB|a\n  b|["a", "b"]',
      ],
      ['{{ plan|pprint }}{{ items|string }}', '{\n    "tier": "gold",\n}[3, 1, 2]'],
      [
        '{{ range(3)|list }}{{ dict(a=1) }}{% set ns = namespace(c=0) %}{% set ns.c = 2 %}{{ ns.c }}',
        '[0, 1, 2]{"a": 1}2',
      ],
      ['{% set j = joiner(",") %}{{ j() }}a{{ j() }}b', 'a,b'],
      [
        '{{ plan.items()|list }}{{ plan.get("tier") }}{{ " x ".strip() }}',
        '[["tier", "gold"]]goldx',
      ],
    ];
    for (const [source, expected] of cases) expect(render(source, vars), source).toBe(expected);
  });
});

describe('compileTemplates', () => {
  const parts = [
    { source: 'Hi {{ name }}\n', what: 'text_body' },
    { source: '<p>{{ name }}</p>', what: 'html_body', html: true },
    { source: 'static subject', what: 'subject' },
    { source: '{% set name = "changed" %}{{ name }}', what: 'headers.X-A' },
    { source: '{{ name }}', what: 'from.name' },
  ];

  it('renders every part as compileTemplate would, each in its own scope', () => {
    const render = compileTemplates(parts, 'Jinja');
    const vars = { name: '<Ann>' };
    const expected = parts.map((p) => compileTemplate(p.source, 'Jinja', p)(vars));
    expect(render(vars)).toEqual(expected);
    expect(expected).toEqual([
      'Hi <Ann>\n',
      '<p>&lt;Ann&gt;</p>',
      'static subject',
      'changed',
      '<Ann>',
    ]);
  });

  it('names the part that fails, at compile time and when rendering', () => {
    expect(() =>
      compileTemplates([parts[0]!, { source: '{{ oops', what: 'subject' }], 'Jinja'),
    ).toThrow(/^subject: syntax error/);
    const render = compileTemplates(
      [parts[0]!, { source: '{{ name.first.letter }}', what: 'headers.X-B' }],
      'Jinja',
    );
    expect(() => render({ name: 'a' })).toThrow(/^headers\.X-B: undefined value \(line 1\)$/);
  });

  it('leaves everything alone in the Static dialect', () => {
    expect(compileTemplates(parts, 'Static')({ name: 'x' })).toEqual(parts.map((p) => p.source));
  });
});

describe('the engine', () => {
  it('cannot grow its WebAssembly memory past the cap', () => {
    const memory = engineMemoryForTests();
    const pages = memory.buffer.byteLength / 65_536;
    expect(() => memory.grow(TEMPLATE_LIMITS.memoryBytes / 65_536 - pages + 1)).toThrow(RangeError);
  });

  it('keeps a bounded number of templates registered, and compiles one source once', () => {
    const sources = Array.from({ length: 700 }, (_, i) => `{{ v }} #${i}`);
    const renders = sources.map((s) => compileTemplate(s, 'Jinja', { what: 't' }));
    expect(templateEnvironmentsForTests().text.registered).toBeLessThanOrEqual(500);
    // The first ones were removed from the engine; they register again when used.
    expect(renders[0]!({ v: 'a' })).toBe('a #0');
    expect(renders[699]!({ v: 'b' })).toBe('b #699');
    const again = templateEnvironmentsForTests().text.registered;
    compileTemplate(sources[699]!, 'Jinja', { what: 't' });
    expect(templateEnvironmentsForTests().text.registered).toBe(again);
  });
});
