// no-drop on the agents fixture: a runner whose job shell is the claim's program has the program's final PATH
// as its jobs' runtime, so moving the wrapper from the runner's PATH into its job shell drops nothing, and moving
// it out again (plain bash, no wrapper on the PATH) drops the tool list. Both modes, real Nix.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeFixture, removeFixture } from '../fixtures/make-fixture.mjs';
import { runCli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-job-shell-nodrop-'));
let dir = '';
const WRAPPER_SHELL = 'shell="${pkgs.ci-run}/bin/ci-run bash -e -c"';
const BASH_SHELL = 'shell="${pkgs.bash}/bin/bash -e -c"';
const commit = (message: string, edit: (t: string) => string): void => {
  const file = path.join(dir, 'nix', 'agent.nix');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', 'commit', '-qam', message], { cwd: dir });
};
beforeAll(() => {
  // Base: plain bash with ci-run on the agent's PATH; HEAD~1: ci-run as the job shell; HEAD: plain bash, no ci-run.
  dir = makeFixture(path.join(work, 'agents'), { fixture: 'agents', mutation: 'shell-plain-bash-wrapper-on-path' }).dir;
  commit('ci-run as the job shell', (t) =>
    t.replace(BASH_SHELL, WRAPPER_SHELL).replace('    path = [ pkgs.ci-run ];\n', ''),
  );
  commit('plain bash again, without ci-run', (t) => t.replace(WRAPPER_SHELL, BASH_SHELL));
}, 300_000);
afterAll(() => {
  removeFixture(path.join(work, 'agents'));
  rmSync(work, { recursive: true, force: true });
});

const noDrop = (mode: string, base: string, head?: string) => {
  if (head) execFileSync('git', ['checkout', '-q', head], { cwd: dir });
  try {
    const run = runCli({ flake: dir, mode, base });
    return run.report?.checks.find((c) => c.id === 'no-drop');
  } finally {
    if (head) execFileSync('git', ['checkout', '-q', '-'], { cwd: dir });
  }
};

describe.each(['build', 'eval'])('%s mode', (mode) => {
  test('the wrapper moves from the PATH into the job shell: nothing dropped', () => {
    const c = noDrop(mode, 'HEAD~1', 'HEAD~1');
    expect(c?.status).toBe('pass');
    expect(c?.summary).toMatch(/dropped: none/);
  }, 300_000);
  test('the job shell goes back to plain bash without the wrapper: the tool list is dropped', () => {
    const c = noDrop(mode, 'HEAD~1');
    expect(c?.status).toBe('fail');
    expect(c?.summary).toMatch(/buildkite runner's jobs .* dropped ci-run/);
  }, 300_000);
});
