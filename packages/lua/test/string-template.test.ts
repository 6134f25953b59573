import { beforeAll, describe, expect, it } from 'vitest';
import { inlinePolicy } from './inline-policy.js';

const LOG_RECORD = {
  type: 'Delivery',
  id: '1d98076abbbc11ed940250ebf67f93bd',
  sender: 'user@sender.example.com',
  recipient: 'user@recipient.example.com',
  response: { code: 250, content: 'OK' },
  num_attempts: 0,
};

const POLICY = `
kumo.on('render', function(name, source, context)
  return kumo.string.eval_template(name, source, context)
end)
kumo.on('docs_json', function()
  return kumo.string.eval_template('example.json', [[{{name}}]], { name = 'John' })
end)
kumo.on('log_json', function(record)
  return kumo.string.eval_template(
    'log.json',
    [[{
{%- for key, value in log_record | items | reject("none") -%}
{{key}}: {{value }}
{%- if not loop.last %},{% endif %}
{%- endfor -%}
}
]],
    { log_record = record }
  )
end)
kumo.on('psl', function(fn, s) return kumo.string[fn](s) end)
`;

describe('kumo.string.eval_template', () => {
  let policy: Awaited<ReturnType<typeof inlinePolicy>>;
  beforeAll(async () => {
    policy = await inlinePolicy(POLICY);
  });

  it('renders MiniJinja; the name chooses the escaping, as in KumoMTA', async () => {
    expect(await policy.call('docs_json')).toBe('"John"');
    expect(await policy.call('render', 'page.html', '<p>{{ v }}</p>', { v: '<b>&' })).toBe(
      '<p>&lt;b&gt;&amp;</p>',
    );
    expect(await policy.call('render', 'note.txt', '{{ v }}', { v: '<b>&' })).toBe('<b>&');
    expect(
      await policy.call(
        'render',
        'list.txt',
        '{% for d in domains %}{{ d | upper }}{% if not loop.last %}, {% endif %}{% endfor %}',
        { domains: ['a.com', 'b.com'] },
      ),
    ).toBe('A.COM, B.COM');
    // Python methods, as KumoMTA enables them
    expect(await policy.call('render', 'x.txt', "{{ 'a,b'.split(',') | join('+') }}", {})).toBe(
      'a+b',
    );
  });

  it("renders the log-record example of KumoMTA's page as JSON values", async () => {
    const text = (await policy.call('log_json', LOG_RECORD)) as string;
    // keys and values JSON-escaped by the .json name: the output reads back as the record
    expect(JSON.parse(text)).toEqual(LOG_RECORD);
  });

  it('a template error names the template and says why', async () => {
    expect(await policy.fail('render', 'broken.txt', '{% for %}', {})).toContain(
      'kumo.string.eval_template broken.txt: syntax error',
    );
    expect(await policy.fail('render', 42, '{{ x }}', {})).toContain(
      'kumo.string.eval_template: name: expected a string, got number',
    );
  });

  it('stops a runaway template instead of holding the context', async () => {
    const loop = '{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}';
    expect(await policy.fail('render', 'loop.txt', loop, {})).toMatch(
      /kumo\.string\.eval_template loop\.txt: .*fuel/,
    );
    expect(await policy.call('render', 'after.txt', 'still {{ "fine" }}', {})).toBe('still fine');
  });
});

describe('kumo.string.psl_*', () => {
  let policy: Awaited<ReturnType<typeof inlinePolicy>>;
  beforeAll(async () => {
    policy = await inlinePolicy(POLICY);
  });
  const psl = (fn: string, s: string) => policy.call('psl', fn, s);

  it("gives the registrable domain and the public suffix (KumoMTA's examples)", async () => {
    expect(await psl('psl_domain', 'www.example.com')).toBe('example.com');
    expect(await psl('psl_suffix', 'www.example.com')).toBe('com');
    expect(await psl('psl_domain', 'mail.b.example.co.uk')).toBe('example.co.uk');
    expect(await psl('psl_suffix', 'mail.b.example.co.uk')).toBe('co.uk');
    // the private section too, as the Rust psl crate has it
    expect(await psl('psl_domain', 'user.github.io')).toBe('user.github.io');
    expect(await psl('psl_domain', 'com')).toBeUndefined();
  });

  it('psl_*_is_known: whether the suffix is listed, or only derived from an unlisted label', async () => {
    expect(await psl('psl_domain_is_known', 'www.example.com')).toBe(true);
    expect(await psl('psl_domain_is_known', 'domain.invalid')).toBe(false);
    expect(await psl('psl_domain_is_known', 'com')).toBe(false);
    expect(await psl('psl_suffix_is_known', 'www.example.com')).toBe(true);
    expect(await psl('psl_suffix_is_known', 'domain.invalid')).toBe(false);
    expect(await psl('psl_domain', 'domain.invalid')).toBe('domain.invalid');
    expect(await psl('psl_suffix', 'domain.invalid')).toBe('invalid');
  });
});
