/**
 * Address-list parsing behind `msg:from_header()`/`to_header()`/`get_address_header()`:
 * ours (`packages/lua/src/message/address-list.ts`) against nodemailer's `addressparser`
 * (flattened groups), on the same header values. The outputs differ where the two read the
 * syntax differently (printed first); why ours stays: docs/performance.md, "DKIM and address
 * parsing: ours or the libraries'".
 *
 *   npx tsx --conditions=@sterna/source bench/address-list.ts [--calls 200000] [--rounds 5]
 *
 * Times are CPU time (user + system) per header value in µs, best and median of `--rounds`
 * after a warm-up round.
 */
import { parseArgs } from 'node:util';
import addressparser from 'nodemailer/lib/addressparser';
// Relative import: the workspace root does not depend on @sterna/lua (see inject-render.ts).
import { parseAddressList } from '../packages/lua/src/message/address-list.js';
import { runCpuCells } from './lib/cpu-cells.js';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '5' },
  },
});
const total = Number(args.calls);
const rounds = Number(args.rounds);

const values = {
  'one mailbox': '"The Sterna team" <news@example.com>',
  'five mailboxes, a group, comments':
    '"Smith, John" <john.smith@example.com>, plain@example.com (a comment), Jane Doe <jane@example.com>, team: a@x.example, b@x.example;, undisclosed-recipients:;',
};
// Where the two disagree (a policy would see the difference).
const differences = [
  ...Object.values(values),
  'plain@example.com (a comment)',
  'postmaster',
  'first@example.com;second@example.com',
];
const flat = (v: string) =>
  addressparser(v, { flatten: true }).map((m) => ({ name: m.name || null, address: m.address }));
for (const v of differences) {
  const ours = JSON.stringify(parseAddressList(v));
  const theirs = JSON.stringify(flat(v));
  console.log(`${ours === theirs ? 'same' : 'DIFFERENT'}: ${JSON.stringify(v)}`);
  if (ours !== theirs) console.log(`  sterna:     ${ours}\n  nodemailer: ${theirs}`);
}

const cases: Record<string, () => unknown> = {};
for (const [name, value] of Object.entries(values)) {
  cases[`${name} [sterna parseAddressList]`] = () => parseAddressList(value);
  cases[`${name} [nodemailer addressparser]`] = () => addressparser(value, { flatten: true });
}
await runCpuCells(cases, {
  name: 'address-list',
  calls: total,
  rounds,
  unit: 'header value',
  wall: false,
  digits: 2,
});
