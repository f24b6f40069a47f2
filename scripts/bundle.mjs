#!/usr/bin/env node
// Bundles the CLI into one file (dist/main.js) so a cold start reads one module
// instead of hundreds: start-up to the first nix process is what users wait for.
// sh-syntax stays external: it loads its WASM parser from its own directory.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [path.join(root, 'src', 'main.ts')],
  outfile: path.join(root, 'dist', 'main.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['sh-syntax'],
  // Some dependencies are CommonJS and call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __nvCreateRequire } from 'node:module'; const require = __nvCreateRequire(import.meta.url);" },
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
