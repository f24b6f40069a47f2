// Nothing hangs, nothing outlives the run: the built CLI against fake `nix`
// executables that ignore SIGTERM and leave children, hang, crash or print
// broken JSON. Real processes; no real nix needed.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeFixture } from '../fixtures/make-fixture.mjs';
import { cliEnv, mainJs, runCli } from '../helpers/cli.js';
import { fakeNixPath, processesWithEnv, waitFor } from '../helpers/fakeNix.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-groups-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const flake = path.join(work, 'flake');
makeFixture(flake);

/** Ignores SIGTERM (so does its child: ignored signals are inherited) and waits forever. */
const STUBBORN = `trap '' TERM\nsleep 1000 &\nwait`;
const MARKER = 'NIXENV_TEST_MARKER';

function stubbornEnv(): { marker: string; PATH: string } {
  const marker = randomBytes(6).toString('hex');
  return { marker, PATH: fakeNixPath(path.join(work, `stubborn-${marker}`), STUBBORN) };
}

describe('a nix that ignores SIGTERM and has a child', () => {
  test('PLUGIN_TIMEOUT=2s: the check is an error "timed out after 2s" and no process of the group survives', () => {
    const { marker, PATH } = stubbornEnv();
    const started = Date.now();
    const run = runCli(
      { flake, checks: 'path-superset,build', hosts: 'cc-ci', timeout: '2s' },
      { env: { PATH, [MARKER]: marker } },
    );
    const took = Date.now() - started;
    expect(run.code).toBe(1);
    const superset = run.report!.checks.find((c) => c.id === 'path-superset')!;
    expect(superset.status).toBe('error');
    expect(superset.summary).toContain('timed out after 2s (PLUGIN_TIMEOUT)');
    // build.ts classifies every nix failure of a host as `fail` (see nixGaveNoAnswer): never a pass.
    const build = run.report!.checks.find((c) => c.id === 'build')!;
    expect(['error', 'fail']).toContain(build.status);
    expect(build.evidence.join('\n')).toContain('timed out after 2s (PLUGIN_TIMEOUT)');
    // SIGTERM is ignored: only the SIGKILL after the grace period stops it; nothing waits for `sleep 1000`.
    expect(took).toBeLessThan(60_000);
    expect(processesWithEnv(MARKER, marker)).toEqual([]);
  });

  test.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s to the CLI pid alone: exit %i and no nix process left', async (signal, code) => {
    const { marker, PATH } = stubbornEnv();
    const child = spawn(process.execPath, [mainJs], {
      env: cliEnv({ flake, checks: 'build', timeout: '10m' }, { PATH, [MARKER]: marker }),
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    // The fake nix and its sleep are running (both carry the marker).
    expect(await waitFor(() => processesWithEnv(MARKER, marker).length >= 2, 20_000)).toBe(true);
    const before = processesWithEnv(MARKER, marker);
    process.kill(child.pid!, signal); // the pid only, not its group: what `docker stop` and `kill` do
    expect(await exited).toBe(code);
    expect(await waitFor(() => processesWithEnv(MARKER, marker).length === 0, 2_000)).toBe(true);
    expect(before.every((p) => !processesWithEnv(MARKER, marker).includes(p))).toBe(true);
  });
});

describe('a nix that answers wrongly: an error with a one-line reason and the command, no JS stack', () => {
  test.each([
    [
      'prints non-JSON',
      `echo 'warning: something odd'; echo 'this is not json'`,
      /nix printed something that is not JSON: .*this is not json/,
    ],
    [
      'prints truncated JSON',
      `printf '{"cc-ci": {"drvPath": "/nix/sto'`,
      /nix printed something that is not JSON: \{"cc-ci": \{"drvPath"/,
    ],
    ['prints nothing', `exit 0`, /nix printed something that is not JSON: \(nothing\)/],
    ['crashes (SIGSEGV)', `echo 'about to crash' >&2; kill -SEGV $$`, /error: nix was killed by SIGSEGV/],
  ])('%s', (_name, body, reason) => {
    const run = runCli(
      { flake, checks: 'path-superset,build', hosts: 'cc-ci' },
      { env: { PATH: fakeNixPath(path.join(work, randomBytes(4).toString('hex')), body) } },
    );
    expect(run.code).toBe(1);
    const superset = run.report!.checks.find((c) => c.id === 'path-superset')!;
    expect(superset.status).toBe('error');
    expect(superset.summary).toMatch(reason);
    expect(superset.summary).not.toContain('\n');
    const build = run.report!.checks.find((c) => c.id === 'build')!;
    expect(['error', 'fail']).toContain(build.status);
    for (const check of [superset, build]) {
      const text = `${check.summary}\n${check.evidence.join('\n')}`;
      expect(text).toMatch(reason);
      expect(text).toMatch(
        /nix eval --json (--no-write-lock-file )?(--option eval-cache false )?\S+#nixosConfigurations/,
      );
      expect(text).not.toMatch(/SyntaxError|at JSON\.parse|\.js:\d+:\d+/);
    }
  });
});

describe('nix too old for flakes', () => {
  test.each([
    ['nix (Nix) 2.3.16', '2.3.16'],
    ['nix (Nix) 2.0', '2.0'],
  ])('%s: exit 2 with the version found and what is needed', (version, found) => {
    const run = runCli(
      { flake },
      { env: { PATH: fakeNixPath(path.join(work, randomBytes(4).toString('hex')), 'exit 1', { version }) } },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`nix ${found} found`);
    expect(run.stderr).toContain('needs Nix >= 2.4');
    expect(run.stderr).not.toMatch(/\.js:\d+:\d+/);
  });
});
