// Every fixture mutation, verified by the built CLI with real Nix in both
// modes: exit code, verdict, exactly which checks fail, and a workspace left
// byte-identical. `evalFailing` marks the defects only a build can see.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeFixture, mutations, removeFixture } from '../fixtures/make-fixture.mjs';
import { failingChecks, runCli, snapshotWorkspace } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-mutations-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const rows = Object.entries(mutations).map(([name, spec]) => ({ name, spec }));

describe.each(rows)('mutation $name', ({ name, spec }) => {
  // A fresh salt per run: a new tree hash, so no fetcher or eval cache can answer for it.
  const base = path.join(work, name);
  // makeFixture's dir: a row may add a suffix (special characters) to the directory name.
  let dir = base;
  beforeAll(() => {
    dir = makeFixture(base, { mutation: name, salt: randomBytes(8).toString('hex') }).dir;
  });
  afterAll(() => removeFixture(base));

  test.each([
    ['build', [...spec.expect.failing].sort()],
    ['eval', [...(spec.expect.evalFailing ?? spec.expect.failing)].sort()],
  ])(`%s mode: ${spec.description}`, (mode, expected) => {
    const before = snapshotWorkspace(dir);
    const run = runCli({ flake: dir, mode });
    expect(run.report).toBeDefined();
    expect(failingChecks(run.report)).toEqual(expected);
    const verdict = expected.length ? 'fail' : 'pass';
    expect(run.report!.verdict).toBe(verdict);
    expect(run.report!.mode).toBe(mode);
    expect(run.code).toBe(verdict === 'pass' ? 0 : 1);
    expect(run.stdout).toContain(verdict === 'pass' ? 'verdict: PASS' : 'verdict: FAIL');
    expect(snapshotWorkspace(dir)).toEqual(before);
  });
});
