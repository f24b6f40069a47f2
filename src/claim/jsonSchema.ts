// The spec's JSON Schema, generated from the zod schema (zod 4 `z.toJSONSchema`,
// draft 2020-12) so editors complete and check a spec. It is shipped as
// SPEC_SCHEMA_FILE at the repository root (written by `npm run docs`;
// test/unit/specSchema.test.ts fails when it is stale) and `--print-spec` names it
// in its first line for the YAML language server.
//
// What the JSON Schema says and what it cannot:
// - every key, type, pattern, enum and required key of src/claim/schema.ts;
// - the zod refinements that have a JSON Schema form are given it with `.meta`
//   there (a relative path: pattern; a proof: oneOf count / at_least; a host name
//   that is not . or ..; a name that is not blank);
// - the rules across fields (unique names, same_line_as targets, a host without a
//   config file, ...) are load.ts's crossProblems: not in the JSON Schema. An
//   editor does not show them; nixenv-verify (and --check-spec) does.
import { z } from 'zod';
import { PROJECT_REPO_URL } from '../render/card.js';
import { specSchema } from './schema.js';

/** The schema file's name at the repository root. */
export const SPEC_SCHEMA_FILE = 'nixenv-verify.schema.json';

/** The raw URL of the schema file on the main branch of the project repository. */
export const SPEC_SCHEMA_URL = `${PROJECT_REPO_URL.replace('https://github.com/', 'https://raw.githubusercontent.com/')}/main/${SPEC_SCHEMA_FILE}`;

/** The first line `--print-spec` prints: the YAML language server's schema modeline. */
export const SPEC_SCHEMA_MODELINE = `# yaml-language-server: $schema=${SPEC_SCHEMA_URL}`;

/** The JSON Schema of a spec file, as an object. */
export function specJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(specSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: SPEC_SCHEMA_URL,
    title: 'nixenv-verify spec',
    description: `The claim a NixOS flake repository makes about its test runtime (.nixenv-verify.yml). Generated from src/claim/schema.ts by \`npm run docs\`; see ${PROJECT_REPO_URL}.`,
    ...rest,
  };
}

/** The file's text, exactly as shipped. */
export const specJsonSchemaText = (): string => `${JSON.stringify(specJsonSchema(), null, 2)}\n`;
