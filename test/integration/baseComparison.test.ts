// The no-drop check and the runtime diff against a real base commit, with real
// Nix in both modes: the rows of history.mutations.json (a pre-refactor commit,
// then the refactor with the row's change), and Drone's defaults on a
// pull-request clone laid out as drone-git makes it. The workspace is left
// byte-identical: the base is read out of the repository, never checked out in it.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { historyMutations, makeFixture, removeFixture } from '../fixtures/make-fixture.mjs';
import { failingChecks, mainJs, runCli, snapshotWorkspace } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-history-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const rows = Object.entries(historyMutations).map(([name, row]) => ({ name, row }));

describe.each(rows)('history row $name', ({ name, row }) => {
  const out = path.join(work, name);
  let dir = out;
  beforeAll(() => {
    dir = makeFixture(out, { mutation: name, history: true, salt: randomBytes(8).toString('hex') }).dir;
  });
  afterAll(() => removeFixture(out));

  test.each(['build', 'eval'])(`%s mode: ${row.description}`, (mode) => {
    const before = snapshotWorkspace(dir);
    const run = runCli({ flake: dir, mode, base: row.base });
    if (row.expect.exit !== undefined) {
      expect(run.code).toBe(row.expect.exit);
      for (const s of row.expect.stderr ?? []) expect(run.stderr).toContain(s);
      expect(snapshotWorkspace(dir)).toEqual(before);
      return;
    }
    expect(run.report).toBeDefined();
    const noDrop = run.report!.checks.find((c) => c.id === 'no-drop')!;
    expect(noDrop.status).toBe(row.expect.noDrop);
    expect(failingChecks(run.report)).toEqual([...(row.expect.failing ?? [])].sort());
    for (const s of row.expect.summary ?? []) expect(noDrop.summary).toContain(s);
    for (const s of row.expect.evidence ?? []) expect(noDrop.evidence.some((e) => e.startsWith(s))).toBe(true);
    for (const s of row.expect.diff ?? []) {
      expect(noDrop.summary).toContain(s);
      expect(run.stdout).toContain(s);
    }
    if (row.expect.noDrop !== 'error') expect(run.report!.runtimeDiff?.base.source).toBe('the base setting');
    expect(run.code).toBe(failingChecks(run.report).length ? 1 : 0);
    expect(snapshotWorkspace(dir)).toEqual(before);
  });
});

describe('no base', () => {
  const out = path.join(work, 'nobase');
  let dir = out;
  beforeAll(() => {
    dir = makeFixture(out, { history: true, salt: randomBytes(8).toString('hex') }).dir;
  });
  afterAll(() => removeFixture(out));

  test('a CLI run without --base compares nothing, says so, and passes', () => {
    const run = runCli({ flake: dir, mode: 'eval', checks: 'no-drop,host-parity' });
    expect(run.code).toBe(0);
    const noDrop = run.report!.checks.find((c) => c.id === 'no-drop')!;
    expect(noDrop.status).toBe('skip');
    expect(noDrop.summary).toContain('no base revision given');
    expect(run.report!.runtimeDiff).toBeUndefined();
  });
});

/** drone-git's pull-request clone: fetch the target branch, check it out, fetch the change's ref, merge the change's commit. */
function droneMergeClone(origin: string, into: string, target: string, ref: string, sha: string): void {
  const git = (...args: string[]): string => {
    const r = spawnSync('git', ['-c', 'protocol.file.allow=always', ...args], {
      cwd: into,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'drone',
        GIT_AUTHOR_EMAIL: 'drone@localhost',
        GIT_COMMITTER_NAME: 'drone',
        GIT_COMMITTER_EMAIL: 'drone@localhost',
      },
    });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  spawnSync('mkdir', ['-p', into]);
  git('init', '-q');
  git('remote', 'add', 'origin', origin);
  git('fetch', '-q', 'origin', `+refs/heads/${target}:`);
  git('checkout', '-q', '-b', target, 'FETCH_HEAD');
  git('fetch', '-q', 'origin', `${ref}:`);
  git('merge', '-q', '--no-edit', sha);
}

