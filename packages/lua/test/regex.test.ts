import { beforeAll, describe, expect, it } from 'vitest';
import { translateRegex } from '../src/kumo/regex-translate.js';
import { inlinePolicy } from './inline-policy.js';

// The examples of KumoMTA's kumo.regex.compile page, as a policy runs them, then the
// translation of Rust syntax case by case.
const POLICY = `
kumo.on('docs', function()
  local out = {}
  local re = kumo.regex.compile "'([^']+)'\\\\s+\\\\((\\\\d{4})\\\\)"
  local cap = re:captures "Not my favorite movie: 'Citizen Kane' (1941)."
  out.cap = { cap[0], cap[1], cap[2] }
  re = kumo.regex.compile "'(?<title>[^']+)'\\\\s+\\\\((?<year>\\\\d{4})\\\\)"
  cap = re:captures "Not my favorite movie: 'Citizen Kane' (1941)."
  out.named = { cap[0], cap.title, cap.year }
  out.is_match = kumo.regex.compile('oo'):is_match('foo')
  re = kumo.regex.compile 'o+'
  out.find = { re:find 'food', re:find 'fooood', re:find('bar') == nil }
  re = kumo.regex.compile '\\\\b\\\\w{13}\\\\b'
  out.find_all = kumo.json_encode(re:find_all 'Retroactively relinquishing remunerations is reprehensible.')
  out.replace = kumo.regex.compile('[^01]+'):replace('1078910', '')
  re = kumo.regex.compile '(?P<last>[^,\\\\s]+),\\\\s+(?P<first>\\\\S+)'
  out.swap = re:replace('Springsteen, Bruce', '$first $last')
  re = kumo.regex.compile '[ \\\\t]+'
  out.split = kumo.json_encode(re:split 'a b \\t  c\\td    e')
  return out
end)

kumo.on('call', function(pattern, method, ...)
  local re = kumo.regex.compile(pattern)
  return re[method](re, ...)
end)
kumo.on('captures', function(pattern, haystack)
  local cap = kumo.regex.compile(pattern):captures(haystack)
  if cap == nil then return 'no match' end
  local out = {}
  for k, v in pairs(cap) do out[tostring(k)] = v end
  return out
end)
kumo.on('compile', function(pattern) kumo.regex.compile(pattern) end)
kumo.on('escape', function(s)
  local escaped = kumo.regex.escape(s)
  return { escaped, kumo.regex.compile('^' .. escaped .. '$'):is_match(s) }
end)
kumo.on('required', function() return require('kumo.regex') == kumo.regex end)
`;

