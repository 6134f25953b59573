import { isSternaError } from '@sterna/core';
import { describe, expect, it } from 'vitest';
import { compileTemplate } from './template.js';

function refusal(source: string): string {
  try {
    compileTemplate(source);
  } catch (error) {
    expect(isSternaError(error, 'STERNA_MAILDIR_TEMPLATE_INVALID')).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`${source} was accepted`);
}

describe('compileTemplate', () => {
  it('keeps a path without expressions as one literal', () => {
    expect(compileTemplate('/var/tmp/kumo-maildir').parts).toEqual(['/var/tmp/kumo-maildir']);
  });

  it('reads variables with or without spaces', () => {
    expect(compileTemplate('/m/{{domain_part}}/{{  local_part  }}/x').parts).toEqual([
      '/m/',
      { kind: 'variable', name: 'domain_part' },
      '/',
      { kind: 'variable', name: 'local_part' },
      '/x',
    ]);
  });

  it('reads meta keys by dot and by index', () => {
    expect(compileTemplate('{{ meta.box }}{{ meta["x-y"] }}{{ meta[\'z\'] }}').parts).toEqual([
      { kind: 'meta', name: 'box' },
      { kind: 'meta', name: 'x-y' },
      { kind: 'meta', name: 'z' },
    ]);
  });

  it('trims whitespace beside {{- and -}} as MiniJinja does', () => {
    expect(compileTemplate('/m/  {{- tenant -}}  /x').parts).toEqual([
      '/m/',
      { kind: 'variable', name: 'tenant' },
      '/x',
    ]);
  });

  it('keeps single braces as text', () => {
    expect(compileTemplate('/m/{a}/}}/{').parts).toEqual(['/m/{a}/}}/{']);
  });

  it('refuses unknown variables, naming the known ones', () => {
    const message = refusal('/m/{{ user }}');
    expect(message).toContain("unknown variable 'user'");
    expect(message).toContain('local_part');
  });

  it('refuses syntax it does not support', () => {
    expect(refusal('/m/{{ local_part')).toContain('never closed');
    expect(refusal('/m/{{ }}')).toContain('empty expression');
    expect(refusal('/m/{% if x %}')).toContain('not supported');
    expect(refusal('/m/{# c #}')).toContain('not supported');
    expect(refusal('/m/{{ local_part | lower }}')).toContain('filters are not supported');
    expect(refusal('/m/{{ meta }}')).toContain('meta.NAME');
    expect(refusal('/m/{{ meta.a.b }}')).toContain('cannot read');
  });
});
