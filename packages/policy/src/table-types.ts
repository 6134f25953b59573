/**
 * The input type of a KumoMTA table, from its schema in `@sterna/lua`. `z.input` alone gives
 * `unknown` for the keys whose schema preprocesses what it is given (a list that may also be
 * an empty Lua table, a count that may be written `'1,000'`), which would let anything through
 * at compile time; {@link TableOf} types those keys by what the runtime accepts: a list of the
 * item's input, a number or a string. Every other key is `z.input`'s.
 * @module
 */
import type { z } from 'zod';

/** The schema inside `.optional()` / `.default()` wrappers. */
type Unwrapped<S> =
  S extends z.ZodDefault<infer I>
    ? Unwrapped<I>
    : S extends z.ZodOptional<infer I>
      ? Unwrapped<I>
      : S;

/** What a key whose `z.input` is `unknown` accepts, from the shape of its schema. */
type Preprocessed<S> =
  S extends z.ZodPreprocess<infer Out>
    ? Out extends z.ZodArray<infer Item>
      ? readonly InputOf<Item>[]
      : unknown
    : S extends z.ZodPipe<z.ZodUnknown, z.ZodType>
      ? number | string
      : unknown;

/** The input type of one schema, with the preprocessed keys typed (nested tables too). */
export type InputOf<S> =
  unknown extends z.input<S>
    ? Preprocessed<Unwrapped<S>>
    : Unwrapped<S> extends z.ZodObject
      ? TableOf<Unwrapped<S>>
      : z.input<S>;

/** The shape of an object schema, or of the object a pipe (`.transform`) starts from. */
type ShapeOf<S> =
  S extends z.ZodObject<infer Shape>
    ? Shape
    : S extends z.ZodPipe<infer In, z.ZodType>
      ? ShapeOf<In>
      : never;

/**
 * The table a KumoMTA function takes, typed from its schema: KumoMTA's keys, optional where
 * the function has a default, each key typed by what the runtime accepts.
 */
export type TableOf<S> = {
  [K in keyof z.input<S>]: K extends keyof ShapeOf<S> ? InputOf<ShapeOf<S>[K]> : z.input<S>[K];
};
