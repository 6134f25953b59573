import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type DriverContext, silentLogger, systemClock } from './context.js';
import { type Connection, defineProtocolDriver, type Site } from './driver.js';
import { isSternaError } from './errors.js';
import { type ManagedConnection, openConnection } from './managed-connection.js';
import { createMessage } from './message.js';
import { isDeliveryFailure, outcomeFor } from './outcome.js';
import { makeResponse } from './response.js';

const ctx: DriverContext = {
  logger: silentLogger,
  clock: systemClock,
  signal: new AbortController().signal,
  resolver: { resolveMx: async () => [], resolve4: async () => [], resolve6: async () => [] },
  hostname: 'test.local',
};
const site: Site = { name: 'site', service: 'test' };
const signal = new AbortController().signal;

function driverWith(connect: () => Promise<Connection>) {
  return defineProtocolDriver({
    protocol: 'test',
    deliveryProtocol: 'Test',
    options: z.object({ test: z.object({}) }),
    capabilities: {
      reusesConnections: true,
      multiRecipient: true,
      batching: false,
      readyQueue: true,
    },
    site: () => ({ site }),
    connect,
  });
}

const message = createMessage({
  sender: 's@x',
  recipients: ['a@x', 'b@x'],
  data: 'Subject: t\r\n\r\nhi\r\n',
});
const ok = makeResponse(250, '2.0.0 ok', { command: '.\r\n' });

describe('ManagedConnection', () => {
  it('turns a throwing send into a transient failure for every recipient and stops reuse', async () => {
    let closes = 0;
    const conn = await openConnection(
      driverWith(async () => ({
        send: async () => {
          throw new Error('socket exploded');
        },
        close: async () => {
          closes++;
        },
      })),
      site,
      {},
      ctx,
    );
    if (isDeliveryFailure(conn)) throw new Error('expected a connection');
    const outcomes = await conn.send(message, { signal });
    expect(outcomes.map((o) => [o.recipient, o.kind, o.response.code])).toEqual([
      ['a@x', 'transient', 400],
      ['b@x', 'transient', 400],
    ]);
    expect(outcomes[0]!.response.content).toBe(
      'KumoMTA internal: error in deliver_message: socket exploded',
    );
    expect(conn.isUsable()).toBe(false);
    await Promise.all([conn.close(), conn.close()]);
    await conn.close();
    expect(closes).toBe(1);
  });

  it('gives every recipient exactly one outcome', async () => {
    const conn = (await openConnection(
      driverWith(async () => ({
        send: async () => [
          outcomeFor('a@x', ok),
          outcomeFor('a@x', makeResponse(550, 'dup')),
          outcomeFor('z@x', ok),
        ],
        close: async () => {},
      })),
      site,
      {},
      ctx,
    )) as ManagedConnection;
    const outcomes = await conn.send(message, { signal });
    expect(outcomes.map((o) => [o.recipient, o.kind])).toEqual([
      ['a@x', 'delivered'],
      ['b@x', 'transient'],
    ]);
    expect(outcomes[1]!.response.content).toContain("driver 'test' returned no outcome for b@x");
  });

  it('refuses to send after close, and swallows a close that throws', async () => {
    const conn = (await openConnection(
      driverWith(async () => ({
        send: async (m) => m.recipients.map((r) => outcomeFor(r, ok)),
        close: async () => {
          throw new Error('already gone');
        },
      })),
      site,
      {},
      ctx,
    )) as ManagedConnection;
    await conn.close();
    await expect(conn.send(message, { signal })).rejects.toSatisfy((e) =>
      isSternaError(e, 'STERNA_CONNECTION_CLOSED'),
    );
    expect(conn.isUsable()).toBe(false);
  });

  it("turns a throwing connect into KumoMTA's connect failure", async () => {
    const failure = await openConnection(
      driverWith(async () => {
        throw new Error('ECONNREFUSED 127.0.0.1:25');
      }),
      site,
      {},
      ctx,
    );
    expect(isDeliveryFailure(failure) && failure.response.content).toBe(
      'KumoMTA internal: failed to connect to any candidate hosts: ECONNREFUSED 127.0.0.1:25',
    );
  });

  it('sends batches one by one when the driver has no sendBatch', async () => {
    const seen: string[] = [];
    const conn = (await openConnection(
      driverWith(async () => ({
        send: async (m) => {
          seen.push(m.id);
          return m.recipients.map((r) => outcomeFor(r, ok));
        },
        close: async () => {},
      })),
      site,
      {},
      ctx,
    )) as ManagedConnection;
    const other = createMessage({ sender: '', recipients: ['c@x'], data: 'x' });
    const results = await conn.sendBatch([message, other], { signal });
    expect(seen).toEqual([message.id, other.id]);
    expect(results.map((r) => r.length)).toEqual([2, 1]);
    expect(conn.sent).toBe(2);
  });
});
