#!/usr/bin/env node
// Bundles the CLI (dist/main.js and its chunks in dist/chunks/) so a cold start reads a few modules instead of
// hundreds: start-up to the first nix process is what users wait for. Split at main.ts's dynamic imports: the entry
// holds only what starts `nix --version` (the signal handlers and zx's process layer), and the rest of the verifier
// (settings, zod, yaml, the checks) is read and compiled while that first nix runs.
// mvdan-sh (the shell parser, 1.5 MB of GopherJS output) stays external: src/shell/parse.ts loads it on the
// first shell analysis, so commands that analyse no shell do not read it.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [path.join(root, 'src', 'main.ts')],
  outdir: path.join(root, 'dist'),
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['mvdan-sh'],
  // Some dependencies are CommonJS and call require(): give the ESM bundle one.
  banner: {
    js: "import { createRequire as __nvCreateRequire } from 'node:module'; const require = __nvCreateRequire(import.meta.url);",
  },
  minify: process.env.NV_NO_MINIFY !== '1',
  legalComments: 'none',
  logLevel: 'warning',
});
// Runnable as a command: its #! line carries the Node flags (src/main.ts).
chmodSync(path.join(root, 'dist', 'main.js'), 0o755);
