import { describe, expect, it } from 'vitest';
import { compileTemplate, TemplateError } from './template.js';

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
    expect(() => compileTemplate('{% if x %}', 'Jinja', { what: 'text_body' })).toThrow(
      /^text_body: .*endif/,
    );
  });

  it('throws a TemplateError when rendering fails', () => {
    const render = compileTemplate('{{ missing() }}', 'Jinja', { what: 'content' });
    expect(() => render({})).toThrow(TemplateError);
  });
});
