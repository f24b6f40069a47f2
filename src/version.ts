import { existsSync, readFileSync } from 'node:fs';

// The package's own package.json: next to src/ or dist/, or two levels up from the bundle's chunks (dist/chunks/).
const file = [new URL('../package.json', import.meta.url), new URL('../../package.json', import.meta.url)].find((u) =>
  existsSync(u),
);
if (!file) throw new Error(`package.json not found above ${import.meta.url}`);
const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; version: string };

export const TOOL = { name: pkg.name, version: pkg.version };
