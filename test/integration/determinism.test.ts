// Same input, same report: two runs of one commit give byte-identical reports
// apart from timings (durations, the start time). The propagation canary is
// drawn at random for each run (issue 16) and masked in every output.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeFixture, removeFixture } from '../fixtures/make-fixture.mjs';
import { maskedReport, runCli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-determinism-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const masked = (report: unknown): string => maskedReport(report);

describe.each(['build', 'eval'])('%s mode', (mode) => {
  test.each(['base', 'drop-git-lfs'])('%s: two runs give the same report', (mutation) => {
    const base = path.join(work, `${mode}-${mutation}`);
    const { dir } = makeFixture(base, { mutation, salt: randomBytes(8).toString('hex') });
    try {
      const first = runCli({ flake: dir, mode });
      const second = runCli({ flake: dir, mode });
      expect(first.report).toBeDefined();
      expect(masked(second.report)).toBe(masked(first.report));
      expect(first.report!.checks.find((c) => c.id === 'propagation')!.evidence[0]).toMatch(/appended canary <canary> to ccciRuntimeTools/);
    } finally {
      removeFixture(base);
    }
  });
});
