// Store path names: /nix/store/<hash>-<name>[-<output>] and Nix's name/version split.

export const STORE_PATH_RE = /\/nix\/store\/([0-9a-df-np-sv-z]{32})-([^/\s:"'`;$]+)/g;

/** Outputs Nix appends to a store name (a multi-output package's non-`out` outputs). */
const OUTPUT_SUFFIXES = [
  'bin',
  'dev',
  'lib',
  'out',
  'man',
  'doc',
  'devdoc',
  'info',
  'static',
  'debug',
  'dist',
  'py',
  'python',
  'modules',
  'udev',
  'scripts',
  'sbin',
  'libexec',
  'data',
  'terminfo',
  'hardeningScripts',
];

export interface StorePath {
  /** /nix/store/<hash>-<name>, without any sub-path. */
  root: string;
  hash: string;
  /** Everything after the hash, e.g. `curl-8.12.1-bin`. */
  name: string;
  /** Text after the root, e.g. `/bin`. */
  subPath: string;
}

export function parseStorePath(text: string): StorePath | undefined {
  const m = /^\/nix\/store\/([0-9a-df-np-sv-z]{32})-([^/]+)(\/.*)?$/.exec(text);
  if (!m) return undefined;
  return { root: `/nix/store/${m[1]}-${m[2]}`, hash: m[1], name: m[2], subPath: m[3] ?? '' };
}

/** builtins.parseDrvName: the version starts at the first `-` followed by a non-letter. */
export function parseDrvName(name: string): { pname: string; version: string } {
  for (let i = 0; i < name.length - 1; i++) {
    if (name[i] === '-' && !/[A-Za-z]/.test(name[i + 1])) {
      return { pname: name.slice(0, i), version: name.slice(i + 1) };
    }
  }
  return { pname: name, version: '' };
}

/** `curl-8.12.1-bin` -> [`curl-8.12.1-bin`, `curl-8.12.1`]: the name as is, then without an output suffix. */
export function nameCandidates(name: string): string[] {
  const out = [name];
  const dash = name.lastIndexOf('-');
  if (dash > 0 && OUTPUT_SUFFIXES.includes(name.slice(dash + 1))) out.push(name.slice(0, dash));
  return out;
}

/** Package identity of a store name: output suffix dropped, then split like parseDrvName. */
export function packageOf(name: string): { name: string; pname: string; version: string; output?: string } {
  const candidates = nameCandidates(name);
  const base = candidates[candidates.length - 1];
  const output = base === name ? undefined : name.slice(base.length + 1);
  return { name: base, ...parseDrvName(base), ...(output ? { output } : {}) };
}