describe('kumo.regex', () => {
  let policy: Awaited<ReturnType<typeof inlinePolicy>>;
  beforeAll(async () => {
    policy = await inlinePolicy(POLICY);
  });
  const call = (pattern: string, method: string, ...args: unknown[]) =>
    policy.call('call', pattern, method, ...args);

  it("runs the examples of KumoMTA's documentation", async () => {
    expect(await policy.call('docs')).toEqual({
      cap: ["'Citizen Kane' (1941)", 'Citizen Kane', '1941'],
      named: ["'Citizen Kane' (1941)", 'Citizen Kane', '1941'],
      is_match: true,
      find: ['oo', 'oooo', true],
      find_all: '["Retroactively","relinquishing","remunerations","reprehensible"]',
      replace: '1010',
      swap: 'Bruce Springsteen',
      split: '["a","b","c","d","e"]',
    });
    expect(await policy.call('required')).toBe(true);
  });

  it(
    'replacement text: $N, $name, $' + '{name}, $$ and unknown groups as Rust expands them',
    async () => {
      const re = '(?P<y>\\d{4})-(?P<m>\\d{2})';
      expect(await call(re, 'replace_all', '2024-05 and 2025-06', '$m/$y')).toBe(
        '05/2024 and 06/2025',
      );
      expect(await call(re, 'replace', '2024-05 and 2025-06', '$' + '{m}x$2')).toBe(
        '05x05 and 2025-06',
      );
      expect(await call(re, 'replace', '2024-05', '$1a|$$|$nope|$')).toBe('|$||$');
      expect(await call('a', 'replacen', 'aaaa', 2, 'b')).toBe('bbaa');
      expect(await call('a', 'replacen', 'aaaa', 0, 'b')).toBe('bbbb');
      expect(await call('x', 'replace', 'abc', 'y')).toBe('abc');
    },
  );

  it('captures: unmatched groups are nil, named groups also by name', async () => {
    expect(await policy.call('captures', '(a)|(?P<b>b)', 'b')).toEqual({
      '0': 'b',
      '2': 'b',
      b: 'b',
    });
    expect(await policy.call('captures', 'z', 'abc')).toBe('no match');
  });

  it('translates leading inline flags, \\A and \\z, POSIX classes and Unicode classes', async () => {
    expect(await call('(?i)^HELLO', 'is_match', 'hello there')).toBe(true);
    expect(await call('(?m)^b$', 'is_match', 'a\nb\nc')).toBe(true);
    expect(await call('^b$', 'is_match', 'a\nb\nc')).toBe(false);
    expect(await call('(?s)a.b', 'is_match', 'a\nb')).toBe(true);
    expect(await call('a.b', 'is_match', 'a\nb')).toBe(false);
    expect(await call('a.b', 'is_match', 'a\rb')).toBe(true); // Rust's . stops only at \n
    expect(await call('(?m)\\Ab', 'is_match', 'a\nb')).toBe(false);
    expect(await call('a\\z', 'is_match', 'a\n')).toBe(false);
    expect(await call('[[:digit:]]+[[:alpha:]]', 'find', 'x 42z')).toBe('42z');
    expect(await call('\\d+', 'find', 'order ٤٢')).toBe('٤٢'); // Unicode digits, as in Rust
    expect(await call('\\w+', 'find', 'straße!')).toBe('straße');
    expect(await call('\\bé\\b', 'is_match', 'café')).toBe(false); // Unicode word boundary
    expect(await call('\\p{Greek}+', 'find', 'abc αβγ')).toBe('αβγ');
    expect(await call('\\pL+', 'find', '12 abc')).toBe('abc');
    expect(await call('\\x{41}\\x42', 'find', 'xAB')).toBe('AB');
    expect(await call('(?x) a \\  b # comment\n c', 'find', 'a bc')).toBe('a bc');
    expect(await call('[]a]+', 'find', 'x]a]')).toBe(']a]');
    expect(await call('\\#\\&\\~ \\-', 'find', '#&~ -')).toBe('#&~ -');
  });

  it("runs fancy-regex's look-around and back-references, as KumoMTA documents", async () => {
    expect(await call('foo(?=bar)', 'find', 'foobaz foobar')).toBe('foo');
    expect(await call('(?<!x)y', 'find_all', 'xy zy')).toEqual(['y']);
    expect(await call('(\\w)\\1', 'find', 'abccd')).toBe('cc');
    expect(await call('(?P<c>\\w)(?P=c)', 'find', 'abccd')).toBe('cc');
  });

  it('refuses what JavaScript cannot run as Rust would, naming it', async () => {
    const refused = async (pattern: string) => policy.fail('compile', pattern);
    expect(await refused('(?U)a+')).toContain(
      "kumo.regex.compile: '(?U)a+': swapped greediness (?U) is not supported",
    );
    expect(await refused('a(?i)b')).toContain('flags other than at the start of the pattern');
    expect(await refused('(?i:a)b')).toContain('flags other than at the start of the pattern');
    expect(await refused('(?>a+)b')).toContain('the atomic group (?>…) is not supported');
    expect(await refused('a++')).toContain("the possessive quantifier '++' is not supported");
    expect(await refused('[a-z&&[^aeiou]]')).toContain('is not supported');
    expect(await refused('[[:^alpha:]]')).toContain('the negated POSIX class');
    expect(await refused('[\\W_]')).toContain('\\W inside a character class is not supported');
    expect(await refused('\\Qa.b\\E')).toContain('the escape \\Q is not supported');
    expect(await refused('(?-u)\\w')).toContain('ASCII mode (?-u) is not supported');
    expect(await refused('a(')).toContain("kumo.regex.compile: 'a(':");
  });

  it('kumo.regex.escape makes any text a literal pattern', async () => {
    const text = 'a.b*c+d?(e)[f]{g}|h^i$j#k&l-m~n\\o';
    const [escaped, matches] = (await policy.call('escape', text)) as [string, boolean];
    expect(escaped).toBe('a\\.b\\*c\\+d\\?\\(e\\)\\[f\\]\\{g\\}\\|h\\^i\\$j\\#k\\&l\\-m\\~n\\\\o');
    expect(matches).toBe(true);
  });

  it('translateRegex numbers named and unnamed groups in order', () => {
    expect(translateRegex('(a)(?:b)(?P<n>c)(?<m>d)(?=e)').names).toEqual([false, false, 'n', 'm']);
  });
});
