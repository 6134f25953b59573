/**
 * Template rendering cost without HTTP, the policy or the spool: `compileRequest(...)` (what one
 * `POST /api/inject/v1` does to its templates) generating N messages, per scenario and request
 * size; and, for the choice of engine for log templates, one log template rendered by nunjucks
 * (what `per_record.<Type>.template` uses) and by MiniJinja.
 *
 *   npx tsx --conditions=@sterna/source bench/inject-render.ts
 *   npx tsx --conditions=@sterna/source bench/inject-render.ts --baseline /tmp/sterna-before
 *
 * `--baseline DIR` runs the same scenarios against another checkout's `compileRequest` (e.g. the
 * commit before, extracted with `git archive <commit> | tar -x -C DIR` and installed with
 * `npx -y pnpm@12.4.2 install --offline`), alternating with this one round by round, so both
 * are measured under the same load. Times are CPU time (user + system) per message, best and
 * median of `--rounds`. See docs/performance.md.
 */
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
// Relative imports: the workspace root does not depend on apps/mta; dependencies resolve from
// apps/mta/node_modules because the imported files live there.
import { compileRequest } from '../apps/mta/src/http/generate.js';
import type { InjectRequest } from '../apps/mta/src/http/inject-request.js';
import { compileTemplate as compileLogTemplate } from '../apps/mta/src/logs/template.js';
import { buildLogRecord, type LogRecord, newSpoolId } from '../packages/core/src/engine.js';
import { makeResponse } from '../packages/core/src/index.js';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '30000' },
    rounds: { type: 'string', default: '5' },
    'per-request': { type: 'string', default: '100,1' },
    baseline: { type: 'string' },
  },
});
const total = Number(args.messages);
const rounds = Number(args.rounds);
const perRequest = args['per-request']!.split(',').map(Number);

type Compile = typeof compileRequest;
const engines: [string, Compile][] = [['current', compileRequest]];
if (args.baseline) {
  const file = join(resolve(args.baseline), 'apps/mta/src/http/generate.ts');
  const baseline = (await import(pathToFileURL(file).href)) as { compileRequest: Compile };
  engines.unshift(['baseline', baseline.compileRequest]);
}

// About 4 KiB with three substitutions, like `pnpm bench --scenarios http --sizes 4096` but
// rendered (that benchmark sends `template_dialect: 'Static'`).
const filler = `${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(70)}\n`;
const rfc822 =
  'From: News <news@example.org>\nTo: {{ to_header }}\nSubject: Your offer, {{ name }}\n\n' +
  `Dear {{ name }},\n\nyour code is {{ code }}.\n\n${filler}`;
const scenarios: Record<string, (request: number) => InjectRequest['content']> = {
  'RFC 5322, 3 variables, 4 KiB': () => rfc822,
  'the same, a new template each request': (request) => `${rfc822}#${request}\n`,
  // Short bodies: building the MIME costs far more than rendering a long body.
  'builder: subject, text, html, header, from name': () => ({
    from: { email: 'news@example.org', name: 'The {{ brand }} team' },
    subject: 'Your offer, {{ name }}',
    text_body: 'Dear {{ name }},\nyour code is {{ code }}.\n',
    html_body: '<p>Dear <b>{{ name }}</b>, your code is {{ code }}.</p>',
    headers: { 'X-Campaign': 'spring-{{ code }}' },
  }),
  'for over 2 items, if': () =>
    'Subject: Your order, {{ name }}\n\n{% for item in items %}- {{ item.title }}: ' +
    '{{ item.price }}\n{% endfor %}{% if vip %}Thanks!{% endif %}\n',
};

function request(content: InjectRequest['content'], first: number, size: number): InjectRequest {
  return {
    envelope_sender: 'news@example.org',
    content,
    substitutions: { brand: 'Sterna' },
    recipients: Array.from({ length: size }, (_, k) => ({
      email: `user${first + k}@example.com`,
      name: `User ${first + k}`,
      substitutions: {
        code: `C-${first + k}`,
        vip: k % 2 === 0,
        items: [
          { title: 'Book', price: 12 },
          { title: 'Pen', price: 2 },
        ],
      },
    })),
  };
}

