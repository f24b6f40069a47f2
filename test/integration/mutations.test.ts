// Every fixture mutation, verified by the built CLI with real Nix: exit code,
// verdict, exactly which checks fail, and a workspace left byte-identical.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHECKS } from '../../src/checks/index.js';
import { makeFixture, mutations, removeFixture } from '../fixtures/make-fixture.mjs';
import { failingChecks, runCli, snapshotWorkspace } from '../helpers/cli.js';

const known = new Set<string>(CHECKS.map((c) => c.id));
const work = mkdtempSync(path.join(os.tmpdir(), 'nv-mutations-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const rows = Object.entries(mutations).map(([name, spec]) => ({ name, spec }));

describe.each(rows)('mutation $name', ({ name, spec }) => {
  // A fresh salt per run: a new tree hash, so no fetcher or eval cache can answer for it.
  const dir = path.join(work, name);
  beforeAll(() => makeFixture(dir, { mutation: name, salt: randomBytes(8).toString('hex') }));
  afterAll(() => removeFixture(dir));

  test(`${spec.expect.verdict}: ${spec.description}`, () => {
    const before = snapshotWorkspace(dir);
    const run = runCli({ flake: dir });
    const expected = spec.expect.failing.filter((id) => known.has(id)).sort();
    expect(run.report).toBeDefined();
    expect(failingChecks(run.report)).toEqual(expected);
    const verdict = expected.length ? 'fail' : 'pass';
    expect(run.report!.verdict).toBe(verdict);
    expect(run.code).toBe(verdict === 'pass' ? 0 : 1);
    expect(run.stdout).toContain(verdict === 'pass' ? 'verdict: PASS' : 'verdict: FAIL');
    expect(snapshotWorkspace(dir)).toEqual(before);
  });
});