describe('Drone defaults', () => {
  const out = path.join(work, 'drone');
  let origin = out;
  let pr = '';
  let targetTip = '';
  let refactor = '';
  const clone = path.join(work, 'drone-clone');
  beforeAll(() => {
    origin = makeFixture(out, { history: true, salt: randomBytes(8).toString('hex') }).dir;
    const git = (...args: string[]): string => spawnSync('git', args, { cwd: origin, encoding: 'utf8' }).stdout.trim();
    // The change is a branch off the pre-refactor commit; main moved on meanwhile (a merge, not a fast-forward).
    refactor = git('rev-parse', 'HEAD');
    git('branch', '-q', 'feature', refactor);
    git('reset', '-q', '--hard', 'HEAD~1');
    writeFileSync(path.join(origin, 'NOTES.md'), 'main moved on\n');
    git('add', 'NOTES.md');
    spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'main: notes'], { cwd: origin });
    targetTip = git('rev-parse', 'HEAD');
    droneMergeClone(origin, clone, 'main', 'refs/heads/feature', refactor);
    spawnSync('git', ['-c', 'protocol.file.allow=always', 'submodule', '-q', 'update', '--init'], { cwd: clone });
    pr = clone;
  });
  afterAll(() => {
    removeFixture(out);
    rmSync(clone, { recursive: true, force: true });
  });

  test.each(['build', 'eval'])(
    '%s mode: a pull_request build compares with the target branch tip the clone merged into',
    (mode) => {
      const before = snapshotWorkspace(pr);
      const run = runCli(
        { flake: pr, mode, checks: 'no-drop' },
        {
          env: {
            DRONE: 'true',
            DRONE_BUILD_EVENT: 'pull_request',
            DRONE_COMMIT_SHA: refactor,
            DRONE_COMMIT_BRANCH: 'main',
            DRONE_COMMIT_REF: 'refs/heads/feature',
          },
        },
      );
      expect(run.code).toBe(0);
      expect(run.report!.runtimeDiff!.base.commit).toBe(targetTip);
      expect(run.report!.runtimeDiff!.base.source).toContain('HEAD^1');
      expect(run.stdout).toContain('added git-lfs-3.6.1, openssl-3.3.3 for the Drone step "recipe-test" on cc-ci');
      expect(snapshotWorkspace(pr)).toEqual(before);
    },
  );

  test('a push build compares with DRONE_COMMIT_BEFORE', () => {
    const run = runCli(
      { flake: pr, mode: 'eval', checks: 'no-drop' },
      { env: { DRONE: 'true', DRONE_BUILD_EVENT: 'push', DRONE_COMMIT_BEFORE: targetTip, DRONE_COMMIT_SHA: refactor } },
    );
    expect(run.code).toBe(0);
    expect(run.report!.runtimeDiff!.base).toEqual({
      rev: targetTip,
      commit: targetTip,
      source: 'DRONE_COMMIT_BEFORE (push)',
    });
  });

  test('a push that opens a branch (DRONE_COMMIT_BEFORE all zeros) compares nothing and says so', () => {
    const run = runCli(
      { flake: pr, mode: 'eval', checks: 'no-drop,host-parity' },
      { env: { DRONE: 'true', DRONE_BUILD_EVENT: 'push', DRONE_COMMIT_BEFORE: '0'.repeat(40) } },
    );
    expect(run.code).toBe(0);
    const noDrop = run.report!.checks.find((c) => c.id === 'no-drop')!;
    expect(noDrop.status).toBe('skip');
    expect(noDrop.summary).toContain('all zeros');
  });
});

describe('a retired consumer', () => {
  const out = path.join(work, 'retired');
  let dir = out;
  beforeAll(() => {
    dir = makeFixture(out, { mutation: 'step-renamed', history: true, salt: randomBytes(8).toString('hex') }).dir;
  });
  afterAll(() => removeFixture(out));

  test('the spec lists it under `retired`: gone at head is no failure, and the renamed step is new', () => {
    const printed = spawnSync(process.execPath, [mainJs, '--print-spec'], { encoding: 'utf8' }).stdout;
    const spec = path.join(work, 'retired-spec.yml');
    writeFileSync(spec, `${printed}\nretired: [drone:recipe-test]\n`);
    const run = runCli({ flake: dir, mode: 'eval', base: 'HEAD~1', spec });
    const noDrop = run.report!.checks.find((c) => c.id === 'no-drop')!;
    expect(noDrop.status).toBe('pass');
    expect(noDrop.evidence).toContain('  retired by the spec: not a failure');
    expect(noDrop.summary).toContain('new: the Drone step "recipe-suite" on cc-ci');
  });
});

