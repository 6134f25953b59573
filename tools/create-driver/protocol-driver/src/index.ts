/**
 * __PACKAGE__: a Sterna protocol driver for `protocol = { __KEY__ = { … } }`.
 *
 * The template delivers by writing each recipient's copy into a directory, so that it works
 * and passes the conformance suite from the first minute. Replace `connect` and `send` with
 * your protocol; keep the shape.
 * @packageDocumentation
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Connection,
  defineProtocolDriver,
  localPartOf,
  makeResponse,
  type Outcome,
  outcomeFor,
} from '@sterna/core';
import { z } from 'zod';

/** The `protocol` table this driver claims: `{ __KEY__ = { dir = '/var/spool/__NAME__' } }`. */
export const __CAMEL__OptionsSchema = z
  .object({
    __KEY__: z
      .object({
        /** Where copies are written, one directory per recipient. */
        dir: z.string().min(1),
      })
      .strict(),
  })
  .strict();

/** Validated options. */
export type __PASCAL__Options = z.output<typeof __CAMEL__OptionsSchema>;

/** Seconds before a failed write is tried again (instead of the queue's retry schedule). */
export const RETRY_AFTER = 60;

/** The driver: register it by listing this package under `drivers` in sterna.config. */
export const __CAMEL__Driver = defineProtocolDriver<__PASCAL__Options>({
  protocol: '__KEY__',
  deliveryProtocol: '__KEY__',
  packageName: '__PACKAGE__',
  options: __CAMEL__OptionsSchema,
  capabilities: {
    reusesConnections: true,
    multiRecipient: true,
    batching: false,
    readyQueue: true,
  },
  // Messages for the same site share a ready queue and its connections.
  site(options) {
    return { site: { name: options.__KEY__.dir, service: '__KEY__' } };
  },
  async connect(_site, options): Promise<Connection> {
    const dir = options.__KEY__.dir;
    let closed = false;
    return {
      async send(message, { signal }) {
        const outcomes: Outcome[] = [];
        for (const recipient of message.recipients) {
          if (closed || signal.aborted) {
            outcomes.push(outcomeFor(recipient, makeResponse(451, '4.4.2 delivery stopped')));
            continue;
          }
          // An expected failure is data: a permanent one bounces, a transient one is retried.
          if (localPartOf(recipient).length > 64) {
            outcomes.push(outcomeFor(recipient, makeResponse(550, '5.1.3 local part too long')));
            continue;
          }
          const folder = join(dir, encodeURIComponent(recipient));
          try {
            await mkdir(folder, { recursive: true });
            const file = join(folder, `${message.id}.eml`);
            await writeFile(`${file}.tmp`, message.data);
            await rename(`${file}.tmp`, file);
            outcomes.push(outcomeFor(recipient, makeResponse(250, `2.0.0 stored in ${folder}`)));
          } catch (error) {
            const text = `4.3.0 cannot store: ${(error as Error).message}`;
            outcomes.push(
              outcomeFor(recipient, makeResponse(451, text), { retryAfter: RETRY_AFTER }),
            );
          }
        }
        return outcomes;
      },
      async close() {
        closed = true;
      },
    };
  },
});

export default __CAMEL__Driver;
