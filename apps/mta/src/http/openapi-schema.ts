import { type ZodType, z } from 'zod';

/** A JSON Schema (draft 2020-12, OpenAPI 3.1's dialect) as the document embeds it. */
export type JsonSchema = Record<string, unknown>;

/**
 * How the document turns a route's zod schema into JSON Schema. Requests are described as the
 * route accepts them (`input`), replies as it sends them (`output`). A check zod cannot express
 * (a `z.custom`, a refinement) becomes no constraint rather than an error: the route still
 * enforces it, the document is just less precise there.
 */
export function jsonSchemaOptions(io: 'input' | 'output'): z.core.ToJSONSchemaParams {
  return {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    reused: 'inline',
    cycles: 'ref',
    override: ({ jsonSchema }) => {
      // TypeScript's `readonly` says nothing about the API, and zod's `.int()` bounds (the safe
      // integers) are JavaScript's limits, not the endpoint's.
      delete jsonSchema.readOnly;
      if (jsonSchema.type === 'integer') {
        if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
        if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      }
    },
  };
}

/**
 * `schema` as JSON Schema for embedding: without the `$schema` key (OpenAPI 3.1's default
 * dialect is already draft 2020-12).
 */
export function jsonSchemaOf(schema: ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(
    schema,
    jsonSchemaOptions(io),
  ) as JsonSchema;
  return rest;
}

/** An OpenAPI Parameter Object. */
export interface ParameterObject {
  readonly name: string;
  readonly in: 'query' | 'path';
  readonly required: boolean;
  readonly description?: string;
  readonly schema: JsonSchema;
}

/**
 * The query parameters a query schema accepts: one per property of the object schema, required
 * as the schema says. A query schema that is not an object (it should be) gives none.
 */
export function queryParameters(schema: ZodType): ParameterObject[] {
  const json = jsonSchemaOf(schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: 'query' as const,
      required: required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

/**
 * A fastify URL in OpenAPI's form with its path parameters: `/q/:name` is `/q/{name}`. Fastify's
 * wildcard `*` is kept as it is (OpenAPI has no equivalent).
 */
export function openApiPath(url: string): { path: string; parameters: ParameterObject[] } {
  const parameters: ParameterObject[] = [];
  const path = url.replace(/:([A-Za-z_][\w]*)/g, (_match, name: string) => {
    parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    return `{${name}}`;
  });
  return { path, parameters };
}
