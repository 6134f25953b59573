import { expect } from 'vitest';

// Payloads that escape Jinja-like engines which are not sandboxes (nunjucks ran all of these as
// JavaScript): prototype chains, `constructor`, the `range`/`cycler`/`joiner`/`lipsum` globals,
// attribute access on functions and filters, Python introspection. Each must render empty or as
// data, or be refused with a TemplateError; none may run code.
export const SANDBOX_PAYLOADS = [
  '{{ constructor.constructor("return process.version")() }}',
  '{{ constructor }}',
  `{{ ''.constructor.constructor('return process')().pid }}`,
  '{{ range.constructor("return 6*7")() }}',
  '{{ cycler.constructor("return process.pid")() }}',
  '{{ joiner.constructor("return process.pid")() }}',
  '{{ lipsum.constructor("return process.pid")() }}',
  '{{ lipsum.__globals__ }}',
  '{{ __proto__ }}',
  '{{ x.__proto__.polluted }}',
  '{{ [].constructor }}',
  '{{ [].constructor.constructor("return process.pid")() }}',
  '{{ {}.__proto__ }}',
  '{{ name.__class__ }}',
  '{{ name.constructor.constructor("return process.pid")() }}',
  '{{ name.toString.constructor("return process.pid")() }}',
  '{{ range.__call__ }}',
  `{{ (1)|attr('constructor') }}`,
  `{{ "a"|attr("constructor")|attr("constructor") }}`,
  `{{ range|attr("constructor") }}`,
  '{% set x = namespace() %}{{ x.constructor }}',
  '{{ self }}',
  '{{ self.__init__ }}',
  '{{ self.__init__.__globals__ }}',
  '{{ debug() }}',
  '{{ process.pid }}{{ global.process }}{{ globalThis }}{{ this }}',
  `{{ require('child_process') }}`,
  '{{ cycler.__init__.__globals__.os }}',
  `{% include "/etc/passwd" %}`,
  `{% import "x" as y %}`,
];

/** What no rendered text may contain: signs that JavaScript ran or leaked. */
export function expectNoLeak(text: string): void {
  expect(text).not.toMatch(new RegExp(`\\b${process.pid}\\b`));
  expect(text).not.toContain(process.version);
  expect(text).not.toContain('function Object');
  expect(text).not.toContain('[native code]');
  expect(text).not.toMatch(/function \w*\(/);
  expect(text).not.toBe('42');
}
