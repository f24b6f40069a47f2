#!/usr/bin/env node
// Bundles the CLI into one file (dist/main.js) so a cold start reads one module
// instead of hundreds: start-up to the first nix process is what users wait for.
// mvdan-sh (the shell parser, 1.5 MB of GopherJS output) stays external: src/shell/parse.ts loads it on the
// first shell analysis, so commands that analyse no shell do not read it.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';
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
  external: ['mvdan-sh'],
  // Some dependencies are CommonJS and call require(): give the ESM bundle one.
  banner: {
    js: "import { createRequire as __nvCreateRequire } from 'node:module'; const require = __nvCreateRequire(import.meta.url);",
  },
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
// Runnable as a command: its #! line carries the Node flags (src/main.ts).
chmodSync(path.join(root, 'dist', 'main.js'), 0o755);
