/**
 * The inject API's MIME builder (`apps/mta/src/http/mime.ts`) against nodemailer's, building the
 * same per-recipient message: nodemailer's MailComposer (its own tree), and its MimeNode put
 * together in the tree Sterna and KumoMTA use (`multipart/related` around the alternative).
 * Also the pieces on their own: quoted-printable bodies and `Name <address>` values, ours against
 * nodemailer's `lib/qp` and `MimeNode.encodeHeaderValue`. Why the builder stays ours:
 * docs/performance.md, "The inject API's MIME builder".
 *
 *   npx tsx --conditions=@sterna/source bench/mime-build.ts [--messages 20000] [--rounds 5]
 *
 * Times are CPU time (user + system) per message, best and median of `--rounds` after a
 * warm-up; nodemailer builds asynchronously (streams, a turn of the event loop per part), so
 * its wall time is printed too.
 */
import { parseArgs } from 'node:util';
import MailComposer from 'nodemailer/lib/mail-composer';
import MimeNode from 'nodemailer/lib/mime-node';
import * as qp from 'nodemailer/lib/qp';
// Relative imports: the workspace root does not depend on apps/mta (see inject-render.ts).
import {
  buildMime,
  formatAddress,
  type MimeInput,
  quotedPrintable,
} from '../apps/mta/src/http/mime.js';
import { rfc2822Date } from '../apps/mta/src/reception/trace-headers.js';
import { runCpuCells } from './lib/cpu-cells.js';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
  },
});
const total = Number(args.messages);
const rounds = Number(args.rounds);

// The builder scenario of inject-render.ts, rendered for recipient i; `attached` adds a 30 KB
// PDF and an inline logo.
function input(i: number, attached: boolean): MimeInput {
  return {
    text: `Dear Ann ${i},\nyour code is C-${i}.\n`,
    html: `<p>Dear <b>Ann ${i}</b>, your code is C-${i}.</p>`,
    subject: `Your offer, Ann ${i}`,
    from: { email: 'news@example.org', name: 'The Sterna team' },
    to: { email: `user${i}@example.com`, name: `Ann ${i}` },
    headers: [['X-Campaign', `spring-C-${i}`]],
    attachments: attached
      ? [
          { data: PDF, base64: true, content_type: 'application/pdf', file_name: 'offer.pdf' },
          { data: LOGO, base64: true, content_type: 'image/png', content_id: 'logo' },
        ]
      : [],
    messageId: `${i}@mta.example`,
    date: 1_800_000_000_000,
  };
}
const PDF = Buffer.alloc(30_000, 7).toString('base64');
const LOGO = Buffer.alloc(2_000, 9).toString('base64');

const address = (a: { email: string; name?: string | undefined }) => ({
  name: a.name ?? '',
  address: a.email,
});
const attachment = (a: MimeInput['attachments'][number]) => ({
  content: Buffer.from(a.data, 'base64'),
  contentType: a.content_type,
  ...(a.file_name ? { filename: a.file_name } : {}),
  ...(a.content_id ? { cid: a.content_id } : {}),
});

function viaComposer(m: MimeInput): Promise<Buffer> {
  return new MailComposer({
    text: m.text,
    html: m.html,
    subject: m.subject,
    from: m.from && address(m.from),
    to: address(m.to),
    headers: m.headers.map(([key, value]) => ({ key, value })),
    attachments: m.attachments.map(attachment),
    messageId: `<${m.messageId}>`,
    date: new Date(m.date),
    textEncoding: 'quoted-printable',
    newline: '\r\n',
  })
    .compile()
    .build();
}

// Sterna's tree (related around the alternative, mixed around that) out of MimeNode parts.
function viaMimeNode(m: MimeInput): Promise<Buffer> {
  const options = { newline: '\r\n' };
  const alternative = new MimeNode('multipart/alternative', options);
  for (const [type, text] of [
    ['text/plain; charset=utf-8', m.text],
    ['text/html; charset=utf-8', m.html],
  ] as const) {
    const part = alternative.createChild(type, options);
    part.setHeader('Content-Transfer-Encoding', 'quoted-printable').setContent(text!);
  }
  let root = alternative;
  const wrap = (type: string, parts: MimeInput['attachments']) => {
    if (parts.length === 0) return;
    const outer = new MimeNode(type, options);
    outer.appendChild(root);
    for (const a of parts) {
      const node = outer.createChild(a.content_type, { ...options, filename: a.file_name });
      if (a.content_id) node.setHeader('Content-ID', `<${a.content_id}>`);
      node.setHeader('Content-Disposition', a.content_id ? 'inline' : 'attachment');
      node.setContent(Buffer.from(a.data, 'base64'));
    }
    root = outer;
  };
  wrap(
    'multipart/related',
    m.attachments.filter((a) => a.content_id),
  );
  wrap(
    'multipart/mixed',
    m.attachments.filter((a) => !a.content_id),
  );
  if (m.from) root.setHeader('From', [address(m.from)]);
  root.setHeader('To', [address(m.to)]);
  root.setHeader('Subject', m.subject!);
  root.setHeader('Date', rfc2822Date(m.date));
  root.setHeader('Message-ID', `<${m.messageId}>`);
  for (const [name, value] of m.headers) root.setHeader(name, value);
  return root.build();
}

const TEXT = `Dear Ann,\nyour plan is gold. Ünïcode façade, and a long line: ${'word '.repeat(30)}\n`;
const body = TEXT.repeat(8);
const nodemailerQp = (text: string) => qp.wrap(qp.encode(text.replace(/\r?\n/g, '\r\n')), 76);
const names = [
  { email: 'ann@one.example', name: 'Ann Example' },
  { email: 'zoe@two.example', name: 'Zoë Ünïcode' },
];

type Case = (i: number) => unknown;
const cases: Record<string, Case> = {
  'builder, text + html [sterna buildMime]': (i) => buildMime(input(i, false)),
  'builder, text + html [nodemailer MailComposer]': (i) => viaComposer(input(i, false)),
  'builder, text + html [nodemailer MimeNode]': (i) => viaMimeNode(input(i, false)),
  'builder, + 30 KB attachment, inline image [sterna buildMime]': (i) => buildMime(input(i, true)),
  'builder, + 30 KB attachment, inline image [nodemailer MailComposer]': (i) =>
    viaComposer(input(i, true)),
  'builder, + 30 KB attachment, inline image [nodemailer MimeNode]': (i) =>
    viaMimeNode(input(i, true)),
  [`quoted-printable, ${body.length} chars [sterna quotedPrintable]`]: (i) =>
    quotedPrintable(body + i),
  [`quoted-printable, ${body.length} chars [nodemailer qp]`]: (i) => nodemailerQp(body + i),
  'Name <address> [sterna formatAddress]': (i) => formatAddress(names[i % 2]!),
  'Name <address> [nodemailer MimeNode.encodeHeaderValue]': (i) =>
    MimeNode.encodeHeaderValue('To', [address(names[i % 2]!)]),
};

await runCpuCells(cases, {
  name: 'mime-build',
  calls: total,
  rounds,
  unit: 'message',
  // Fewer builds with attachments: each is 30 KB of base64.
  callsFor: (label) => (label.includes('attachment') ? Math.ceil(total / 10) : total),
});
