#!/usr/bin/env node
// Writes plugin.yml, the spec's JSON Schema and the README settings table from the built src/docs.ts
// (run through `npm run docs`, which builds first). The README section between
// <!-- settings:start --> and <!-- settings:end --> and the one between
// <!-- nix-options:start --> and <!-- nix-options:end --> are replaced; the rest is kept.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { pluginYaml, withGeneratedSections, README_START, README_END, NIX_START, NIX_END, SPEC_SCHEMA_FILE, specJsonSchemaText } = await import(path.join(root, 'dist', 'docs.js'));

writeFileSync(path.join(root, 'plugin.yml'), pluginYaml());
console.log('wrote plugin.yml');
writeFileSync(path.join(root, SPEC_SCHEMA_FILE), specJsonSchemaText());
console.log(`wrote ${SPEC_SCHEMA_FILE}`);

const readmeFile = path.join(root, 'README.md');
if (!existsSync(readmeFile)) {
  console.error(`README.md does not exist: add one with ${README_START} and ${README_END} markers, then run npm run docs again`);
  process.exitCode = 1;
} else {
  const updated = withGeneratedSections(readFileSync(readmeFile, 'utf8'));
  if (updated === undefined) {
    console.error(`README.md needs the ${README_START}, ${NIX_START} and <!-- spec:start --> sections (each with its :end marker): add the markers where they belong`);
    process.exitCode = 1;
  } else {
    writeFileSync(readmeFile, updated);
    console.log('updated the settings table, the nix allow-list and the built-in spec in README.md');
  }
}
