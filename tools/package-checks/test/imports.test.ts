import { describe, expect, it } from 'vitest';
import { packageOf, withoutComments } from '../src/imports.js';

describe('the import scanner', () => {
  it('names the package of a bare specifier', () => {
    expect(packageOf('zod')).toBe('zod');
    expect(packageOf('@sterna/core/engine')).toBe('@sterna/core');
    expect(packageOf('nodemailer/lib/smtp-connection')).toBe('nodemailer');
  });

  it('reads prose in comments as prose', () => {
    const text = [
      '/**',
      " * import the contract from '@sterna/other'",
      ' */',
      "// import them from '@sterna/core/engine'.",
      "export * from './engine.js';",
      "import { z } from 'zod';",
    ].join('\n');
    const left = withoutComments(text);
    expect(left).not.toContain('@sterna/other');
    expect(left).not.toContain('@sterna/core/engine');
    expect(left).toContain("import { z } from 'zod';");
  });
});
