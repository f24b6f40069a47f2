// Which revision a run compares with, on real git repositories: the setting,
// Drone's push and pull_request defaults on clones laid out as drone-git makes
// them, a shallow clone that lacks the base (exit 2 naming `clone: depth:`), and
// the base's files read out without changing the repository.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chooseBase, materializeBase } from '../../src/base.js';
import { PreflightError } from '../../src/errors.js';
import { zxRunner } from '../../src/nix/command.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-base-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@t',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@t',
};
function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', ['-c', 'init.defaultBranch=main', '-c', 'protocol.file.allow=always', ...args], {
    cwd,
    env: gitEnv,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}
function commit(repo: string, file: string, text: string): string {
  writeFileSync(path.join(repo, file), text);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', file);
  return git(repo, 'rev-parse', 'HEAD');
}

/** origin: main = A, B; feature = A, F (branched off A). */
const origin = path.join(work, 'origin');
let A = '';
let B = '';
let F = '';
beforeAll(() => {
  mkdirSync(origin);
  git(origin, 'init', '-q');
  A = commit(origin, 'a.txt', 'a\n');
  git(origin, 'checkout', '-q', '-b', 'feature');
  F = commit(origin, 'f.txt', 'f\n');
  git(origin, 'checkout', '-q', 'main');
  B = commit(origin, 'b.txt', 'b\n');
});

/** drone-git's pull-request clone: fetch the target branch, check it out, fetch the change's ref, merge its commit. */
function prClone(name: string, target: string, ref: string, sha: string, depth?: number): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  git(dir, 'init', '-q');
  git(dir, 'remote', 'add', 'origin', `file://${origin}`);
  git(dir, 'fetch', '-q', ...(depth ? [`--depth=${depth}`] : []), 'origin', `+refs/heads/${target}:`);
  git(dir, 'checkout', '-q', '-b', target, 'FETCH_HEAD');
  git(dir, 'fetch', '-q', ...(depth ? [`--depth=${depth}`] : []), 'origin', `${ref}:`);
  git(dir, 'merge', '-q', '--no-edit', sha);
  return dir;
}
/** drone-git's push clone: fetch the branch (at a depth), check out the commit. */
function pushClone(name: string, branch: string, sha: string, depth?: number): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  git(dir, 'init', '-q');
  git(dir, 'remote', 'add', 'origin', `file://${origin}`);
  git(dir, 'fetch', '-q', ...(depth ? [`--depth=${depth}`] : []), 'origin', `+refs/heads/${branch}:`);
  git(dir, 'checkout', '-q', sha);
  return dir;
}

describe('chooseBase', () => {
  test('the setting: any revision, resolved to its commit', async () => {
    const dir = pushClone('setting', 'main', B);
    await expect(chooseBase(zxRunner, dir, 'HEAD~1', {})).resolves.toEqual({
      rev: 'HEAD~1',
      commit: A,
      source: 'the base setting',
    });
  });

  test('no setting outside Drone: nothing is compared, and the reason says how to compare', async () => {
    const dir = pushClone('cli', 'main', B);
    await expect(chooseBase(zxRunner, dir, undefined, {})).resolves.toEqual({
      none: 'no base revision given (--base REV, PLUGIN_BASE): nothing is compared',
    });
  });

  test('pull_request on a merge clone: the target branch tip, HEAD^1', async () => {
    const dir = prClone('pr-merge', 'main', 'refs/heads/feature', F);
    const env = {
      DRONE_BUILD_EVENT: 'pull_request',
      DRONE_COMMIT_SHA: F,
      DRONE_COMMIT_BRANCH: 'main',
      DRONE_COMMIT_REF: 'refs/heads/feature',
    };
    const got = await chooseBase(zxRunner, dir, undefined, env);
    expect(got).toMatchObject({ rev: B, commit: B });
    expect((got as { source: string }).source).toContain('HEAD^1');
    // The setting wins over Drone's default.
    await expect(chooseBase(zxRunner, dir, A, env)).resolves.toMatchObject({ commit: A, source: 'the base setting' });
  });

  test('pull_request merged by fast-forward (the target did not move): ORIG_HEAD, the tip before the merge', async () => {
    // A change branched off B: merging it into main (at B) is a fast-forward.
    git(origin, 'checkout', '-q', '-b', 'ff', B);
    const G = commit(origin, 'g.txt', 'g\n');
    git(origin, 'checkout', '-q', 'main');
    const dir = prClone('pr-ff', 'main', 'refs/heads/ff', G);
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(G);
    const got = await chooseBase(zxRunner, dir, undefined, {
      DRONE_BUILD_EVENT: 'pull_request',
      DRONE_COMMIT_SHA: G,
      DRONE_COMMIT_BRANCH: 'main',
    });
    expect(got).toMatchObject({ commit: B });
    expect((got as { source: string }).source).toContain('ORIG_HEAD');
  });

  test('push: DRONE_COMMIT_BEFORE', async () => {
    const dir = pushClone('push', 'main', B);
    await expect(
      chooseBase(zxRunner, dir, undefined, { DRONE_BUILD_EVENT: 'push', DRONE_COMMIT_BEFORE: A, DRONE_COMMIT_SHA: B }),
    ).resolves.toEqual({ rev: A, commit: A, source: 'DRONE_COMMIT_BEFORE (push)' });
  });

  test.each([
    ['all zeros (a new branch)', { DRONE_BUILD_EVENT: 'push', DRONE_COMMIT_BEFORE: '0'.repeat(40) }, 'all zeros'],
    ['unset', { DRONE_BUILD_EVENT: 'push' }, 'DRONE_COMMIT_BEFORE unset'],
    ['a tag build', { DRONE_BUILD_EVENT: 'tag' }, 'a tag build has no base revision'],
  ])(
    'push with DRONE_COMMIT_BEFORE %s, or another event: nothing is compared, and it says why',
    async (_, env, words) => {
      const dir = path.join(work, 'push');
      const got = await chooseBase(zxRunner, dir, undefined, env);
      expect('none' in got && got.none).toContain(words);
    },
  );

  test('a shallow push clone (clone: depth: 1) lacks DRONE_COMMIT_BEFORE: exit 2 naming the depth setting', async () => {
    const dir = pushClone('shallow', 'main', B, 1);
    const run = chooseBase(zxRunner, dir, undefined, { DRONE_BUILD_EVENT: 'push', DRONE_COMMIT_BEFORE: A });
    await expect(run).rejects.toBeInstanceOf(PreflightError);
    await expect(run).rejects.toThrow(
      /is not in this clone: it is shallow \(1 commit of history\); set the pipeline's `clone: depth:`/,
    );
    // --base likewise
    await expect(chooseBase(zxRunner, dir, 'HEAD~1', {})).rejects.toThrow(/clone: depth:/);
  });

  test('a revision the (full) repository does not have: exit 2 naming the setting', async () => {
    const dir = path.join(work, 'setting');
    await expect(chooseBase(zxRunner, dir, 'no-such-branch', {})).rejects.toThrow(
      'the base revision no-such-branch (the base setting) is not a commit of',
    );
  });
});

