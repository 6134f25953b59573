import { errorText } from '@sterna/core';
import { z } from 'zod';
import { compileTemplate } from './template.js';

const mode = (name: string) =>
  z
    .number({ error: `${name} must be a number such as tonumber('750', 8)` })
    .int({ error: `${name} must be a whole number such as tonumber('750', 8)` })
    .min(0, { error: `${name} must be a file mode from 0 to 0o7777 (tonumber('7777', 8))` })
    .max(0o7777, {
      error: `${name} must be a file mode from 0 to 0o7777 (tonumber('7777', 8))`,
    });

/**
 * The schema of a maildir `protocol` table (`{ maildir_path = '…', dir_mode = …, file_mode = … }`).
 * Unknown keys are refused, and the path template is compiled so a typo is reported when the
 * policy loads, not when mail arrives.
 */
export const maildirOptionsSchema = z.strictObject(
  {
    /**
     * Where to store messages: a directory path, optionally templated per recipient
     * (`'/var/mail/{{ domain_part }}/{{ local_part }}'`). `cur/`, `new/` and `tmp/` are created
     * inside it as needed.
     */
    maildir_path: z
      .string({ error: 'maildir_path must be a string (a directory path)' })
      .min(1, { error: 'maildir_path must not be empty' })
      .refine((value) => !value.includes('\0'), { error: 'maildir_path contains a NUL byte' })
      .superRefine((value, ctx) => {
        try {
          compileTemplate(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: errorText(error) });
        }
      }),
    /**
     * Mode of the directories the driver creates (the maildir, its parents, `cur/new/tmp`), as a
     * number: `tonumber('750', 8)`. Applied with chmod, so the umask does not narrow it.
     * @default undefined (0o777 narrowed by the process umask)
     */
    dir_mode: mode('dir_mode').optional(),
    /**
     * Mode of each message file, as a number: `tonumber('640', 8)`. Applied with chmod, so the
     * umask does not narrow it.
     * @default undefined (0o666 narrowed by the process umask)
     */
    file_mode: mode('file_mode').optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')} (maildir accepts maildir_path, dir_mode, file_mode)`
        : undefined,
  },
);

/** The options of the maildir driver: its whole `protocol` table, validated. */
export type MaildirOptions = z.output<typeof maildirOptionsSchema>;
