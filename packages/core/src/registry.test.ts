import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineProtocolDriver } from './driver.js';
import { isSternaError, SternaError, type SternaErrorCode } from './errors.js';
import { DriverRegistry } from './registry.js';

const notUsed = () => {
  throw new Error('not used');
};

const smtp = defineProtocolDriver({
  protocol: 'smtp',
  deliveryProtocol: 'ESMTP',
  packageName: '@sterna/protocol-smtp',
  options: z
    .object({
      smtp: z
        .object({
          mx_list: z
            .array(z.union([z.string(), z.object({ name: z.string(), addr: z.ipv4() }).strict()]))
            .optional(),
        })
        .strict(),
    })
    .strict(),
  capabilities: {
    reusesConnections: true,
    multiRecipient: true,
    batching: false,
    readyQueue: true,
  },
  site: notUsed,
  connect: notUsed,
});

const maildir = defineProtocolDriver({
  protocol: 'maildir_path',
  deliveryProtocol: 'Maildir',
  options: z.object({ maildir_path: z.string(), dir_mode: z.number().int().optional() }).strict(),
  capabilities: {
    reusesConnections: true,
    multiRecipient: true,
    batching: false,
    readyQueue: false,
  },
  site: notUsed,
  connect: notUsed,
});

async function codeOf(
  promise: Promise<unknown> | (() => unknown),
): Promise<{ code: SternaErrorCode; message: string }> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (error instanceof SternaError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a SternaError');
}

describe('DriverRegistry', () => {
  const registry = new DriverRegistry([smtp, maildir]);

  it('finds the driver by the key it claims and returns validated options', async () => {
    const resolved = await registry.resolve({
      smtp: { mx_list: ['[10.0.0.1]', { name: 'mx', addr: '10.0.0.2' }] },
    });
    expect(resolved.driver).toBe(smtp);
    expect(resolved.options).toEqual({
      smtp: { mx_list: ['[10.0.0.1]', { name: 'mx', addr: '10.0.0.2' }] },
    });
    expect((await registry.resolve({ maildir_path: '/tmp/x', dir_mode: 0o775 })).driver).toBe(
      maildir,
    );
  });

  it('defaults to SMTP', async () => {
    expect((await registry.resolve(undefined)).driver).toBe(smtp);
  });

  it('names the exact path of a bad option, counting from 1 like Lua', async () => {
    const error = await codeOf(
      registry.resolve({ smtp: { mx_list: ['a', { name: 'mx', addr: 'not-an-ip' }] } }),
    );
    expect(error.code).toBe('STERNA_OPTIONS_INVALID');
    expect(error.message).toContain('protocol.smtp.mx_list[2].addr: ');
  });

  it('names an unknown key inside a driver table', async () => {
    const error = await codeOf(registry.resolve({ smtp: { mx_lsit: [] } }));
    expect(error.code).toBe('STERNA_OPTIONS_INVALID');
    expect(error.message).toMatch(/protocol\.smtp: .*mx_lsit/);
  });

  it('says which package provides an unclaimed protocol', async () => {
    const onlySmtp = new DriverRegistry([smtp]);
    const error = await codeOf(onlySmtp.resolve({ maildir_path: '/x' }));
    expect(error.code).toBe('STERNA_PROTOCOL_UNKNOWN');
    expect(error.message).toContain("protocol 'maildir_path'");
    expect(error.message).toContain('install @sterna/protocol-maildir');
    const lmtp = await codeOf(onlySmtp.resolve({ lmtp: {} }));
    expect(lmtp.message).toContain('sterna-protocol-<name>');
  });

  it('refuses empty, ambiguous and non-table protocols', async () => {
    expect((await codeOf(registry.resolve({}))).code).toBe('STERNA_PROTOCOL_UNKNOWN');
    expect((await codeOf(registry.resolve({ smtp: {}, maildir_path: '/x' }))).code).toBe(
      'STERNA_PROTOCOL_AMBIGUOUS',
    );
    expect((await codeOf(registry.resolve('smtp'))).code).toBe('STERNA_PROTOCOL_INVALID');
    expect((await codeOf(registry.resolve([]))).code).toBe('STERNA_PROTOCOL_INVALID');
  });

  it('refuses a duplicate key', async () => {
    const error = await codeOf(() => new DriverRegistry([smtp, smtp]));
    expect(error.code).toBe('STERNA_DRIVER_DUPLICATE');
    expect(error.message).toContain("protocol 'smtp'");
  });

  it('refuses an object not made by defineProtocolDriver', async () => {
    // A look-alike: every string-keyed field copied, but not the brand.
    const lookAlike = Object.fromEntries(Object.entries(smtp));
    const error = await codeOf(() =>
      new DriverRegistry().register(lookAlike, 'sterna-protocol-fake'),
    );
    expect(error).toEqual({
      code: 'STERNA_DRIVER_INVALID',
      message: expect.stringContaining('sterna-protocol-fake is not a protocol driver'),
    });
  });

  it('refuses another contract version', async () => {
    const future = { ...smtp, apiVersion: 2 };
    const error = await codeOf(() => new DriverRegistry().register(future));
    expect(error.code).toBe('STERNA_DRIVER_API_VERSION');
    expect(error.message).toContain('version 2');
  });

  it('lists what it holds', () => {
    expect(registry.keys()).toEqual(['smtp', 'maildir_path']);
    expect(registry.get('smtp')).toBe(smtp);
    expect(registry.drivers()).toHaveLength(2);
  });
});

describe('defineProtocolDriver', () => {
  const spec = {
    protocol: 'lmtp',
    deliveryProtocol: 'LMTP',
    options: z.object({ lmtp: z.object({}) }),
    capabilities: {
      reusesConnections: true,
      multiRecipient: true,
      batching: false,
      readyQueue: true,
    },
    site: notUsed,
    connect: notUsed,
  };

  it('brands, versions and freezes the driver', () => {
    const driver = defineProtocolDriver(spec);
    expect(driver.apiVersion).toBe(1);
    expect(Object.isFrozen(driver)).toBe(true);
    expect(Object.isFrozen(driver.capabilities)).toBe(true);
  });

  it('checks the spec', () => {
    for (const bad of [
      { ...spec, protocol: 'Bad Key' },
      { ...spec, options: {} },
      { ...spec, connect: undefined },
    ]) {
      let caught: unknown;
      try {
        defineProtocolDriver(bad as never);
      } catch (error) {
        caught = error;
      }
      expect(isSternaError(caught, 'STERNA_DRIVER_INVALID')).toBe(true);
    }
  });
});