describe('ops-lab (a runner service, a timer job, a derivation consumer; its own spec)', () => {
  const out = path.join(work, 'ops-lab');
  let dir = out;
  beforeAll(() => {
    dir = makeFixture(out, { fixture: 'ops-lab', salt: randomBytes(8).toString('hex') }).dir;
  });
  afterAll(() => removeFixture(out));

  test.each(['build', 'eval'])(
    '%s mode: base = head: every consumer unchanged, the runner service included',
    (mode) => {
      const run = runCli({ flake: dir, mode, base: 'HEAD' });
      const noDrop = run.report!.checks.find((c) => c.id === 'no-drop')!;
      expect(noDrop.status).toBe('pass');
      expect(noDrop.summary).toContain('no change against HEAD');
      const consumers = run.report!.runtimeDiff!.consumers;
      expect(consumers.length).toBeGreaterThan(1);
      expect(consumers.every((c) => c.status === 'same')).toBe(true);
      expect(consumers.some((c) => /runner's jobs/.test(c.label))).toBe(true);
      // The backup job runs lab-run (`exec "$@"`): its runtime is lab-run's PATH, restic included.
      expect(consumers.find((c) => c.label.startsWith('the backup service'))!.atHead).toEqual(
        expect.arrayContaining(['restic-0.17.3', 'lab-run']),
      );
    },
  );
});

describe('ops-lab, a consumer on some hosts only (hosts: [lab] on the backup; a second machine lab2)', () => {
  const out = path.join(work, 'ops-lab-hosts');
  let dir = out;
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', ...args], { cwd: dir });
  const edit = (file: string, find: string, replace: string) => {
    const text = readFileSync(path.join(dir, file), 'utf8');
    if (!text.includes(find)) throw new Error(`${file} has no ${JSON.stringify(find)}`);
    writeFileSync(path.join(dir, file), text.replace(find, replace));
  };
  const LAB2 = 'nix/machines/lab2.nix';
  const SPEC = '.nixenv-verify.yml';
  /** A commit where lab2 also imports the backup; `claimed`: the spec then has the backup on every host. */
  const backupOnLab2 = (claimed: boolean) => {
    edit(LAB2, '    ../ci-runner.nix\n', '    ../ci-runner.nix\n    ../backup.nix\n');
    if (claimed) edit(SPEC, '    hosts: [lab]\n', '');
    git('commit', '-qam', 'lab2 runs the backup too');
  };
  beforeEach(() => {
    dir = makeFixture(out, {
      fixture: 'ops-lab',
      mutation: 'hosts-backup-on-one-host',
      salt: randomBytes(8).toString('hex'),
    }).dir;
  });
  afterEach(() => removeFixture(out));
  const noDrop = (mode: string) => {
    const run = runCli({ flake: dir, mode, base: 'HEAD~1' });
    return { check: run.report!.checks.find((c) => c.id === 'no-drop')!, diff: run.report!.runtimeDiff };
  };

  test.each(['build', 'eval'])(
    '%s mode: the change narrows the backup to hosts: [lab] and removes it from lab2: no-drop fails',
    (mode) => {
      backupOnLab2(true);
      edit(SPEC, '    module_execs_program: true\n', '    module_execs_program: true\n    hosts: [lab]\n');
      edit(LAB2, '    ../backup.nix\n', '');
      git('commit', '-qam', 'the backup on lab only');
      const { check } = noDrop(mode);
      expect(check.status).toBe('fail');
      expect(check.summary).toMatch(
        /the backup service \(lab-backup\.service\) on lab2 is gone at head \(backup on lab2: not on its hosts \(lab\)\)/,
      );
    },
    600_000,
  );
  test.each(['build', 'eval'])(
    '%s mode: harmless twin: the spec never claimed the backup on lab2, lab2 stops running it: no-drop passes',
    (mode) => {
      backupOnLab2(false);
      edit(LAB2, '    ../backup.nix\n', '');
      git('commit', '-qam', 'lab2 stops the backup');
      const { check, diff } = noDrop(mode);
      expect(check.status).toBe('pass');
      expect(diff!.consumers.map((c) => `${c.consumer}@${c.host}: ${c.status}`).sort()).toEqual([
        'backup@lab: same',
        'github-runner@lab2: same',
        'github-runner@lab: same',
        'system-packages@lab2: same',
        'system-packages@lab: same',
      ]);
    },
    600_000,
  );
  test('eval mode: the narrowing, with retired: [backup@lab2]: no-drop passes, saying so', () => {
    backupOnLab2(true);
    edit(SPEC, '    module_execs_program: true\n', '    module_execs_program: true\n    hosts: [lab]\n');
    writeFileSync(path.join(dir, SPEC), `${readFileSync(path.join(dir, SPEC), 'utf8')}retired: [backup@lab2]\n`);
    edit(LAB2, '    ../backup.nix\n', '');
    git('commit', '-qam', 'the backup on lab only, retired on lab2');
    const { check } = noDrop('eval');
    expect(check.status).toBe('pass');
    expect(check.evidence).toEqual(expect.arrayContaining(['  retired by the spec: not a failure']));
  }, 600_000);
});
