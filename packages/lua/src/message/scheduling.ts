import { z } from 'zod';
import { parseWith } from '../config/schema-helpers.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const FULL = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

const instant = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), 'expected an RFC 3339 date/time');
const timeOfDay = z
  .string()
  .regex(/^\d{1,2}:\d{2}(:\d{2})?$/, 'expected a time of day like "09:00:00"');

/**
 * `msg:set_scheduling{…}`: a deferred first attempt, a per-message expiry, and a delivery
 * window (`dow`, `tz`, `start`, `end`: all four or none). Kept in KumoMTA's shape for the
 * daemon's scheduler.
 */
export const schedulingSchema = z
  .strictObject({
    first_attempt: instant.optional(),
    expires: instant.optional(),
    dow: z
      .string()
      .refine(
        (s) => s.split(',').every((d) => [...DAYS, ...FULL].includes(d.trim().toLowerCase())),
        'expected days such as "Mon,Wed" or "Monday,Wednesday"',
      )
      .optional(),
    tz: z
      .string()
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return tz === 'UTC' || tz === 'GMT' || !/^[A-Z]{3,4}$/.test(tz);
        } catch {
          return false;
        }
      }, 'expected an IANA time zone name such as "America/Phoenix"')
      .optional(),
    start: timeOfDay.optional(),
    end: timeOfDay.optional(),
  })
  .refine((s) => {
    const set = [s.dow, s.tz, s.start, s.end].filter((v) => v !== undefined).length;
    return set === 0 || set === 4;
  }, 'dow, tz, start and end must be given together or not at all');

/** A message's scheduling constraints (`msg:set_scheduling`), as the policy gave them. */
export type Scheduling = z.output<typeof schedulingSchema>;

/** Validates `set_scheduling` parameters. @throws SternaError `STERNA_LUA_CONFIG_INVALID` */
export function parseScheduling(value: unknown): Scheduling {
  return parseWith(schedulingSchema, value, 'set_scheduling');
}

/** Validates a `set_due` time: nil (as soon as possible) or an ISO 8601 time → epoch ms. */
export function parseDue(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms))
    throw new Error(`set_due: expected nil or an ISO 8601 time, got ${String(value)}`);
  return ms;
}
