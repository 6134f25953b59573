import { z } from 'zod';

/**
 * A JSON object whose keys are data: returned as parsed, so a key like `__proto__` survives
 * (`z.record` would drop it) and is never a prototype.
 */
const jsonObject = z.custom<Record<string, unknown>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  { message: 'expected an object' },
);

/** An RFC 5322 field name: printable ASCII (33–126) except the colon. */
export function isHeaderName(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 33 || code > 126 || code === 58) return false;
  }
  return true;
}

const HEADER_NAME_TEXT =
  'expected a header name of printable ASCII characters without a colon (RFC 5322)';
const headerName = z.string().refine(isHeaderName, { message: HEADER_NAME_TEXT });

/** Builder `headers`: names checked as RFC 5322 field names, values text. */
const headerMap = jsonObject.superRefine((headers, ctx) => {
  for (const [name, value] of Object.entries(headers)) {
    if (!isHeaderName(name))
      ctx.addIssue({ code: 'custom', path: [name], message: HEADER_NAME_TEXT });
    else if (typeof value !== 'string')
      ctx.addIssue({ code: 'custom', path: [name], message: 'expected a string' });
  }
}) as unknown as z.ZodType<Record<string, string>>;

/**
 * A mailbox as it goes into an SMTP envelope or an address header: `local@domain`, nothing that
 * could end a command or a header (CR, LF, NUL), no angle brackets, no space in the domain.
 */
export function isMailbox(text: string): boolean {
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1 || /[<>]/.test(text) || /\s/.test(text.slice(at)))
    return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

const mailbox = z
  .string()
  .refine(isMailbox, { message: 'expected an address like user@example.com' });
const address = z.strictObject({ email: mailbox, name: z.string().optional() });

/** Builder-mode `content`: Sterna writes the MIME message. */
const builder = z
  .strictObject({
    text_body: z.string().optional(),
    html_body: z.string().optional(),
    amp_html_body: z.string().optional(),
    subject: z.string().optional(),
    from: address.optional(),
    reply_to: address.optional(),
    headers: headerMap.optional(),
    attachments: z
      .array(
        z.strictObject({
          data: z.string(),
          content_type: z.string().min(1),
          file_name: z.string().optional(),
          content_id: z.string().optional(),
          base64: z.boolean().optional(),
        }),
      )
      .optional(),
  })
  .refine((c) => c.text_body !== undefined || c.html_body !== undefined, {
    message: 'the builder needs text_body or html_body',
  });

const traceHeaders = z.strictObject({
  received_header: z.boolean().optional(),
  supplemental_header: z.boolean().optional(),
  header_name: headerName.optional(),
  include_meta_names: z.array(z.string()).optional(),
});

/** The body of `POST /api/inject/v1`, KumoMTA's fields; unknown keys are refused. */
export const injectRequestSchema = z.strictObject({
  /** `""` is the null sender. */
  envelope_sender: z.union([z.literal(''), mailbox]),
  recipients: z.array(
    z.strictObject({
      email: mailbox,
      name: z.string().optional(),
      substitutions: jsonObject.optional(),
      metadata: jsonObject.optional(),
    }),
  ),
  content: z.union([z.string(), builder]),
  substitutions: jsonObject.optional(),
  template_dialect: z.enum(['Jinja', 'Static', 'Handlebars']).optional(),
  deferred_generation: z.boolean().optional(),
  deferred_spool: z.boolean().optional(),
  trace_headers: traceHeaders.optional(),
});

/** A parsed inject request. */
export type InjectRequest = z.infer<typeof injectRequestSchema>;
/** Builder-mode content of an inject request. */
export type BuilderContent = Exclude<InjectRequest['content'], string>;

/** Issues as one line each: `recipients[0]: unknown key 'nmae'`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.reduce<string>(
        (acc, part) =>
          typeof part === 'number'
            ? `${acc}[${part}]`
            : !/^[\w-]+$/.test(String(part))
              ? `${acc}[${JSON.stringify(String(part))}]`
              : acc
                ? `${acc}.${String(part)}`
                : String(part),
        '',
      );
      const text =
        issue.code === 'unrecognized_keys'
          ? `unknown key ${issue.keys.map((k) => `'${k}'`).join(', ')}`
          : issue.message;
      return path ? `${path}: ${text}` : text;
    })
    .join('; ');
}
