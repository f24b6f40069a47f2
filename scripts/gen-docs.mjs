#!/usr/bin/env node
// Writes plugin.yml, the spec's JSON Schema and the generated documentation sections from the built
// src/docs.ts (run through `npm run docs`, which builds first): the README settings table, the nix
// allow-list in docs/guarantees.md, the built-in spec in docs/spec.md (GENERATED_DOCS). Only the text
// between each <!-- NAME:start --> and <!-- NAME:end --> pair is replaced; the rest is kept.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { pluginYaml, withGeneratedSections, GENERATED_DOCS, SPEC_SCHEMA_FILE, specJsonSchemaText } = await import(
  path.join(root, 'dist', 'docs.js')
);

writeFileSync(path.join(root, 'plugin.yml'), pluginYaml());
console.log('wrote plugin.yml');
writeFileSync(path.join(root, SPEC_SCHEMA_FILE), specJsonSchemaText());
console.log(`wrote ${SPEC_SCHEMA_FILE}`);

for (const { file, sections } of GENERATED_DOCS) {
  const full = path.join(root, file);
  const markers = sections.map((s) => `${s.start} … ${s.end}`).join(', ');
  if (!existsSync(full)) {
    console.error(`${file} does not exist: add it with ${markers}, then run npm run docs again`);
    process.exitCode = 1;
    continue;
  }
  const updated = withGeneratedSections(readFileSync(full, 'utf8'), file);
  if (updated === undefined) {
    console.error(`${file} needs ${markers}: add the markers where the generated text belongs`);
    process.exitCode = 1;
    continue;
  }
  writeFileSync(full, updated);
  console.log(`updated ${markers} in ${file}`);
}
