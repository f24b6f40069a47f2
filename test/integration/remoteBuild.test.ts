// Remote builders with real Nix: a builder for another system and no local
// builds. The log repeats the same block for every derivation; the evidence
// shows it once, counted, with a hint naming the setting to change.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeFixture } from '../fixtures/make-fixture.mjs';
import { runCli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-remote-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

test('no machine for the build: "(repeated N times)" once, and the nix_options hint', () => {
  const dir = path.join(work, 'flake');
  // saltStore: every derivation is new, so something must be built.
  makeFixture(dir, { salt: randomBytes(8).toString('hex'), saltStore: randomBytes(8).toString('hex') });
  const run = runCli({
    flake: dir,
    checks: 'build',
    hosts: 'cc-ci',
    nix_options: JSON.stringify([
      '--option',
      'builders',
      'ssh://nixenv-verify-nowhere aarch64-linux',
      '--max-jobs',
      '0',
    ]),
  });
  expect(run.code).toBe(1);
  const build = run.report!.checks[0];
  expect(build.status).toBe('fail');
  const lines = build.evidence.filter((l) => l.includes('Failed to find a machine for remote build!'));
  expect(lines).toHaveLength(1);
  // However often nix repeated it (it depends on timing), it is one line: collapsed with a count when repeated.
  expect(lines[0]).toMatch(/Failed to find a machine for remote build!( \(repeated \d+ times\))?$/);
  expect(build.evidence.some((l) => l.includes('hint: ') && l.includes('nix_options'))).toBe(true);
});
