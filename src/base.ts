// The base revision a run compares with (the `no-drop` check, the runtime diff),
// and its files, read out of the repository without changing it.
//
// Inputs, in the order they are read:
// - the `base` setting (`--base REV`, PLUGIN_BASE): any revision `git rev-parse` takes. Implemented.
// - Drone, when `base` is unset (drone-git's clone scripts; FACTS.md "Drone"):
//   - DRONE_BUILD_EVENT=pull_request: the default clone fetches DRONE_COMMIT_BRANCH, checks it out,
//     fetches the change's ref and runs `git merge DRONE_COMMIT_SHA`. The base is the target branch
//     tip that merge started from: HEAD's first parent when HEAD is a merge commit whose other parent
//     is DRONE_COMMIT_SHA; else ORIG_HEAD, which `git merge` sets in both cases (a fast-forward
//     leaves no merge commit). Implemented; neither found is an error asking for `base`.
//   - DRONE_BUILD_EVENT=push: DRONE_COMMIT_BEFORE, unless empty or all zeros (a new branch has no
//     previous head: nothing is compared, and the run says so). Implemented.
//   - any other event (tag, cron, promote, custom): nothing is compared, and the run says so.
// - A base the clone does not hold (a shallow clone, `clone: depth:`): exit 2 naming the depth
//   setting, never a silent skip. The verifier never fetches.
//
// Files of the base: `git archive REV` written to a file in a 0700 temp directory and unpacked
// there with tar, removed on every way out. Chosen over `git worktree` (writes .git/worktrees and
// locks), `git checkout --work-tree` (writes the index) and Nix's `git+file://…?rev=` (Nix 2.8 then
// clones into its cache, needs `allRefs` for revisions off HEAD's ref, and with submodules=1 clones
// them from their .gitmodules URLs, possibly from the network): archive only reads objects. With
// GIT_OPTIONAL_LOCKS=0 no git call here takes a lock. Submodules (gitlinks of the base tree) are
// unpacked the same way from the submodule's own git directory (`$GIT_DIR/modules/<path>`) when it
// holds the recorded commit; otherwise the directory stays empty and a note says so. The base's
// files are still read from that copy, and with the submodules setting on, Nix evaluates the base
// commit itself (`git+file://REPO?ref=HEAD&rev=BASE&submodules=1`), fetching the submodules from
// their .gitmodules URLs into its own temporary checkout: what the verifier does for head when a
// clone has no submodules (Drone's default clone), and read-only for the repository.
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onCleanup } from './cleanup.js';
import { PreflightError } from './errors.js';
import type { CommandRunner } from './nix/command.js';

export type BaseChoice =
  /** A revision to compare with, and where it came from (the setting, Drone's push or pull request). */
  | { rev: string; commit: string; source: string }
  /** Nothing to compare with, and why. */
  | { none: string };

const ZEROS = /^0+$/;

const gitEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
  ...env,
  GIT_OPTIONAL_LOCKS: '0',
  GIT_TERMINAL_PROMPT: '0',
});

