// HOW 6 and eval mode against real Nix: the canary, the temporary copy that
// always goes, and proof that eval mode builds nothing.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeFixture, removeFixture } from '../fixtures/make-fixture.mjs';
import { cliEnv, mainJs, runCli, snapshotWorkspace } from '../helpers/cli.js';
import { findOnPath } from '../../src/nix/client.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-prop-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const realNix = findOnPath('nix', process.env.PATH)!;

const fixture = (mutation = 'base', opts: { saltStore?: string } = {}): string => {
  const dir = path.join(work, `${mutation}-${randomBytes(4).toString('hex')}`);
  makeFixture(dir, { mutation, salt: randomBytes(8).toString('hex'), ...opts });
  return dir;
};

/** A PATH whose `nix` is the real one, started after a pause (to catch the run mid-way). */
function slowNixPath(seconds: number): string {
  const bin = path.join(work, `slow-nix-${seconds}`);
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    path.join(bin, 'nix'),
    `#!/bin/sh\ncase "$*" in *--version*) ;; *) sleep ${seconds} ;; esac\nexec ${realNix} "$@"\n`,
  );
  chmodSync(path.join(bin, 'nix'), 0o755);
  return `${bin}:${process.env.PATH}`;
}

const propagationDirs = (tmp: string): string[] =>
  readdirSync(tmp).filter((n) => n.startsWith('nixenv-verify-propagation-'));

