import { parseCidr } from '@sterna/core/engine';
import { z } from 'zod';
import { luaArray } from './schema-helpers.js';

/**
 * A list of addresses and CIDR blocks (`relay_hosts`, `trusted_hosts`), checked when the policy
 * calls the function, so that `sterna --validate` reports it. The notation is KumoMTA's strict
 * one: each entry that is not an address or a block with its host bits clear is an issue at its
 * index (`relay_hosts[2]: '10.0.0.1/8' is not a valid CIDR block: … did you mean '10.0.0.0/8'?`).
 */
export const cidrList = luaArray(z.string()).superRefine((entries, ctx) => {
  entries.forEach((entry, index) => {
    try {
      parseCidr(entry);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message, path: [index] });
    }
  });
});
