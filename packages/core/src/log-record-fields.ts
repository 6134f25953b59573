import { isSpoolId, spoolIdTime } from './spool-id.js';

/**
 * The machinery behind KumoMTA's log record table (`log-record.ts`): a row type, and the record
 * builder and record type derived from a list of rows.
 */

/** What every log-record input carries: the record's type, and what the id and times come from. */
export interface RecordInputBase {
  readonly type: string;
  readonly id?: string;
  readonly time?: number;
  readonly created?: number;
}

/** What a key's value is computed from: the input, with the id and times settled once per record. */
export interface RecordSources<I extends RecordInputBase> {
  readonly input: I;
  /** The spool id, `''` when there is none. */
  readonly id: string;
  /** The event time, epoch ms (`input.time`, else now). */
  readonly time: number;
  /** The message's creation time, epoch ms (`input.created`, else from the id, else `time`). */
  readonly created: number;
}

/**
 * When a key is in a record: in every record; only when its value is not undefined; or in the
 * records of the listed types only.
 */
export type FieldPresence<T extends string = string> = 'always' | 'when set' | readonly T[];

/** One key of a record: its name, when it is present, and where its value comes from. */
export interface RecordField<
  I extends RecordInputBase,
  K extends string = string,
  V = unknown,
  P extends FieldPresence<I['type']> = FieldPresence<I['type']>,
> {
  readonly key: K;
  readonly presence: P;
  readonly value: (from: RecordSources<I>) => V;
}

/** The record type a table of rows describes: always-present keys required, the others optional. */
export type RecordOf<Rows extends readonly RecordField<never>[]> = Flatten<
  {
    -readonly [R in Rows[number] as R['presence'] extends 'always' ? R['key'] : never]: ValueOf<R>;
  } & {
    -readonly [R in Rows[number] as R['presence'] extends 'always' ? never : R['key']]?: Exclude<
      ValueOf<R>,
      undefined
    >;
  }
>;

/** The always-present keys of a table, in its order, as a tuple. */
export type AlwaysKeys<Rows extends readonly unknown[]> = Rows extends readonly [
  infer First,
  ...infer Rest,
]
  ? First extends { readonly key: infer K; readonly presence: 'always' }
    ? [K, ...AlwaysKeys<Rest>]
    : AlwaysKeys<Rest>
  : [];

type ValueOf<R> = R extends { readonly value: (from: never) => infer V } ? V : never;
// One object type instead of an intersection, so editors and errors show the record's keys.
type Flatten<T> = { [K in keyof T]: T[K] } & {};

function sourcesOf<I extends RecordInputBase>(input: I): RecordSources<I> {
  const time = input.time ?? Date.now();
  const id = input.id ?? '';
  const created = input.created ?? (isSpoolId(id) ? spoolIdTime(id) : time);
  return { input, id, time, created };
}

/** Puts a record together from `fields`, in their order, one row at a time. */
export function assembleRecord<I extends RecordInputBase>(
  fields: readonly RecordField<I>[],
  input: I,
): Record<string, unknown> {
  const from = sourcesOf(input);
  const record: Record<string, unknown> = {};
  for (const { key, presence, value } of fields) {
    if (presence === 'always') {
      record[key] = value(from);
    } else if (presence === 'when set') {
      const v = value(from);
      if (v !== undefined) record[key] = v;
    } else if (presence.includes(input.type)) {
      record[key] = value(from);
    }
  }
  return record;
}

/**
 * A builder for `fields` that makes what {@link assembleRecord} makes, compiled once into one
 * object literal: a record is built on every delivery, and adding 29 keys one at a time by name
 * took four times as long as the literal it replaces. Only the keys (quoted by `JSON.stringify`)
 * and row indices become code; values come from the rows' own functions. Where the runtime
 * forbids code from strings, the builder is {@link assembleRecord}.
 */
export function compileRecordBuilder<I extends RecordInputBase>(
  fields: readonly RecordField<I>[],
): (input: I) => Record<string, unknown> {
  const key = (i: number) => JSON.stringify(fields[i]!.key);
  // The leading always-present keys go in the literal; every later row is a statement, in order.
  const leading = fields.findIndex((f) => f.presence !== 'always');
  const inLiteral = leading === -1 ? fields.length : leading;
  const literalKeys: string[] = [];
  const statements: string[] = [];
  fields.forEach((f, i) => {
    if (i < inLiteral) literalKeys.push(`${key(i)}: f[${i}].value(from),`);
    else if (f.presence === 'always') statements.push(`r[${key(i)}] = f[${i}].value(from);`);
    else if (f.presence === 'when set')
      statements.push(`v = f[${i}].value(from); if (v !== undefined) r[${key(i)}] = v;`);
    else
      statements.push(
        `if (f[${i}].presence.includes(from.input.type)) r[${key(i)}] = f[${i}].value(from);`,
      );
  });
  const body = `let v; const r = {\n${literalKeys.join('\n')}\n};\n${statements.join('\n')}\nreturn r;`;
  let literal: (f: typeof fields, from: RecordSources<I>) => Record<string, unknown>;
  try {
    literal = new Function('f', 'from', body) as typeof literal;
  } catch {
    return (input) => assembleRecord(fields, input);
  }
  return (input) => literal(fields, sourcesOf(input));
}
