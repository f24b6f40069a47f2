// The spec's JSON Schema: shipped up to date, named by --print-spec, and agreeing
// with zod on every spec the spec tests use (the built-in spec, OTHER, each bad spec).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { runCli } from '../../src/cli.js';
import { BUILTIN_SPEC_YAML } from '../../src/claim/builtin.js';
import {
  SPEC_SCHEMA_FILE,
  SPEC_SCHEMA_MODELINE,
  SPEC_SCHEMA_URL,
  specJsonSchema,
  specJsonSchemaText,
} from '../../src/claim/jsonSchema.js';
import { parseSpec } from '../../src/claim/load.js';
import { specSchema } from '../../src/claim/schema.js';
import { validate } from '../helpers/jsonSchemaSubset.js';
import { BAD, OTHER } from '../helpers/specRows.js';

const repoFile = (name: string): string => fileURLToPath(new URL(`../../${name}`, import.meta.url));

describe('the shipped JSON Schema', () => {
  test(`${SPEC_SCHEMA_FILE} equals specJsonSchemaText() (else run npm run docs)`, () => {
    const file = repoFile(SPEC_SCHEMA_FILE);
    if (!existsSync(file)) throw new Error(`${SPEC_SCHEMA_FILE} does not exist: run \`npm run docs\``);
    const text = readFileSync(file, 'utf8');
    if (text !== specJsonSchemaText())
      throw new Error(`${SPEC_SCHEMA_FILE} differs from src/claim/schema.ts: run \`npm run docs\``);
  });
  test('it is draft 2020-12, has the raw URL as $id, and the URL is in the project repository', () => {
    const schema = specJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(SPEC_SCHEMA_URL);
    expect(SPEC_SCHEMA_URL).toBe(
      'https://raw.githubusercontent.com/cc-ci/nixenv-verify/main/nixenv-verify.schema.json',
    );
  });
  test('--print-spec: the modeline first, then the built-in spec; the print still reads back as the built-in claim', async () => {
    const out: string[] = [];
    expect(
      await runCli({
        argv: ['--print-spec'],
        env: {},
        cwd: '/',
        stdout: (t) => out.push(t),
        stderr: () => undefined,
        isTTY: false,
      }),
    ).toBe(0);
    const printed = out.join('');
    expect(printed.split('\n')[0]).toBe(`# yaml-language-server: $schema=${SPEC_SCHEMA_URL}`);
    expect(printed).toBe(`${SPEC_SCHEMA_MODELINE}\n${BUILTIN_SPEC_YAML}`);
    expect({ ...parseSpec(printed, 'p.yml'), spec: 'built-in' }).toEqual(parseSpec(BUILTIN_SPEC_YAML, 'built-in'));
  });
});

/** The data of a spec text, or undefined when it is not YAML (no schema can judge it). */
function dataOf(text: string): { data: unknown } | undefined {
  const doc = parseDocument(text, { uniqueKeys: true, strict: true });
  if (doc.errors.length || text.includes('\0')) return undefined;
  return { data: doc.toJS() };
}

const ROWS: [string, string][] = [
  ['the built-in spec', BUILTIN_SPEC_YAML],
  ['OTHER', OTHER],
  ...BAD.map(([name, text]) => [name, text] as [string, string]),
];

describe('the JSON Schema agrees with zod (valid/invalid) on every spec row', () => {
  const schema = JSON.parse(specJsonSchemaText()) as Record<string, unknown>;
  test.each(ROWS)('%s', (_name, text) => {
    const parsed = dataOf(text);
    if (parsed === undefined) return; // not YAML: neither schema sees data
    const zodOk = specSchema.safeParse(parsed.data).success;
    const errors = validate(schema, parsed.data ?? null);
    expect([zodOk, errors.length === 0 ? 'valid' : errors]).toEqual([
      zodOk,
      zodOk ? 'valid' : expect.arrayContaining([expect.any(String)]),
    ]);
  });
  test('the rows cover both answers and the refinements zod exports through .meta', () => {
    const answers = ROWS.map(([, t]) => dataOf(t))
      .filter((p) => p !== undefined)
      .map((p) => specSchema.safeParse(p.data).success);
    expect(answers.filter((a) => a).length).toBeGreaterThanOrEqual(7);
    expect(answers.filter((a) => !a).length).toBeGreaterThanOrEqual(15);
  });
  test.each([
    ['a path with a .. step', 'a/../b', false],
    ['a path of ..', '..', false],
    ['an absolute path', '/etc/x', false],
    ['a blank path', '   ', false],
    ['a path with dots in a name', 'a/..b/c..', true],
    ['a plain path', 'nix/modules/packages.nix', true],
  ])('repoPath: %s', (_name, file, ok) => {
    const data = dataOf(OTHER)!.data as Record<string, Record<string, unknown>>;
    const spec = { ...data, shared: { ...data.shared, file } };
    expect([specSchema.safeParse(spec).success, validate(schema, spec).length === 0]).toEqual([ok, ok]);
  });
  test.each([
    ['count and at_least', { pattern: 'x', count: 1, at_least: 1 }, false],
    ['neither', { pattern: 'x' }, false],
    ['at_least', { pattern: 'x', at_least: 2 }, true],
  ])('a proof with %s', (_name, proof, ok) => {
    const spec = { ...(dataOf(OTHER)!.data as object), proofs: [proof] };
    expect([specSchema.safeParse(spec).success, validate(schema, spec).length === 0]).toEqual([ok, ok]);
  });
  test.each([
    ['.', false],
    ['..', false],
    ['lab.x', true],
  ])('host name %s', (host, ok) => {
    const spec = { ...(dataOf(OTHER)!.data as object), hosts: [{ name: host, config: 'x.nix' }] };
    expect([specSchema.safeParse(spec).success, validate(schema, spec).length === 0]).toEqual([ok, ok]);
  });
});
