import { isDeliveryFailure } from '@sterna/core';
import { egressPath } from '@sterna/core/engine';
import { testContext } from '@sterna/protocol-testkit';
import { expect, it } from 'vitest';
import { type Candidate, planCandidates } from './candidates.js';
import { makePlan } from './plan.js';

const ctx = testContext();

async function addresses(
  plan: ReturnType<typeof makePlan>,
  path = egressPath({ prohibited_hosts: [] }),
  remotePort?: number,
) {
  const list = await planCandidates(plan, path, ctx, remotePort);
  if (isDeliveryFailure(list)) throw new Error(list.response.content);
  return list.candidates.map((c: Candidate) => `${c.address}:${c.port}`);
}

const mx = makePlan('mx', [
  {
    hosts: [
      { name: 'a.mx', addresses: ['192.0.2.1'] },
      { name: 'b.mx', addresses: ['192.0.2.2'] },
    ],
    shuffle: true,
  },
  { hosts: [{ name: 'c.mx', addresses: ['192.0.2.3', '2001:db8::3'] }], shuffle: true },
]);

it('shuffles equal preferences and keeps lower preferences first', async () => {
  const firsts = new Set<string>();
  for (let i = 0; i < 64 && firsts.size < 2; i++) {
    const order = await addresses(mx);
    expect(new Set(order.slice(2))).toEqual(new Set(['192.0.2.3:25', '2001:db8::3:25']));
    firsts.add(order[0]!);
  }
  expect(firsts).toEqual(new Set(['192.0.2.1:25', '192.0.2.2:25']));
});

it('applies ip_lookup_strategy to known addresses', async () => {
  const v6 = await addresses(
    mx,
    egressPath({ prohibited_hosts: [], ip_lookup_strategy: 'Ipv6Only' }),
  );
  expect(v6).toEqual(['2001:db8::3:25']);
  const v4 = await addresses(
    mx,
    egressPath({ prohibited_hosts: [], ip_lookup_strategy: 'Ipv4Only' }),
  );
  expect(v4).toHaveLength(3);
});

it('gives remote_port precedence over the entry port, and the entry port over smtp_port', async () => {
  const plan = makePlan('mx_list', [
    { hosts: [{ name: 'x', addresses: ['192.0.2.9'], port: 2025 }], shuffle: false },
    { hosts: [{ name: 'y', addresses: ['192.0.2.10'] }], shuffle: false },
  ]);
  expect(await addresses(plan, egressPath({ prohibited_hosts: [], smtp_port: 26 }))).toEqual([
    '192.0.2.9:2025',
    '192.0.2.10:26',
  ]);
  expect(await addresses(plan, egressPath({ prohibited_hosts: [], smtp_port: 26 }), 2626)).toEqual([
    '192.0.2.9:2626',
    '192.0.2.10:2626',
  ]);
});

it('drops skip_hosts silently and says so when nothing is left', async () => {
  expect(
    await addresses(mx, egressPath({ prohibited_hosts: [], skip_hosts: ['192.0.2.0/31', '::/0'] })),
  ).toEqual(['192.0.2.2:25', '192.0.2.3:25']);
  const list = await planCandidates(
    mx,
    egressPath({ prohibited_hosts: [], skip_hosts: ['0.0.0.0/0', '::/0'] }),
    ctx,
  );
  expect(list).toEqual({ candidates: [], errors: ['every address is in skip_hosts'] });
});

it('fails the whole site permanently when any address is prohibited', async () => {
  const result = await planCandidates(mx, egressPath({ prohibited_hosts: ['192.0.2.3'] }), ctx);
  expect(result).toMatchObject({
    kind: 'permanent',
    response: { code: 550, enhanced_code: { class: 5, subject: 4, detail: 4 } },
  });
});
