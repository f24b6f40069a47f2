// The verified workspace before and after the run: a build (or anything it
// started) that writes into the repository is a failure, reported in every output.
//
// Contract. What is compared:
//   - every file git lists (`git ls-files -z --cached --others`: tracked and
//     untracked, ignored ones included), by its bytes (sha256), a symlink by
//     its target, a missing file as missing; files that appear after the run
//     are found by the same listing afterwards;
//   - git's own state a later step would run or trust: `git rev-parse HEAD`,
//     `git status --porcelain=v1 --untracked-files=all --ignored`, every ref
//     (`git for-each-ref`), `.git/config`, and the files of `.git/hooks/` and
//     `.git/info/`. The index (`.git/index`) is not compared: git refreshes its
//     stat cache on read.
//   - a directory that is not a git work tree: every file under it, walked.
// Not compared: files over MAX_FILES entries (the snapshot says it was cut off,
// and that itself is reported as unverifiable), timestamps and modes.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { CommandRunner } from './nix/command.js';

export const MAX_FILES = 200_000;

export interface WorkspaceSnapshot {
  files: Map<string, string>;
  git: Record<string, string>;
  truncated: boolean;
}

function digest(file: string): string {
  try {
    const st = lstatSync(file);
    if (st.isSymbolicLink()) return `-> ${readlinkSync(file)}`;
    if (st.isDirectory()) return 'dir';
    if (!st.isFile()) return 'special';
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return 'missing';
  }
}

function walk(root: string, rel: string, out: string[], skipGit: boolean): void {
  if (out.length > MAX_FILES) return;
  let names: string[];
  try {
    names = readdirSync(path.join(root, rel)).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const r = rel === '' ? name : `${rel}/${name}`;
    if (skipGit && r === '.git') continue;
    const st = lstatSync(path.join(root, r), { throwIfNoEntry: false });
    if (st?.isDirectory()) walk(root, r, out, skipGit);
    else out.push(r);
  }
}

export async function snapshotWorkspace(dir: string, runner: CommandRunner): Promise<WorkspaceSnapshot> {
  const isGit = existsSync(path.join(dir, '.git'));
  const git = async (args: string[]): Promise<string> => {
    const res = await runner('git', ['-C', dir, ...args], {
      timeoutMs: 60_000,
      label: 'git',
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
    });
    return `${res.exitCode}:${res.stdout}`;
  };
  let listed: string[] = [];
  const state: Record<string, string> = {};
  if (isGit) {
    // Read-only questions (GIT_OPTIONAL_LOCKS=0), asked at once: the snapshot is on the way to the first evaluation.
    const [ls, head, status, refs] = await Promise.all([
      git(['ls-files', '-z', '--cached', '--others']),
      git(['rev-parse', 'HEAD']),
      git(['status', '--porcelain=v1', '--untracked-files=all', '--ignored']),
      git(['for-each-ref']),
    ]);
    listed = ls.startsWith('0:')
      ? ls
          .slice(2)
          .split('\0')
          .filter((f) => f !== '')
      : [];
    Object.assign(state, { head, status, refs });
    const gitDir = path.join(dir, '.git');
    const meta: string[] = [];
    for (const sub of ['hooks', 'info']) walk(gitDir, sub, meta, false);
    for (const f of ['config', ...meta]) state[`.git/${f}`] = digest(path.join(gitDir, f));
  } else {
    walk(dir, '', listed, false);
  }
  const truncated = listed.length > MAX_FILES;
  const files = new Map(listed.slice(0, MAX_FILES).map((f) => [f, digest(path.join(dir, f))]));
  return { files, git: state, truncated };
}

/** What changed, one line each (at most 10 paths named); [] when nothing did. */
export function compareWorkspace(before: WorkspaceSnapshot, after: WorkspaceSnapshot): string[] {
  const changed: string[] = [];
  for (const [f, h] of before.files)
    if (after.files.get(f) !== h) changed.push(after.files.has(f) ? f : `${f} (removed)`);
  for (const f of after.files.keys()) if (!before.files.has(f)) changed.push(`${f} (new)`);
  // A changed file changes `git status` too: the status counts alone only when no file changed (a `git add`).
  const gitChanged = Object.keys({ ...before.git, ...after.git }).filter(
    (k) => before.git[k] !== after.git[k] && !(k === 'status' && changed.length),
  );
  const out: string[] = [];
  if (changed.length) {
    out.push(
      `the workspace changed during the run: ${changed.length} file(s) (${changed.slice(0, 10).join(', ')}${changed.length > 10 ? ', …' : ''}); a build wrote into the verified repository`,
    );
  }
  if (gitChanged.length)
    out.push(
      `the workspace's git state changed during the run (${gitChanged.join(', ')}); a build wrote into the verified repository`,
    );
  if (before.truncated || after.truncated)
    out.push(
      `the workspace has more than ${MAX_FILES} files: only the first ${MAX_FILES} were compared before and after the builds`,
    );
  return out;
}
