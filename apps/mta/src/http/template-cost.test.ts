import { describe, expect, it } from 'vitest';
import { isBoundedTemplate } from './template-cost.js';

describe('isBoundedTemplate', () => {
  it('accepts variables, one plain filter, if on values, for over a value, comments', () => {
    for (const source of [
      'no syntax at all { braces } in CSS',
      'Hi {{ name }}, {{ user.first_name|title }} {{ plan["tier"]|default("basic", true) }}',
      '{{- name|e -}} {# a comment with {{ braces }} #}',
      '{% if vip and plan.tier == "gold" or not x is defined %}',
      '{% if vip %}a{% elif plan != 3 %}b{% elif x is not none %}c{% else %}d{% endif %}',
      '{% for item in order.items %}{{ loop.index }} {{ item.title }}{% else %}none{% endfor %}',
      '{% for k, v in meta %}{{ k }}={{ v }}{% endfor %}',
      '{{ "}}" }} {{ \'%}\' }}',
      '{% autoescape true %}{% with %}{{ a }}{% endwith %}{% endautoescape %}',
    ]) {
      expect(isBoundedTemplate(source), source).toBe(true);
    }
  });

  it('refuses what can cost more than it writes', () => {
    for (const source of [
      '{{ "x" * 100000000 }}',
      '{{ a ~ b }}',
      '{{ a + b }}',
      '{{ name|length }}',
      '{{ name|upper|lower }}',
      '{{ name|trim }}',
      '{{ name|replace("", "yy") }}',
      '{{ name.upper() }}',
      '{{ range(10) }}',
      '{{ items[0] }}',
      '{% set ns = namespace(s="") %}',
      '{% macro m() %}{{ m() }}{% endmacro %}',
      '{% for i in items if i %}{% endfor %}',
      '{% for i in items recursive %}{% endfor %}',
      `{% if a == "${'x'.repeat(300)}" %}{% endif %}`,
      '{% if "x" in name %}{% endif %}',
      '{% raw %}{{ a }}{% endraw %}',
      '{% include "x" %}',
      '{{ a if b else c }}',
      '{% if not (x) %}{% endif %}',
      '{{ name',
      '{# unterminated',
    ]) {
      expect(isBoundedTemplate(source), source).toBe(false);
    }
  });
});