describe('materializeBase', () => {
  test("the base commit's files in a private temp dir, submodules at their recorded commit; the repository untouched", async () => {
    // A superproject with a submodule whose recorded commit the repository holds in .git/modules.
    const sub = path.join(work, 'sub');
    mkdirSync(sub);
    git(sub, 'init', '-q');
    const s1 = commit(sub, 'keys.nix', 'old\n');
    commit(sub, 'keys.nix', 'new\n');
    const sup = path.join(work, 'sup');
    mkdirSync(sup);
    git(sup, 'init', '-q');
    writeFileSync(path.join(sup, 'flake.nix'), 'base\n');
    git(sup, 'submodule', 'add', '-q', `file://${sub}`, 'secrets');
    git(path.join(sup, 'secrets'), 'checkout', '-q', s1);
    git(sup, 'add', '-A');
    git(sup, 'commit', '-qm', 'base');
    const baseCommit = git(sup, 'rev-parse', 'HEAD');
    writeFileSync(path.join(sup, 'flake.nix'), 'head\n');
    git(path.join(sup, 'secrets'), 'checkout', '-q', 'main');
    git(sup, 'add', '-A');
    git(sup, 'commit', '-qm', 'head');
    const status = git(sup, 'status', '--porcelain', '--ignored');
    const gitFiles = spawnSync('find', ['.git', '-newer', path.join(sup, '.git', 'HEAD')], {
      cwd: sup,
      encoding: 'utf8',
    }).stdout;

    const tree = await materializeBase(zxRunner, sup, baseCommit, {});
    expect(readFileSync(path.join(tree.dir, 'flake.nix'), 'utf8')).toBe('base\n');
    expect(readFileSync(path.join(tree.dir, 'secrets', 'keys.nix'), 'utf8')).toBe('old\n');
    expect(tree.notes).toEqual([]);
    expect(statSync(path.dirname(tree.dir)).mode & 0o777).toBe(0o700);
    expect(existsSync(path.join(tree.dir, '.git'))).toBe(false);
    // Nothing in the repository changed: work tree, index, refs.
    expect(readFileSync(path.join(sup, 'flake.nix'), 'utf8')).toBe('head\n');
    expect(git(sup, 'status', '--porcelain', '--ignored')).toBe(status);
    expect(
      spawnSync('find', ['.git', '-newer', path.join(sup, '.git', 'HEAD')], { cwd: sup, encoding: 'utf8' }).stdout,
    ).toBe(gitFiles);
    tree.remove();
    expect(existsSync(path.dirname(tree.dir))).toBe(false);
  });

  test('a submodule the repository does not hold: an empty directory and a note', async () => {
    const clone = path.join(work, 'sup-clone');
    git(work, 'clone', '-q', `file://${path.join(work, 'sup')}`, clone);
    const tree = await materializeBase(zxRunner, clone, 'HEAD~1', {});
    expect(tree.notes).toEqual([
      expect.stringMatching(
        /^submodule secrets at [0-9a-f]{12} is not in the repository \(\.git\/modules\/secrets lacks it\): the base sees secrets\/ empty$/,
      ),
    ]);
    expect(existsSync(path.join(tree.dir, 'flake.nix'))).toBe(true);
    tree.remove();
  });
});