/** The revision to compare with: the setting, else Drone's defaults; a commit the clone lacks is exit 2. */
export async function chooseBase(
  runner: CommandRunner,
  repo: string,
  setting: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<BaseChoice> {
  const git = async (...args: string[]) =>
    runner('git', ['-C', repo, ...args], { env: gitEnv(env), timeoutMs: 60_000, label: 'git' });
  const verify = async (rev: string): Promise<string | undefined> => {
    const r = await git('rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`);
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  };
  const missing = async (rev: string, source: string): Promise<never> => {
    const shallow = (await git('rev-parse', '--is-shallow-repository')).stdout.trim() === 'true';
    const depth = shallow ? (await git('rev-list', '--count', 'HEAD')).stdout.trim() || '?' : undefined;
    throw new PreflightError(
      shallow
        ? `the base revision ${rev} (${source}) is not in this clone: it is shallow (${depth} commit${depth === '1' ? '' : 's'} of history); set the pipeline's \`clone: depth:\` to reach it (e.g. depth: 50), or give --base a commit the clone holds. nixenv-verify never fetches into the repository it verifies`
        : `the base revision ${rev} (${source}) is not a commit of ${repo}; give --base (PLUGIN_BASE) a revision the repository holds`,
    );
  };
  if (setting !== undefined && setting.trim() !== '') {
    const rev = setting.trim();
    const commit = await verify(rev);
    return commit ? { rev, commit, source: 'the base setting' } : missing(rev, 'the base setting');
  }
  const event = env.DRONE_BUILD_EVENT;
  if (!event) return { none: 'no base revision given (--base REV, PLUGIN_BASE): nothing is compared' };
  if (event === 'push') {
    const before = (env.DRONE_COMMIT_BEFORE ?? '').trim();
    if (before === '' || ZEROS.test(before))
      return {
        none: `a push without a previous head (DRONE_COMMIT_BEFORE ${before === '' ? 'unset' : 'is all zeros: a new branch'}): nothing is compared; set base to compare`,
      };
    const commit = await verify(before);
    return commit
      ? { rev: before, commit, source: 'DRONE_COMMIT_BEFORE (push)' }
      : missing(before, 'DRONE_COMMIT_BEFORE of this push');
  }
  if (event === 'pull_request') {
    const sha = (env.DRONE_COMMIT_SHA ?? '').trim();
    const branch = env.DRONE_COMMIT_BRANCH ?? 'the target branch';
    const head = await verify('HEAD');
    const parents = head
      ? (await git('rev-list', '--parents', '-n', '1', head)).stdout.trim().split(/\s+/).slice(1)
      : [];
    if (parents.length >= 2 && (sha === '' || parents.slice(1).some((p) => p === sha || p.startsWith(sha)))) {
      return {
        rev: parents[0],
        commit: parents[0],
        source: `the tip of ${branch} the pull request was merged into (HEAD^1 of the merge clone)`,
      };
    }
    const orig = await verify('ORIG_HEAD');
    if (orig && orig !== head)
      return {
        rev: orig,
        commit: orig,
        source: `the tip of ${branch} before the clone merged the pull request (ORIG_HEAD)`,
      };
    throw new PreflightError(
      `a pull_request build, but HEAD (${head?.slice(0, 12) ?? 'none'}) is not the merge of DRONE_COMMIT_SHA into ${branch} that Drone's default clone makes, and ORIG_HEAD is not set: set base (PLUGIN_BASE) to the target branch's commit`,
    );
  }
  return { none: `a ${event} build has no base revision by default: nothing is compared; set base to compare` };
}

export interface BaseTree {
  dir: string;
  notes: string[];
  /** Submodule paths of the base the repository does not hold (their directories are empty). */
  missingSubmodules: string[];
  remove: () => void;
}

/** The files of commit `commit` (and its submodules where the repository holds them) in a private temp directory. */
export async function materializeBase(
  runner: CommandRunner,
  repo: string,
  commit: string,
  env: NodeJS.ProcessEnv,
): Promise<BaseTree> {
  const parent = mkdtempSync(path.join(os.tmpdir(), 'nixenv-verify-base-')); // mode 0700
  const remove = onCleanup(() => rmSync(parent, { recursive: true, force: true }));
  const dir = path.join(parent, 'source');
  const notes: string[] = [];
  const missingSubmodules: string[] = [];
  const run = async (cmd: string, args: string[]): Promise<string> => {
    const r = await runner(cmd, args, { env: gitEnv(env), timeoutMs: 300_000, label: cmd });
    if (r.exitCode !== 0)
      throw new PreflightError(`${cmd} ${args.join(' ')} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
    return r.stdout;
  };
  const unpack = async (gitArgs: string[], rev: string, into: string, tag: string): Promise<void> => {
    const tar = path.join(parent, `${tag}.tar`);
    mkdirSync(into, { recursive: true });
    await run('git', [...gitArgs, 'archive', '--format=tar', '-o', tar, rev]);
    await run('tar', ['-xf', tar, '-C', into]);
    rmSync(tar, { force: true });
  };
  try {
    await unpack(['-C', repo], commit, dir, 'base');
    const gitDir = (await run('git', ['-C', repo, 'rev-parse', '--absolute-git-dir'])).trim();
    const tree = await run('git', ['-C', repo, 'ls-tree', '-r', '-z', commit]);
    const links = tree.split('\0').filter((l) => l.startsWith('160000 commit '));
    for (const [i, l] of links.entries()) {
      const [meta, sub] = l.split('\t') as [string, string];
      const subCommit = meta.split(' ')[2];
      const subGit = path.join(gitDir, 'modules', sub);
      const has =
        existsSync(subGit) &&
        (
          await runner('git', ['--git-dir', subGit, 'cat-file', '-e', `${subCommit}^{commit}`], {
            env: gitEnv(env),
            timeoutMs: 60_000,
            label: 'git',
          })
        ).exitCode === 0;
      if (has) await unpack(['--git-dir', subGit], subCommit, path.join(dir, sub), `sub${i}`);
      else {
        missingSubmodules.push(sub);
        notes.push(
          `submodule ${sub} at ${subCommit.slice(0, 12)} is not in the repository (${path.relative(repo, subGit)} lacks it): the base sees ${sub}/ empty`,
        );
      }
    }
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, notes, missingSubmodules, remove };
}
