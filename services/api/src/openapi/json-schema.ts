import { z } from 'zod';

/**
 * Small builders for the JSON Schema 2020-12 that OpenAPI 3.1 uses. Objects are closed
 * (`additionalProperties: false`) and list their required keys, so the integration test that
 * validates real responses against the document fails when a route grows or loses a field.
 */

/** A JSON Schema (2020-12) object. Kept loose on purpose: the keywords are JSON Schema's, not ours. */
export type JsonSchema = { [keyword: string]: unknown };

export const COMPONENT_SCHEMAS = '#/components/schemas/';

export const ref = (name: string): JsonSchema => ({ $ref: `${COMPONENT_SCHEMAS}${name}` });
export const string = (extra: JsonSchema = {}): JsonSchema => ({ type: 'string', ...extra });
export const integer = (extra: JsonSchema = {}): JsonSchema => ({ type: 'integer', ...extra });
export const number = (extra: JsonSchema = {}): JsonSchema => ({ type: 'number', ...extra });
export const boolean = (extra: JsonSchema = {}): JsonSchema => ({ type: 'boolean', ...extra });
export const count = (description?: string): JsonSchema => integer({ minimum: 0, ...(description ? { description } : {}) });
export const isoTime = (description?: string): JsonSchema => string({ format: 'date-time', ...(description ? { description } : {}) });
export const uuid = (description?: string): JsonSchema => string({ format: 'uuid', ...(description ? { description } : {}) });
export const enumOf = (values: readonly string[], extra: JsonSchema = {}): JsonSchema => ({ type: 'string', enum: [...values], ...extra });
export const constant = (value: string | boolean, extra: JsonSchema = {}): JsonSchema => ({ const: value, ...extra });
export const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: 'null' }] });
export const arrayOf = (items: JsonSchema, extra: JsonSchema = {}): JsonSchema => ({ type: 'array', items, ...extra });
/** An object used as a map (provider id → totals, day → totals, …). */
export const mapOf = (values: JsonSchema, extra: JsonSchema = {}): JsonSchema => ({ type: 'object', additionalProperties: values, ...extra });

/**
 * A closed object: every property is required unless listed in `optional` (a name that is not a
 * property throws, so a typo cannot silently make a field required).
 */
export function object(properties: Record<string, JsonSchema>, opts: { optional?: readonly string[]; description?: string } = {}): JsonSchema {
  const optional = new Set(opts.optional ?? []);
  for (const name of optional) if (!(name in properties)) throw new Error(`optional property ${name} is not a property`);
  const required = Object.keys(properties).filter((k) => !optional.has(k));
  return {
    type: 'object',
    ...(opts.description ? { description: opts.description } : {}),
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: false,
  };
}

/**
 * JSON Schema of a zod schema (`z.toJSONSchema`), tidied for a document people read: no `$schema`
 * inside components, no `maximum: 2^53-1` that zod adds to every int, and no regex beside a
 * `format` (zod spells out the format as a long pattern). `descriptions` annotates top-level
 * properties, since the comments on the zod fields do not survive to run time.
 */
export function fromZod(schema: z.ZodType, opts: { io?: 'input' | 'output'; descriptions?: Record<string, string>; description?: string } = {}): JsonSchema {
  const raw = z.toJSONSchema(schema, { io: opts.io ?? 'input', unrepresentable: 'throw' }) as JsonSchema;
  const out = tidy(raw) as JsonSchema;
  delete out.$schema;
  const props = out.properties as Record<string, JsonSchema> | undefined;
  for (const [name, description] of Object.entries(opts.descriptions ?? {})) {
    const prop = props?.[name];
    if (prop === undefined) throw new Error(`no property ${name} to describe`);
    props![name] = { description, ...prop };
  }
  return opts.description ? { description: opts.description, ...out } : out;
}

function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'maximum' && v === Number.MAX_SAFE_INTEGER) continue;
    if (k === 'minimum' && v === Number.MIN_SAFE_INTEGER) continue;
    if (k === 'pattern' && 'format' in node) continue;
    out[k] = tidy(v);
  }
  return out;
}
