// The evidence a reviewer acts on, for the defects the claim names, and the
// errors that must never be a pass. Real Nix, real fixture repos.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeFixture, removeFixture } from '../fixtures/make-fixture.mjs';
import { runCli } from '../helpers/cli.js';
import { pathInfoList } from '../helpers/nixJson.js';
import type { CheckResult } from '../../src/verdict.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-evidence-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const fixture = (mutation: string, saltStore?: string): string => {
  const dir = path.join(work, `${mutation}-${randomBytes(4).toString('hex')}`);
  makeFixture(dir, { mutation, salt: randomBytes(8).toString('hex'), ...(saltStore ? { saltStore } : {}) });
  return dir;
};
const check = (run: ReturnType<typeof runCli>, id: string): CheckResult => {
  const c = run.report?.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no ${id} in report: ${run.stdout}\n${run.stderr}`);
  return c;
};

/** Deletes Nix's stored build log of each built host's system-path (a runner whose log store was pruned). */
function removeStoredLog(evidence: string[]): void {
  for (const line of evidence) {
    const m = /: built (\/nix\/store\/\S+)$/.exec(line);
    if (!m) continue;
    const systemPath = realpathSync(path.join(m[1], 'sw'));
    const info = pathInfoList(execFileSync('nix', ['path-info', '--json', systemPath], { encoding: 'utf8' }));
    const drv = path.basename(info[0].deriver!);
    rmSync(path.join('/nix/var/log/nix/drvs', drv.slice(0, 2), `${drv.slice(2)}.bz2`), { force: true });
  }
}

describe('evidence', () => {
  test('a passing run names each host toplevel and the shared wrapper store path', () => {
    const dir = fixture('base');
    const run = runCli({ flake: dir, checks: 'build,path-superset,entrypoint-parity' });
    expect(run.code).toBe(0);
    const build = check(run, 'build');
    expect(
      build.evidence.filter((e) => /^cc-ci(-hetzner)?: built \/nix\/store\/[a-z0-9]{32}-nixos-system-/.test(e)),
    ).toHaveLength(2);
    const superset = check(run, 'path-superset');
    expect(
      superset.evidence.some((e) => /^ok {6}curl-8\.12\.1: \/nix\/store\/[a-z0-9]{32}-curl-8\.12\.1-bin\/bin$/.test(e)),
    ).toBe(true);
    expect(superset.evidence.some((e) => /^ok {6}python3-3\.12\.8-env: /.test(e))).toBe(true);
    const parity = check(run, 'entrypoint-parity');
    const sweep = parity.evidence.filter((e) => / nightly-sweep runs \/nix\/store\/[a-z0-9]{32}-cc-ci-run /.test(e));
    const drone = parity.evidence.filter((e) => / Drone step runs \/nix\/store\/[a-z0-9]{32}-cc-ci-run /.test(e));
    expect(sweep).toHaveLength(2);
    expect(drone).toHaveLength(2);
    expect(new Set([...sweep, ...drone].map((e) => /\/nix\/store\/\S+-cc-ci-run/.exec(e)![0])).size).toBe(1);
    removeFixture(dir);
  });

  test('a dropped tool is named as missing, a drifted one as drift', () => {
    const dropped = check(runCli({ flake: fixture('drop-git-lfs'), checks: 'path-superset' }), 'path-superset');
    expect(dropped.summary).toContain("cc-ci-run's PATH lacks git-lfs-3.6.1");
    expect(dropped.evidence).toContain('MISSING git-lfs-3.6.1');
    const drifted = check(runCli({ flake: fixture('drift-openssl'), checks: 'path-superset' }), 'path-superset');
    expect(drifted.summary).toContain('version drift openssl-3.3.2 (expected openssl-3.3.3)');
    expect(drifted.evidence.join('\n')).not.toContain('MISSING');
  });

  test('a collision error quotes both paths from the log', () => {
    const run = runCli({ flake: fixture('collision-error'), checks: 'build' });
    const build = check(run, 'build');
    expect(build.status).toBe('fail');
    expect(build.evidence.join('\n')).toMatch(
      /collision error: \/nix\/store\/\S+-python3\.12-pytest-compat-0\.1\/bin\/pytest and \/nix\/store\/\S+-python3\.12-pytest-8\.3\.3\/bin\/pytest/,
    );
  });

  test('a warning-only collision fails from the log, and again from the audit when system-path is already built', () => {
    // A store salt of its own: system-path is built by this run, whatever ran before.
    const storeSalt = randomBytes(8).toString('hex');
    const first = runCli({ flake: fixture('collision-warning', storeSalt), checks: 'build' });
    const build = check(first, 'build');
    expect(build.status).toBe('fail');
    expect(build.evidence.join('\n')).toMatch(
      /warning: collision between `\/nix\/store\/\S+-git-minimal-2\.47\.2\/bin\/git'/,
    );
    // Same content again: every path is valid now, the builder does not run, nothing is printed.
    const again = check(runCli({ flake: fixture('collision-warning', storeSalt), checks: 'build' }), 'build');
    expect(again.status).toBe('fail');
    expect(
      again.evidence.some((e) =>
        /^cc-ci: warning: collision between `\/nix\/store\/\S+-git-minimal-2\.47\.2\/bin\/git'/.test(e),
      ),
    ).toBe(true); // from Nix's stored log
    const audit = again.evidence.filter((e) => e.startsWith('audit: cc-ci: bin/git is provided by '));
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatch(/git-minimal-2\.47\.2 \(\/nix\/store\/\S+\/bin\/git\)/);
    expect(audit[0]).toMatch(/git-2\.47\.2 \(\/nix\/store\/\S+\/bin\/git\)/);
    // And with Nix's stored build log gone, the audit alone still fails it.
    removeStoredLog(again.evidence);
    const noLog = check(runCli({ flake: fixture('collision-warning', storeSalt), checks: 'build' }), 'build');
    expect(noLog.status).toBe('fail');
    expect(noLog.evidence.some((e) => e.includes('warning: collision'))).toBe(false);
    expect(noLog.evidence.some((e) => e.startsWith('audit: cc-ci: bin/git is provided by '))).toBe(true);
  });

  test('the Drone step that bypasses the wrapper and the runner PATH without the system profile are named', () => {
    const bypass = check(
      runCli({ flake: fixture('drone-step-bypass'), checks: 'entrypoint-parity' }),
      'entrypoint-parity',
    );
    expect(bypass.summary).toContain('step "recipe-test" bypasses cc-ci-run: `python3 runner/run_recipe_ci.py`');
    const noProfile = check(
      runCli({ flake: fixture('runner-path-no-profile'), checks: 'entrypoint-parity' }),
      'entrypoint-parity',
    );
    expect(noProfile.summary).toMatch(
      /cc-ci: step "recipe-test" cannot reach cc-ci-run through \S+drone-runner-exec\.service:\d+: Environment=PATH \(the last assignment wins\) \(\/run\/wrappers\/bin:\/usr\/bin:\/bin[;)]/,
    );
  });

  test('a sweep running another cc-ci-run shows both store paths', () => {
    const parity = check(
      runCli({ flake: fixture('sweep-other-cc-ci-run'), checks: 'entrypoint-parity' }),
      'entrypoint-parity',
    );
    expect(parity.summary).toMatch(
      /cc-ci: nightly-sweep runs (\/nix\/store\/\S+-cc-ci-run) \(via [^)]*\), not (?!\1)\/nix\/store\/\S+-cc-ci-run/,
    );
  });

  test('hosts that differ show both systemPackages lines', () => {
    const parity = check(runCli({ flake: fixture('hosts-differ'), checks: 'host-parity' }), 'host-parity');
    expect(parity.evidence).toContain(
      '- nix/hosts/cc-ci/configuration.nix:16: systemPackages = pkgs.ccciRuntimeTools ++ [ pkgs.openssh pkgs.vim ];',
    );
    expect(parity.evidence).toContain(
      '+ nix/hosts/cc-ci-hetzner/configuration.nix:16: systemPackages = pkgs.ccciRuntimeTools ++ [ pkgs.openssh ];',
    );
  });

  // Issue 19: a tool eval mode can see missing (the claim names its package, no system package is it) is a
  // fail with the reason first, not an error; the verdict line and the console lead with the reasons.
  test('eval mode: git-lfs dropped is a host-parity fail, said on the verdict line', () => {
    const run = runCli({ flake: fixture('drop-git-lfs'), mode: 'eval', checks: 'path-superset,host-parity' });
    const parity = check(run, 'host-parity');
    expect(parity.status).toBe('fail');
    expect(parity.summary).toBe(
      "cc-ci: no system package provides git-lfs (the claim's git-lfs-3.6.1); cc-ci-hetzner: no system package provides git-lfs (the claim's git-lfs-3.6.1)",
    );
    expect(check(run, 'path-superset').summary).toBe("cc-ci-run's PATH lacks git-lfs-3.6.1 (14/15 expected entries)");
    expect(run.stdout).toContain(
      "verdict: FAIL: cc-ci-run's PATH lacks git-lfs-3.6.1 (14/15 expected entries); cc-ci: no system package provides git-lfs (the claim's git-lfs-3.6.1) (2 of 2 checks did not pass",
    );
    // The log says what happened: a failing check at WARN, never INFO.
    expect(run.stderr).toMatch(/ WARN host-parity: fail check=host-parity status=fail /);
    expect(run.stderr).not.toMatch(/ INFO (host-parity|path-superset): fail/);
    // Under the failing check, the missing entry comes before the present ones.
    const lines = run.stdout.split('\n').map((l) => l.trim());
    expect(lines.indexOf('MISSING git-lfs-3.6.1')).toBeLessThan(
      lines.findIndex((l) => l.startsWith('ok      14 present:')),
    );
  });

  test('grep proofs cite file:line:text of every hit', () => {
    const single = check(runCli({ flake: fixture('dup-pyenv'), checks: 'single-source' }), 'single-source');
    expect(single.status).toBe('fail');
    expect(single.evidence.join('\n')).toMatch(
      /nix\/modules\/nightly-sweep\.nix:5:sweepPy = pkgs\.python3\.withPackages/,
    );
    expect(single.evidence.join('\n')).toMatch(
      /nix\/modules\/packages\.nix:\d+:ccciPyEnv = final\.python3\.withPackages \(ps: with ps; \[ pytest playwright/,
    );
  });
});

describe('never a pass when nix cannot answer', () => {
  test('without submodules the secrets are missing: build fails with the nix error', () => {
    const run = runCli({ flake: fixture('base'), submodules: 'false', checks: 'build' });
    expect(run.code).toBe(1);
    const build = check(run, 'build');
    expect(build.status).toBe('fail');
    expect(build.evidence.join('\n')).toMatch(/secrets\/hosts\.nix/);
    expect(build.evidence.join('\n')).toContain(
      'hint: this repository has git submodules and PLUGIN_SUBMODULES=false leaves them out of the flake',
    );
    expect(build.summary).toMatch(/^cc-ci does not evaluate: error: .*secrets\/hosts\.nix/);
    // Our own --apply expression is not dumped into the evidence.
    expect(build.evidence.join('\n')).not.toContain('builtins.getContext');
  });

  test('an unknown host is an error that names the hosts the flake has', () => {
    const run = runCli({ flake: fixture('base'), hosts: 'cc-ci,nope' });
    expect(run.code).toBe(1);
    const build = check(run, 'build');
    expect(build.status).toBe('error');
    expect(build.evidence.join('\n')).toContain(
      'host "nope" is not in nixosConfigurations (PLUGIN_HOSTS); the flake has: cc-ci, cc-ci-hetzner',
    );
  });

  test('no nix on PATH: exit 2 with what to install', () => {
    const run = runCli({ flake: fixture('base') }, { env: { PATH: '/nonexistent' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nix not found on PATH');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.report).toBeUndefined();
  });

  test('a missing directory and a directory without flake.nix: exit 2 naming PLUGIN_FLAKE', () => {
    const missing = runCli({ flake: path.join(work, 'does-not-exist') });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does not exist \(PLUGIN_FLAKE/);
    const plain = path.join(work, 'not-a-flake');
    mkdirSync(plain, { recursive: true });
    writeFileSync(path.join(plain, 'README'), 'hi');
    const notFlake = runCli({ flake: plain });
    expect(notFlake.code).toBe(2);
    expect(notFlake.stderr).toContain('is not a flake: no flake.nix (PLUGIN_FLAKE)');
  });

  test('invalid settings: exit 2 naming the variable and what is allowed', () => {
    const run = runCli({ mode: 'bogus', timeout: 'soon' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('PLUGIN_MODE');
    expect(run.stderr).toContain('one of build, eval');
    expect(run.stderr).toContain('PLUGIN_TIMEOUT');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  test('a flag wins over the PLUGIN_ variable; DRONE_WORKSPACE is the default flake', () => {
    const dir = fixture('base');
    const run = runCli(
      { checks: 'single-source', mode: 'bogus' },
      { args: ['--mode', 'build'], env: { DRONE_WORKSPACE: dir } },
    );
    expect(run.code).toBe(0);
    expect(run.report!.flake).toBe(dir);
  });
});
