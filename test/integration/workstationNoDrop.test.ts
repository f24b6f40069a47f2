// no-drop on the workstation fixture (real Nix, both modes): a user service and a dev shell have runtimes
// compared with the base revision like any other consumer. A head commit that drops rsync from the shared list
// (and from the spec) fails for both; one that only reorders the list passes.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeFixture, removeFixture } from '../fixtures/make-fixture.mjs';
import { runCli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-ws-nodrop-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const git = (dir: string, ...args: string[]): void => {
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', ...args], { cwd: dir, stdio: 'pipe' });
};
const edit = (dir: string, file: string, find: string, replace: string): void => {
  const text = readFileSync(path.join(dir, file), 'utf8');
  expect(text).toContain(find);
  writeFileSync(path.join(dir, file), text.replace(find, replace));
};

describe.each([
  {
    name: 'rsync dropped from wsTools',
    change: (dir: string) => {
      edit(dir, 'nix/toolbox.nix', 'git rsync restic', 'git restic');
      edit(dir, '.nixenv-verify.yml', 'rsync-3.4.1, ', '');
      edit(dir, '.nixenv-verify.yml', 'required_programs: [git, rsync]', 'required_programs: [git]');
    },
    status: 'fail',
    dropped: [
      'the sync user service (ws-sync.service) on ws dropped rsync-3.4.1',
      'the dev-shell dev shell (devShells.x86_64-linux.default) dropped rsync-3.4.1',
    ],
  },
  {
    name: 'wsTools reordered (harmless)',
    change: (dir: string) => edit(dir, 'nix/toolbox.nix', 'git rsync restic', 'rsync git restic'),
    status: 'pass',
    dropped: [],
  },
])('$name', ({ name, change, status, dropped }) => {
  const out = path.join(work, name.replace(/\W+/g, '-'));
  let dir = out;
  beforeAll(() => {
    dir = makeFixture(out, { fixture: 'workstation', salt: randomBytes(8).toString('hex') }).dir;
    change(dir);
    git(dir, 'commit', '-qam', name);
  }, 300_000);
  afterAll(() => removeFixture(out));

  test.each(['build', 'eval'])(
    `%s mode: no-drop is ${status}`,
    (mode) => {
      const run = runCli({ flake: dir, mode, base: 'HEAD~1' });
      const noDrop = run.report!.checks.find((c) => c.id === 'no-drop')!;
      expect(noDrop.status).toBe(status);
      for (const d of dropped) expect(noDrop.summary).toContain(d);
    },
    600_000,
  );
});
