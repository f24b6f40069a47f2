// Same input, same report: two runs of one commit give byte-identical reports
// (JSON and the console verdict) apart from timings (durations, the start time),
// in both modes. The propagation canary
// is drawn at random for each run (issue 16) and masked in every output; evidence
// quotes Nix's build-log lines without the `<drv>> ` prefix, which depends on
// whether this run or an earlier one ran the builder (issue 19).
//
// Every row of the mutation table already runs twice per mode in mutations.test.ts (the built-in spec and
// the printed one) with byte-identical masked reports. Here, by default, the rows where Nix's own output
// varies (collision warnings and errors, a build log, an uninitialised submodule) are run twice and the
// console is compared too; NV_DETERMINISM_ROWS=all runs the whole table, NV_DETERMINISM_ROWS=a,b those rows.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES, makeFixture, removeFixture } from '../fixtures/make-fixture.mjs';
import { maskedReport, runCli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-determinism-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const masked = (report: unknown): string => maskedReport(report);
/** The console verdict with its timings masked, as maskedReport does for the JSON. */
const maskedConsole = (text: string): string =>
  text
    .replace(/\b\d+(\.\d+)?s\b/g, '<s>')
    .replace(/nixenv-verify-propagation-[A-Za-z0-9]+/g, 'nixenv-verify-propagation-<tmp>');

const DEFAULT_ROWS = ['base', 'drop-git-lfs', 'collision-warning', 'collision-error', 'clone-uninit-submodule'];
const asked = process.env.NV_DETERMINISM_ROWS ?? '';
const only = asked === 'all' ? [] : (asked ? asked.split(',') : DEFAULT_ROWS).filter(Boolean);
const rows = Object.keys(FIXTURES['cc-ci'].mutations).filter((name) => !only.length || only.includes(name));

test('the row filter names known rows', () => {
  expect(only.filter((n) => !(n in FIXTURES['cc-ci'].mutations))).toEqual([]);
  expect(rows.length).toBeGreaterThan(0);
});

describe.each(rows)('mutation %s', (mutation) => {
  const base = path.join(work, mutation);
  let dir = base;
  beforeAll(() => {
    // A fresh salt: a new tree hash, so no fetcher or eval cache answers for the first run either.
    dir = makeFixture(base, { mutation, salt: randomBytes(8).toString('hex') }).dir;
  });
  afterAll(() => removeFixture(base));

  test.each(['build', 'eval'])('%s mode: two runs give the same report and console verdict', (mode) => {
    const first = runCli({ flake: dir, mode });
    const second = runCli({ flake: dir, mode });
    expect(first.report).toBeDefined();
    expect(second.code).toBe(first.code);
    expect(masked(second.report)).toBe(masked(first.report));
    expect(maskedConsole(second.stdout)).toBe(maskedConsole(first.stdout));
    const propagation = first.report!.checks.find((c) => c.id === 'propagation');
    if (mutation === 'base' || mutation === 'drop-git-lfs' || propagation?.status === 'pass')
      expect(propagation!.evidence[0]).toMatch(/appended canary <canary> to /);
  });
});
