import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { type PolicyDir, policyDir } from './policy.js';

/** The repository's TypeScript policy examples (`examples/typescript-policy/src`). */
export const TS_EXAMPLES = new URL('../../../../examples/typescript-policy/src/', import.meta.url);

/**
 * Writes a TypeScript policy the way {@link writePolicy} writes a Lua one: `init` listens on free
 * loopback ports and spools and logs inside a temp dir; `body` adds handlers and `init` more
 * init calls (TypeScript statements; `DIR` is the temp dir). `modules` are copied beside the
 * policy, each with `replace` applied, and imported by it (`import './seed.js'`). The policy
 * imports `@sterna/policy` from a folder with no node_modules: the daemon's own copy answers.
 */
export async function writeTsPolicy(
  options: {
    body?: string;
    init?: string;
    modules?: readonly URL[];
    /** Text replacements in the copied modules, given the temp dir. */
    replace?: (dir: string) => Readonly<Record<string, string>>;
  } = {},
): Promise<PolicyDir> {
  const dir = await mkdtemp(join(tmpdir(), 'sterna-e2e-ts-'));
  const policy = join(dir, 'policy.ts');
  const imports: string[] = [];
  for (const url of options.modules ?? []) {
    const name = basename(url.pathname);
    let text = await readFile(url, 'utf8');
    for (const [a, b] of Object.entries(options.replace?.(dir) ?? {})) text = text.split(a).join(b);
    await writeFile(join(dir, name), text);
    imports.push(`import './${name.replace(/\.ts$/, '.js')}';`);
  }
  const text = `import * as sterna from '@sterna/policy';
${imports.join('\n')}
const DIR = ${JSON.stringify(dir)};
sterna.on('init', async () => {
  await sterna.startEsmtpListener({ listen: '127.0.0.1:0', relay_hosts: ['127.0.0.1'], hostname: 'sterna.test' });
  await sterna.startHttpListener({ listen: '127.0.0.1:0' });
  await sterna.defineSpool({ name: 'data', path: \`\${DIR}/spool/data\` });
  await sterna.defineSpool({ name: 'meta', path: \`\${DIR}/spool/meta\` });
  await sterna.configureLocalLogs({ log_dir: \`\${DIR}/logs\`, max_segment_duration: '1s', headers: ['Subject', 'X-*'], meta: ['x_*'] });
  ${options.init ?? ''}
});
${options.body ?? ''}
`;
  await writeFile(policy, text);
  return policyDir(dir, policy);
}
