// Who decides the claim: which spec text a run verifies, read so that a pull
// request cannot replace a claim the pipeline pinned.
//
// Inputs, in the order they are decided:
//   - the `spec` setting:
//       `builtin`             the built-in spec (the cc-ci claim), even when the repository ships
//                             .nixenv-verify.yml (a file named `builtin` is `./builtin`);
//       a path outside the workspace (absolute, or relative leaving it): the operator's file, read as is;
//       a path inside the workspace: a repository spec (below);
//       unset                 .nixenv-verify.yml at the repository root when it exists (a repository
//                             spec), else the built-in spec.
//   - the `spec_sha256` setting: the bytes of the spec read (the built-in text included) must hash
//     to it, else exit 2 naming both hashes; a pull request that edits a pinned spec stops the run.
// A repository spec is never read through a symlink that leaves the repository: every component of
// its path (the file itself included) is checked with lstat and realpath, and one that leads out is
// an exit-2 error naming it. Every spec is at most SPEC_MAX_BYTES (exit 2 naming the file and the
// limit). The bytes hashed are the bytes parsed (one read).
import { fileKind } from '../storeFs.js';
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import path from 'node:path';
import { SettingsError } from '../errors.js';
import { BUILTIN_SPEC_YAML } from './builtin.js';
import { parseSpec } from './load.js';
import type { Claim } from './types.js';

export const SPEC_FILE_DEFAULT = '.nixenv-verify.yml';
/** The `spec` value that selects the built-in spec. */
export const SPEC_BUILTIN = 'builtin';
export const SPEC_MAX_BYTES = 1024 * 1024;

export type SpecOrigin = 'built-in' | 'repository' | 'outside';

export interface LoadedSpec {
  /** As the outputs name it: `built-in`, a path relative to the repository, or an absolute path outside it. */
  file: string;
  origin: SpecOrigin;
  sha256: string;
  claim: Claim;
}

export interface SpecLabels {
  spec: string;
  sha256: string;
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

const inside = (root: string, p: string): boolean =>
  p === root || p.startsWith(root.endsWith(path.sep) ? root : `${root}${path.sep}`);

/** What a spec path is when it is no file: a special file (storeFs.fileKind) or a directory. */
const special = (st: Stats): string | undefined => fileKind(st) ?? (st.isDirectory() ? 'a directory' : undefined);

/**
 * For a path inside the repository: the first component (from the repository down) that is a
 * symlink leading out of it, with where it leads; undefined when every component stays inside.
 */
export function symlinkLeavingRepo(root: string, file: string): { component: string; target: string } | undefined {
  const rootReal = realpathSync(root);
  const rel = path.relative(root, file);
  let at = root;
  for (const part of rel.split(path.sep).filter((p) => p !== '')) {
    at = path.join(at, part);
    let st: Stats;
    try {
      st = lstatSync(at);
    } catch {
      return undefined; // missing: the read says so
    }
    if (!st.isSymbolicLink()) continue;
    let target: string;
    try {
      target = realpathSync(at);
    } catch {
      return { component: path.relative(root, at), target: '(a dangling or looping symlink)' };
    }
    if (!inside(rootReal, target)) return { component: path.relative(root, at), target };
  }
  return undefined;
}

/** Reads at most limit+1 bytes of a regular file through one descriptor (no FIFO, no device). */
function readBounded(file: string, shown: string, label: string): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SettingsError(
      code === 'ENOENT'
        ? `${label}: ${shown} does not exist (${file}); expected a spec file (nixenv-verify --print-spec prints one)`
        : `${label}: ${shown} cannot be read: ${(e as Error).message}`,
    );
  }
  try {
    const st = fstatSync(fd);
    const kind = special(st);
    if (kind || !st.isFile())
      throw new SettingsError(`${label}: ${shown} is ${kind ?? 'not a regular file'}; expected a spec file (YAML)`);
    if (st.size > SPEC_MAX_BYTES)
      throw new SettingsError(
        `${label}: ${shown} is ${st.size} bytes; a spec is at most ${SPEC_MAX_BYTES} bytes (1 MiB)`,
      );
    const buf = Buffer.alloc(SPEC_MAX_BYTES + 1);
    let got = 0;
    for (let n = 1; n > 0 && got < buf.length; got += n) n = readSync(fd, buf, got, buf.length - got, null);
    if (got > SPEC_MAX_BYTES)
      throw new SettingsError(
        `${label}: ${shown} is more than ${SPEC_MAX_BYTES} bytes; a spec is at most ${SPEC_MAX_BYTES} bytes (1 MiB)`,
      );
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function checkHash(actual: string, expected: string | undefined, shown: string, labels: SpecLabels): void {
  if (expected === undefined) return;
  if (actual !== expected.toLowerCase()) {
    throw new SettingsError(
      `${labels.sha256}: the spec read (${shown}) has sha256 ${actual}; expected ${expected.toLowerCase()}. The claim changed: review the spec, then update ${labels.sha256}`,
    );
  }
}

/**
 * The spec a run verifies. `setting`: the `spec` setting (undefined: unset); `pinnedHash`: the
 * `spec_sha256` setting. Exit-2 SettingsError (or SpecError) for anything that cannot be used.
 */
export function loadSpec(
  flake: string,
  setting: string | undefined,
  pinnedHash: string | undefined,
  labels: SpecLabels,
): LoadedSpec {
  if (setting === SPEC_BUILTIN || setting === undefined) {
    const repoSpec = path.join(flake, SPEC_FILE_DEFAULT);
    let present = false;
    try {
      lstatSync(repoSpec);
      present = true;
    } catch {
      /* no repository spec */
    }
    if (setting === SPEC_BUILTIN || !present) {
      const sha = sha256(BUILTIN_SPEC_YAML);
      checkHash(sha, pinnedHash, 'the built-in spec', labels);
      return { file: 'built-in', origin: 'built-in', sha256: sha, claim: parseSpec(BUILTIN_SPEC_YAML, 'built-in') };
    }
  }
  const file = setting !== undefined ? path.resolve(flake, setting) : path.join(flake, SPEC_FILE_DEFAULT);
  const shown = setting !== undefined ? JSON.stringify(setting) : SPEC_FILE_DEFAULT;
  // The spec setting is named only when the user gave it; the default file is named as such.
  const label = setting !== undefined ? labels.spec : 'the default spec (no spec setting given)';
  const rel = path.relative(flake, file);
  const inRepo = !(rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel));
  if (inRepo) {
    const out = symlinkLeavingRepo(flake, file);
    if (out)
      throw new SettingsError(
        `${label}: ${shown} is read through the symlink ${JSON.stringify(out.component)}, which leads out of the repository (to ${out.target}); a repository spec is never read from outside it (pin one outside the workspace with an absolute path instead)`,
      );
  }
  const bytes = readBounded(file, shown, label);
  const sha = sha256(bytes);
  const name = inRepo ? rel : file;
  checkHash(sha, pinnedHash, name, labels);
  return {
    file: name,
    origin: inRepo ? 'repository' : 'outside',
    sha256: sha,
    claim: parseSpec(bytes.toString('utf8'), name),
  };
}
