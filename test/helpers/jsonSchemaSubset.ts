// A small JSON Schema (2020-12) validator for exactly the keywords
// z.toJSONSchema emits for the spec schema. A keyword it does not know throws,
// so a new zod output cannot be silently ignored by the agreement test.
const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description']);
const KNOWN = new Set([
  ...ANNOTATIONS,
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'anyOf',
  'oneOf',
  'not',
  'const',
  'enum',
  'pattern',
  'minLength',
  'minItems',
  'minimum',
  'maximum',
]);

type Schema = Record<string, unknown>;

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function typeMatches(type: string, v: unknown): boolean {
  if (type === 'integer') return typeof v === 'number' && Number.isInteger(v);
  if (type === 'number') return typeof v === 'number' && Number.isFinite(v);
  return typeOf(v) === type;
}

/** The paths where `value` breaks `schema`; [] when it is valid. */
export function validate(schema: Schema, value: unknown, at = '$'): string[] {
  for (const key of Object.keys(schema))
    if (!KNOWN.has(key)) throw new Error(`jsonSchemaSubset: keyword ${key} at ${at} is not implemented`);
  const errors: string[] = [];
  const fail = (why: string) => errors.push(`${at}: ${why}`);
  if (typeof schema.type === 'string' && !typeMatches(schema.type, value)) return [`${at}: expected ${schema.type}`];
  if ('const' in schema && value !== schema.const) fail(`expected ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value))
    fail(`expected one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && Array.from(value).length < schema.minLength) fail('too short');
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value))
      fail(`does not match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) fail('too small');
    if (typeof schema.maximum === 'number' && value > schema.maximum) fail('too large');
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) fail('too few items');
    if (schema.items) value.forEach((item, i) => errors.push(...validate(schema.items as Schema, item, `${at}[${i}]`)));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const key of (schema.required ?? []) as string[]) if (!(key in obj)) fail(`missing ${key}`);
    for (const [key, v] of Object.entries(obj)) {
      if (props[key]) errors.push(...validate(props[key], v, `${at}.${key}`));
      else if (schema.additionalProperties === false) fail(`unknown key ${key}`);
    }
  }
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((s) => validate(s as Schema, value, at).length === 0))
    fail('matches no anyOf branch');
  if (
    Array.isArray(schema.oneOf) &&
    schema.oneOf.filter((s) => validate(s as Schema, value, at).length === 0).length !== 1
  )
    fail('matches not exactly one oneOf branch');
  if (schema.not && validate(schema.not as Schema, value, at).length === 0) fail('matches a not');
  return errors;
}
