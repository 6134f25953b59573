import { createMessage, isDeliveryFailure } from '@sterna/core';
import { DriverRegistry, egressPath, ManagedConnection, openConnection } from '@sterna/core/engine';
import { testContext } from '@sterna/protocol-testkit';
import { expect, it } from 'vitest';
import smtpDriverDefault, { smtpDriver } from '../src/index.js';
import { later, loopbackPath, signal, sink } from './helpers.js';

it('is the default export, and the registry finds it for the default protocol', async () => {
  expect(smtpDriverDefault).toBe(smtpDriver);
  const registry = new DriverRegistry([smtpDriver]);
  const { driver, options } = await registry.resolve();
  expect(driver).toBe(smtpDriver);
  expect(options).toEqual({ smtp: {} });
  expect(smtpDriver).toMatchObject({
    protocol: 'smtp',
    deliveryProtocol: 'ESMTP',
    capabilities: {
      reusesConnections: true,
      multiRecipient: true,
      batching: false,
      readyQueue: true,
    },
  });
});

it('delivers through core: registry, site, openConnection and ManagedConnection', async () => {
  const s = await sink();
  const registry = new DriverRegistry([smtpDriver]);
  const { driver, options } = await registry.resolve({
    smtp: { mx_list: [`127.0.0.1:${s.port}`] },
  });
  const ctx = testContext();
  const resolution = await driver.site(
    options,
    { queue: 'example.com', domain: 'example.com' },
    ctx,
  );
  if ('failure' in resolution) throw new Error(resolution.failure.response.content);
  const connection = await openConnection(driver, resolution.site, options, ctx, loopbackPath());
  if (isDeliveryFailure(connection)) throw new Error(connection.response.content);
  later(() => connection.close());
  expect(connection).toBeInstanceOf(ManagedConnection);
  const message = createMessage({
    sender: '',
    recipients: ['a@example.com', 'permfail@example.com'],
    data: 'Subject: bounce\r\n\r\n.starts with a dot\r\n',
  });
  const outcomes = await connection.send(message, { signal: signal() });
  expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'permanent']);
  expect(s.messages[0]).toMatchObject({ sender: '', recipients: ['a@example.com'] });
  expect(s.messages[0]!.data.toString()).toBe('Subject: bounce\r\n\r\n.starts with a dot\r\n');
});

it('turns a bad egress path into a transient failure through core, naming the field', async () => {
  const s = await sink();
  const registry = new DriverRegistry([smtpDriver]);
  const { driver, options } = await registry.resolve({
    smtp: { mx_list: [`127.0.0.1:${s.port}`] },
  });
  const ctx = testContext();
  const resolution = await driver.site(
    options,
    { queue: 'example.com', domain: 'example.com' },
    ctx,
  );
  if ('failure' in resolution) throw new Error(resolution.failure.response.content);
  const result = await openConnection(
    driver,
    resolution.site,
    options,
    ctx,
    egressPath({ prohibited_hosts: ['localhost'] }),
  );
  expect(result).toMatchObject({ kind: 'transient', response: { code: 400 } });
  expect(isDeliveryFailure(result) && result.response.content).toContain(
    "prohibited_hosts: 'localhost' is not an IP address or CIDR",
  );
});

it('refuses a site it did not name', async () => {
  const result = await openConnection(
    smtpDriver,
    { name: 'made-up', service: 'smtp_client' },
    { smtp: {} },
    testContext(),
    loopbackPath(),
  );
  expect(isDeliveryFailure(result) && result.response.content).toContain(
    "site 'made-up' was not named by the smtp driver's site()",
  );
});