function cpuMs(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

function injectRound(compile: Compile, scenario: string, size: number): number {
  const requests = Array.from({ length: Math.ceil(total / size) }, (_, i) =>
    request(scenarios[scenario]!(i), i * size, size),
  );
  let bytes = 0;
  const ms = cpuMs(() => {
    for (const r of requests) {
      const generate = compile(r, 'mta.example', () => 1_800_000_000_000);
      for (const recipient of r.recipients) bytes += generate(recipient, 'id').length;
    }
  });
  if (bytes === 0) throw new Error('nothing generated');
  return ms;
}

// Log templates: nunjucks as the daemon uses it, against MiniJinja given the same variables.
const records: LogRecord[] = Array.from({ length: 1000 }, (_, i) =>
  buildLogRecord({
    type: 'Delivery',
    id: newSpoolId(),
    sender: 'sender@example.com',
    recipient: `rcpt${i}@example.net`,
    queue: 'spring-2026:acme@example.net',
    site: 'unspecified->(alt1|alt2)?.mx.example.net@smtp_client',
    size: 4096 + i,
    response: makeResponse(250, `2.0.0 OK ${i} queued as ABC${i}`, { command: '.\r\n' }),
    peer_address: { name: 'mx.example.net', addr: '192.0.2.10' },
    num_attempts: 1,
    egress_pool: 'pool-a',
    egress_source: 'ip-1',
    delivery_protocol: 'ESMTP',
    reception_protocol: 'ESMTP',
    nodeid: '1b2c3d4e-0000-4000-8000-000000000000',
  }),
);
const logSource =
  '{{ type }},{{ id }},{{ recipient }},{{ response.code }},{{ timestamp - created }}';
const nunjucksLog = compileLogTemplate(logSource);
// The bindings as they come (no watchdog: log templates come from the policy), given only the
// fields the template names (converting every field costs ten times more).
const { Environment } = createRequire(new URL('../apps/mta/package.json', import.meta.url))(
  'minijinja-js',
) as typeof import('minijinja-js');
const minijinja = new Environment();
minijinja.enablePyCompat();
minijinja.fuel = 10_000_000;
minijinja.addTemplate('log', logSource);
const named = [...new Set(logSource.match(/[A-Za-z_]\w*/g))];
const minijinjaLog = (record: LogRecord) => {
  const vars: Record<string, unknown> = {};
  for (const name of named) {
    if (Object.hasOwn(record, name)) vars[name] = record[name as keyof LogRecord];
  }
  return minijinja.renderTemplate('log', vars);
};

function logRound(render: (record: LogRecord) => string): number {
  let bytes = 0;
  const ms = cpuMs(() => {
    for (let i = 0; i < total; i++) bytes += render(records[i % records.length]!).length;
  });
  if (bytes === 0) throw new Error('nothing rendered');
  return ms;
}

const cells = new Map<string, number[]>();
function measure(label: string, round: () => number, r: number): void {
  const ms = round();
  if (r === 0) return; // warm-up
  cells.set(label, [...(cells.get(label) ?? []), (ms * 1000) / total]);
}

console.log(
  `inject-render: ${total} messages per cell, ${rounds} rounds after a warm-up, ` +
    `node ${process.version}, ${cpus().length} cpus; CPU µs per message (best / median)`,
);
for (let r = 0; r <= rounds; r++) {
  for (const size of perRequest) {
    for (const scenario of Object.keys(scenarios)) {
      for (const [name, compile] of engines) {
        measure(
          `${scenario}, ${size} per request [${name}]`,
          () => injectRound(compile, scenario, size),
          r,
        );
      }
    }
  }
  measure('log template [nunjucks]', () => logRound(nunjucksLog), r);
  measure('log template [MiniJinja]', () => logRound(minijinjaLog), r);
}
for (const [label, times] of cells) {
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(`${label}: ${sorted[0]!.toFixed(2)} / ${median.toFixed(2)}`);
}
