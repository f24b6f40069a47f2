// Every fixture mutation, verified by the built CLI with real Nix in both
// modes: exit code, verdict, exactly which checks fail, and a workspace left
// byte-identical. `evalFailing` marks the defects only a build can see.
//
// cc-ci is verified by the built-in spec (the seed claim), and again by the
// spec `--print-spec` prints, read back from a file: the same verdict and the
// same evidence on every row. ops-lab, workstation, and the independent tester's gh-fleet,
// build-agents and edge (issue 18), are verified by their own .nixenv-verify.yml
// alone (found at the repository root, no settings).
//
// A row with `pending` states the correct outcome but today's product does not
// reach it yet (a consumer kind still to come): it is skipped, its reason in the
// test name, until `pending` is removed.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES, makeFixture, removeFixture } from '../fixtures/make-fixture.mjs';
import { failingChecks, mainJs, maskedReport, runCli, snapshotWorkspace } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-mutations-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The built-in spec as users get it, saved outside every fixture. */
const printedSpec = path.join(work, 'printed-spec.yml');
beforeAll(() => {
  const printed = spawnSync(process.execPath, [mainJs, '--print-spec'], { encoding: 'utf8' });
  expect(printed.status).toBe(0);
  writeFileSync(printedSpec, printed.stdout);
});

interface Row {
  name: string;
  spec: { description: string; expect: { failing: string[]; evalFailing?: string[] }; pending?: string };
}
const rowsOf = (fixture: keyof typeof FIXTURES): Row[] =>
  Object.entries(FIXTURES[fixture].mutations).map(([name, spec]) => ({ name, spec: spec }));

const ALL_FIXTURES = ['cc-ci', 'ops-lab', 'workstation', 'agents', 'gh-fleet', 'build-agents', 'edge'] as const;
// NV_MUTATION_FIXTURES (a comma list) narrows the table: the other-Nix legs (scripts/nix-versions.sh) run the
// fixtures that exercise every Nix call (cc-ci, ops-lab); the others judge the model, the same on every Nix.
const onlyFixtures = process.env.NV_MUTATION_FIXTURES?.split(',').filter(Boolean);
const fixturesRun = ALL_FIXTURES.filter((f) => !onlyFixtures || onlyFixtures.includes(f));

describe.each(fixturesRun)('%s', (fixture) => {
  const pending = rowsOf(fixture).filter((r) => r.spec.pending !== undefined);
  if (pending.length) {
    describe.each(pending)('mutation $name', ({ spec }) => {
      test.skip.each(['build', 'eval'])(
        `%s mode: ${spec.description} (pending: ${spec.pending ?? ''})`,
        () => undefined,
      );
    });
  }
  const active = rowsOf(fixture).filter((r) => r.spec.pending === undefined);
  if (!active.length) return;
  describe.each(active)('mutation $name', ({ name, spec }) => {
    // A fresh salt per run: a new tree hash, so no fetcher or eval cache can answer for it.
    const base = path.join(work, `${fixture}-${name}`);
    // makeFixture's dir: a row may add a suffix (special characters) to the directory name.
    let dir = base;
    beforeAll(() => {
      dir = makeFixture(base, { fixture, mutation: name, salt: randomBytes(8).toString('hex') }).dir;
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
      if (fixture === 'cc-ci') {
        expect(run.report!.spec).toBe('built-in');
        // The printed spec, read back: the same claim, so the same verdict, evidence and deviations (eval mode is one).
        const again = runCli({ flake: dir, mode, spec: printedSpec });
        expect(again.code).toBe(run.code);
        expect(again.report!.spec).toBe(printedSpec);
        expect(again.report!.deviations).toEqual(run.report!.deviations);
        expect(maskedReport(again.report, { ignore: ['spec'] })).toBe(maskedReport(run.report, { ignore: ['spec'] }));
      } else {
        expect(run.report!.spec).toBe('.nixenv-verify.yml');
        expect(run.stdout).toContain('spec: .nixenv-verify.yml');
      }
      expect(snapshotWorkspace(dir)).toEqual(before);
    });
  });
});