describe('propagation', () => {
  test('the canary reaches the wrapper, the sweep, the Drone PATH and both hosts; the temp copy is gone', () => {
    const tmp = mkdtempSync(path.join(work, 'tmp-'));
    const dir = fixture();
    const before = snapshotWorkspace(dir);
    const run = runCli({ flake: dir, checks: 'propagation' }, { env: { TMPDIR: tmp } });
    expect(run.code).toBe(0);
    const check = run.report!.checks[0];
    expect(check.evidence[0]).toMatch(
      /^copied the flake source Nix sees \(\/nix\/store\/\S+-source\) and appended canary <canary> to ccciRuntimeTools at nix\/modules\/packages\.nix:11 /,
    );
    expect(check.evidence.filter((e) => e.includes(': has the canary'))).toHaveLength(8);
    expect(propagationDirs(tmp)).toEqual([]);
    expect(snapshotWorkspace(dir)).toEqual(before);
  });

  test('a pasted copy of the tool list fools checks 1-5 but not propagation, which names the consumers', () => {
    const run = runCli({ flake: fixture('pasted-tool-list') });
    const status = Object.fromEntries(run.report!.checks.map((c) => [c.id, c.status]));
    expect(status).toEqual({
      build: 'pass',
      'single-source': 'pass',
      'path-superset': 'pass',
      // No base revision is given: nothing to compare.
      'no-drop': 'skip',
      'entrypoint-parity': 'pass',
      'host-parity': 'pass',
      propagation: 'fail',
    });
    const check = run.report!.checks.find((c) => c.id === 'propagation')!;
    expect(check.evidence).toContain(`cc-ci: environment.systemPackages: has the canary (evaluated list)`);
    expect(
      check.evidence.some((e) =>
        /^cc-ci: cc-ci-run wrapper PATH \(nightly-sweep \+ drone\): MISSING the canary \(\/nix\/store\/\S+-cc-ci-run\)$/.test(
          e,
        ),
      ),
    ).toBe(true);
    expect(
      check.evidence.some((e) =>
        /^cc-ci-hetzner: cc-ci-nightly-sweep \(what its unit starts, and its build inputs\): MISSING the canary/.test(
          e,
        ),
      ),
    ).toBe(true);
  });

  test('no definition to edit is an error that says so', () => {
    const run = runCli({ flake: fixture(), checks: 'propagation', tools_attr: 'ccciMissingTools' });
    expect(run.code).toBe(1);
    expect(run.report!.checks[0]).toMatchObject({
      status: 'error',
      summary: expect.stringContaining('nix/modules/packages.nix: no binding of ccciMissingTools (PLUGIN_TOOLS_ATTR)'),
    });
  });

  test('a timeout is an error naming PLUGIN_TIMEOUT, and the copy is removed', () => {
    const tmp = mkdtempSync(path.join(work, 'tmp-'));
    const run = runCli(
      { flake: fixture(), checks: 'propagation', timeout: '1s' },
      { env: { TMPDIR: tmp, PATH: slowNixPath(3) } },
    );
    expect(run.code).toBe(1);
    const check = run.report!.checks[0];
    expect(['error', 'fail']).toContain(check.status);
    expect(check.evidence.join('\n')).toContain('PLUGIN_TIMEOUT');
    expect(propagationDirs(tmp)).toEqual([]);
  });

  test.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)(
    '%s mid-run removes the copy and exits %i',
    async (signal, code) => {
      const tmp = mkdtempSync(path.join(work, 'tmp-'));
      const report = path.join(tmp, 'report.json');
      const junit = path.join(tmp, 'junit.xml');
      const child = spawn(process.execPath, [mainJs], {
        env: cliEnv(
          { flake: fixture(), checks: 'propagation,host-parity', report, junit },
          { TMPDIR: tmp, PATH: slowNixPath(5) },
        ),
        stdio: 'ignore',
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      const deadline = Date.now() + 20_000;
      while (propagationDirs(tmp).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(propagationDirs(tmp)).toHaveLength(1);
      child.kill(signal);
      expect(await exited).toBe(code);
      expect(propagationDirs(tmp)).toEqual([]);
      // The requested reports are still written: unfinished checks are errors, the verdict fails.
      const written = JSON.parse(readFileSync(report, 'utf8')) as {
        verdict: string;
        checks: { id: string; status: string; summary: string }[];
      };
      expect(written.verdict).toBe('fail');
      expect(written.checks.find((c) => c.id === 'propagation')).toMatchObject({
        status: 'error',
        summary: `interrupted by ${signal} before this check finished`,
      });
      expect(readFileSync(junit, 'utf8')).toContain('interrupted by');
    },
    60_000,
  );
});

describe('eval mode', () => {
  test('builds nothing: on a fresh fixture the toplevels and the wrapper stay unbuilt', () => {
    const salt = randomBytes(8).toString('hex');
    const dir = fixture('base', { saltStore: salt });
    const run = runCli({ flake: dir, mode: 'eval' });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('eval mode (nothing built)');
    expect(run.report!.checks.find((c) => c.id === 'build')!.summary).toContain('(not built)');
    const env = cliEnv({});
    const evalRaw = (attr: string): string =>
      execFileSync('nix', ['eval', '--raw', `${dir}?submodules=1#${attr}`], {
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    const outs = [
      evalRaw('nixosConfigurations.cc-ci.config.system.build.toplevel.outPath'),
      evalRaw('nixosConfigurations.cc-ci-hetzner.config.system.build.toplevel.outPath'),
      evalRaw('nixosConfigurations.cc-ci.pkgs.cc-ci-run.outPath'),
    ];
    for (const out of outs) {
      expect(out).toMatch(/^\/nix\/store\//);
      expect(existsSync(out)).toBe(false);
      expect(spawnSync('nix', ['path-info', out], { env }).status).not.toBe(0);
    }
    // And a build-mode run of the same tree then builds them: the check above could fail.
    expect(runCli({ flake: dir, checks: 'build' }).code).toBe(0);
    for (const out of outs.slice(0, 2)) expect(existsSync(out)).toBe(true);
    removeFixture(dir);
  });

  test('says what only a build can see', () => {
    const run = runCli({ flake: fixture('collision-warning'), mode: 'eval', checks: 'build' });
    expect(run.code).toBe(0);
    expect(run.report!.checks[0].evidence.join('\n')).toContain(
      'collision warnings are not seen; run with PLUGIN_MODE=build',
    );
  });
});
