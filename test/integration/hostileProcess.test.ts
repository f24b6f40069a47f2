// The repository under test is hostile (issue 16, process and Nix routes): real
// derivations in a fixture flake try to write into the workspace, read a token
// from argv, leave a daemon behind, make eval mode build, and a real signal
// tries to open Node's inspector. Each row asserts the outcome, never a mock.
//
// Isolation rows: this machine runs nix as root without a daemon; with the
// nixbld group of scripts/setup-nix.sh the verifier sandboxes builds as build
// users ("sandbox"); NIXENV_VERIFY_BUILD_GROUP naming a group without members
// gives the unsandboxed case the verifier must call untrusted.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { makeFixture } from '../fixtures/make-fixture.mjs';
import { cliEnv, mainJs, runCli } from '../helpers/cli.js';
import { processesWithEnv, waitFor } from '../helpers/fakeNix.js';
import { groupMembers } from '../../src/nix/isolation.js';

import { jest } from '@jest/globals';
jest.setTimeout(600_000);
const work = mkdtempSync(path.join(os.tmpdir(), 'nv-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const MARKER = 'NIXENV_HOSTILE_MARKER';
const haveBuildUsers =
  groupMembers(existsSync('/etc/group') ? readFileSync('/etc/group', 'utf8') : '', 'nixbld').length > 0;
const isRoot = process.getuid?.() === 0;
/** The settings that make a build unsandboxed on this machine, and accept it (so the other checks decide). */
const UNSANDBOXED = { NIXENV_VERIFY_BUILD_GROUP: 'nixenv-no-such-group' };

/**
 * The base fixture with one more system package of cc-ci: a derivation whose
 * builder runs `script` (sh) and then makes an empty output. Committed, so the
 * work tree is clean.
 */
function hostileFixture(
  name: string,
  script: string,
  extra: Record<string, string> = {},
): { dir: string; tag: string } {
  const tag = randomBytes(5).toString('hex');
  const { dir } = makeFixture(path.join(work, `${name}-${tag}`), { salt: tag });
  const file = path.join(dir, 'nix/hosts/cc-ci/configuration.nix');
  const attrs = Object.entries({ [MARKER]: tag, ...extra })
    .map(([k, v]) => `${k} = ${JSON.stringify(v)};`)
    .join(' ');
  const drv = `(derivation { name = "hostile-${name}-${tag}"; system = "x86_64-linux"; builder = "/bin/sh"; PATH = "/usr/bin:/bin"; ${attrs} args = [ "-c" ${JSON.stringify(`${script}\nmkdir -p $out/bin`)} ]; })`;
  const text = readFileSync(file, 'utf8').replace(
    '[ pkgs.openssh ]',
    `[ pkgs.openssh ${drv.replace(/\$\{/g, '\\${')} ]`,
  );
  writeFileSync(file, text);
  execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', `hostile: ${name}`]);
  return { dir, tag };
}

/** The store output of the hostile derivation, when it was built. */
const builtOutput = (name: string, tag: string): string | undefined => {
  const entry = readdirSync('/nix/store').find((e) => e.endsWith(`-hostile-${name}-${tag}`));
  return entry ? path.join('/nix/store', entry) : undefined;
};

const BUILD_ONLY = { hosts: 'cc-ci', checks: 'build', mode: 'build' };

describe('a build that writes into the workspace', () => {
  interface Row {
    name: string;
    env: NodeJS.ProcessEnv;
    settings: Record<string, string>;
    written: boolean;
    code: number;
    hazards: RegExp[];
    isolation: string;
  }
  const rows: Row[] = [
    ...(haveBuildUsers && isRoot
      ? [
          {
            name: 'sandboxed as a build user: cannot reach it, the run passes',
            env: {},
            settings: {},
            written: false,
            code: 0,
            hazards: [],
            isolation: 'sandbox',
          },
        ]
      : []),
    {
      name: 'unsandboxed root, accepted: it writes, the change fails the verdict',
      env: UNSANDBOXED,
      settings: { allow_unsandboxed_build: 'true' },
      written: true,
      code: 1,
      hazards: [/the workspace changed during the run: 1 file\(s\) \(pwned\.txt \(new\)\)/],
      isolation: 'unsandboxed',
    },
    {
      name: 'unsandboxed root, not accepted: untrusted and changed',
      env: UNSANDBOXED,
      settings: {},
      written: true,
      code: 1,
      hazards: [/^untrusted: builds run as root without a sandbox/, /the workspace changed during the run/],
      isolation: 'unsandboxed',
    },
  ];
  test.each(rows)('$name', (row) => {
    const ws = { dir: '' };
    const fx = hostileFixture('ws', `echo pwned > "$WS/pwned.txt" 2>/dev/null || true`, { WS: '@WS@' });
    ws.dir = fx.dir;
    // The builder is told the workspace path (an attacker knows /drone/src).
    const file = path.join(fx.dir, 'nix/hosts/cc-ci/configuration.nix');
    writeFileSync(file, readFileSync(file, 'utf8').replace('@WS@', fx.dir));
    execFileSync('git', [
      '-C',
      fx.dir,
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@t',
      'commit',
      '-qam',
      'hostile: workspace path',
    ]);
    const junit = path.join(work, `junit-${fx.tag}.xml`);
    const run = runCli({ flake: fx.dir, ...BUILD_ONLY, junit, ...row.settings }, { env: row.env });
    expect(existsSync(path.join(fx.dir, 'pwned.txt'))).toBe(row.written);
    expect(run.code).toBe(row.code);
    expect(run.report!.isolation!.kind).toBe(row.isolation);
    expect(run.stdout).toContain(`builds: ${run.report!.isolation!.description}`);
    const hazards = run.report!.hazards ?? [];
    expect(hazards).toHaveLength(row.hazards.length);
    row.hazards.forEach((re, i) => expect(hazards[i]).toMatch(re));
    if (row.hazards.length) {
      expect(run.report!.verdict).toBe('fail');
      expect(run.stdout).toContain('verdict not trusted:');
      expect(readFileSync(junit, 'utf8')).toContain('name="hazards"');
    }
    if (row.settings.allow_unsandboxed_build)
      expect(run.report!.deviations!.map((d) => d.setting)).toContain('allow_unsandboxed_build');
  });
});

describe('a build that looks for a token in every process and environment', () => {
  const TOKEN = `nvtok${randomBytes(12).toString('hex')}`;
  const rows = [
    ...(haveBuildUsers && isRoot ? [{ name: 'sandboxed', env: {} as NodeJS.ProcessEnv }] : []),
    { name: 'unsandboxed root (accepted)', env: UNSANDBOXED as NodeJS.ProcessEnv },
  ];
  test.each(rows)('$name: the token is in no argv, no build environment and no output', ({ env }) => {
    // Every process's argv and the builder's own environment, into the output.
    const { dir, tag } = hostileFixture(
      'dump',
      `mkdir -p $out; env > $out/env; for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done > $out/cmdlines 2>/dev/null || true`,
    );
    const config = JSON.stringify({ 'access-tokens': `github.com=${TOKEN}` });
    const run = runCli({ flake: dir, ...BUILD_ONLY, nix_config: config, allow_unsandboxed_build: 'true' }, { env });
    expect(run.code).toBe(0);
    const out = builtOutput('dump', tag)!;
    const cmdlines = readFileSync(path.join(out, 'cmdlines'), 'utf8');
    // The dump really saw processes (unsandboxed: nix's own argv among them).
    expect(cmdlines).toMatch(env === UNSANDBOXED ? /nix .*build/ : /sh -c/);
    expect(cmdlines).not.toContain(TOKEN);
    expect(readFileSync(path.join(out, 'env'), 'utf8')).not.toContain(TOKEN);
    expect(`${run.stdout}${run.stderr}${JSON.stringify(run.report)}`).not.toContain(TOKEN);
  });
});

describe('a build that leaves a daemon behind (setsid, outside every process group)', () => {
  const rows = [
    ...(haveBuildUsers && isRoot
      ? [{ name: 'sandboxed', env: {} as NodeJS.ProcessEnv, survives: false, target: 'group' }]
      : []),
    ...(isRoot
      ? [
          {
            name: "unsandboxed root, in the verifier's PID namespace for nix",
            env: UNSANDBOXED as NodeJS.ProcessEnv,
            survives: false,
            target: 'group',
          },
        ]
      : []),
    ...(isRoot
      ? [
          {
            name: "unsandboxed root, in the verifier's PID namespace for nix",
            env: UNSANDBOXED as NodeJS.ProcessEnv,
            survives: false,
            target: 'pid',
          },
        ]
      : []),
    // The control: without the PID namespace the daemon escapes. It shows the row above can fail.
    {
      name: 'control: unsandboxed without the PID namespace',
      env: { ...UNSANDBOXED, NIXENV_VERIFY_NO_PID_NAMESPACE: '1' } as NodeJS.ProcessEnv,
      survives: true,
      target: 'group',
    },
  ];
  test.each(rows)(
    '$name: SIGKILL of the verifier ($target) mid-build leaves survivors: $survives',
    async ({ env, survives, target }) => {
      const { dir, tag } = hostileFixture('daemon', 'setsid sleep 1000 </dev/null >/dev/null 2>&1 &\nsleep 60');
      const child = spawn(process.execPath, [mainJs], {
        env: cliEnv({ flake: dir, ...BUILD_ONLY, allow_unsandboxed_build: 'true' }, env),
        stdio: 'ignore',
        detached: true, // its own process group, as a CI runner's step
      });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      try {
        expect(await waitFor(() => processesWithEnv(MARKER, tag).length >= 2, 120_000, 100)).toBe(true);
        process.kill(target === 'group' ? -child.pid! : child.pid!, 'SIGKILL');
        await exited;
        const gone = await waitFor(() => processesWithEnv(MARKER, tag).length === 0, 5_000, 100);
        expect(!gone).toBe(survives);
      } finally {
        for (const pid of processesWithEnv(MARKER, tag)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
    },
  );
});

/** Pids whose parent is `pid` (/proc/PID/stat field 4). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

describe('SIGSTOP of the verifier mid-build (a build that stops it)', () => {
  test('the watchdog ends it after PLUGIN_TIMEOUT: no hang, no pass, no survivor', async () => {
    const { dir, tag } = hostileFixture('stop', 'sleep 300');
    const started = Date.now();
    const child = spawn(process.execPath, [mainJs], {
      env: cliEnv({ flake: dir, ...BUILD_ONLY, timeout: '3s' }),
      stdio: 'ignore',
      detached: true,
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      expect(await waitFor(() => processesWithEnv(MARKER, tag).length >= 1, 120_000, 100)).toBe(true);
      process.kill(child.pid!, 'SIGSTOP');
      const end = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000))]);
      expect(end).toEqual({ code: null, signal: 'SIGKILL' });
      expect(Date.now() - started).toBeLessThan(60_000);
      expect(await waitFor(() => processesWithEnv(MARKER, tag).length === 0, 5_000, 100)).toBe(true);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
});

describe('SIGUSR1 to the verifier does not open the Node inspector', () => {
  const inspectorListening = (): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.connect(9229, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  const rows = [
    { name: 'the CLI', argv: [mainJs], listens: false },
    // The control: a Node process without a handler opens it (FACTS.md), so the probe can see it.
    { name: 'control: node without a handler', argv: ['-e', 'setTimeout(() => {}, 6000)'], listens: true },
  ];
  test.each(rows)('$name: listening on 9229 after SIGUSR1: $listens', async ({ argv, listens }) => {
    expect(await inspectorListening()).toBe(false);
    const { dir } = makeFixture(path.join(work, `usr1-${randomBytes(4).toString('hex')}`));
    const child = spawn(process.execPath, argv, {
      env: cliEnv({ flake: dir, hosts: 'cc-ci', checks: 'build,single-source', mode: 'eval' }),
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    // The earliest a build can signal: once the process has started a subprocess (a build runs under nix).
    // The control starts none: it gets the signal once it runs its timer.
    expect(await waitFor(() => (listens ? true : childrenOf(child.pid!).length > 0), 60_000)).toBe(true);
    if (listens) await new Promise((r) => setTimeout(r, 1000));
    process.kill(child.pid!, 'SIGUSR1');
    const opened = await waitFor(() => false, 700).then(inspectorListening);
    if (listens) child.kill('SIGKILL');
    const code = await exited;
    expect(opened).toBe(listens);
    if (!listens) expect(code).toBe(0); // the run completed
  });
});

describe('eval mode builds nothing: import-from-derivation is refused', () => {
  test.each([
    { mode: 'eval', built: false, code: 1, message: /import-from-derivation/ },
    { mode: 'build', built: true, code: 0, message: undefined },
  ])('mode $mode: IFD derivation built: $built', ({ mode, built, code, message }) => {
    const tag = randomBytes(5).toString('hex');
    const { dir } = makeFixture(path.join(work, `ifd-${tag}`), { salt: tag });
    const file = path.join(dir, 'nix/hosts/cc-ci/configuration.nix');
    const ifd = `builtins.readFile "\${derivation { name = "hostile-ifd-${tag}"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo hi > $out" ]; }}"`;
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'networking.hostName = "cc-ci";',
        `networking.hostName = "cc-ci";\n  environment.etc."ifd-${tag}".text = ${ifd};`,
      ),
    );
    execFileSync('git', [
      '-C',
      dir,
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@t',
      'commit',
      '-qam',
      'hostile: import from derivation',
    ]);
    const run = runCli({ flake: dir, hosts: 'cc-ci', checks: 'build', mode });
    expect(run.code).toBe(code);
    expect(builtOutput('ifd', tag) !== undefined).toBe(built);
    if (message) expect(JSON.stringify(run.report!.checks)).toMatch(message);
  });
});

describe('a .gitmodules URL pointing at another repository on the host', () => {
  const gitc = (cwd: string, ...args: string[]): string =>
    execFileSync('git', ['-c', 'protocol.file.allow=always', '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
      cwd,
      encoding: 'utf8',
    });
  /** A second repository beside the workspace, with a marker file; the fixture gets it as submodule `evil`, not fetched, and reads the marker. */
  function withForeignSubmodule(relative: boolean): { dir: string; marker: string; victim: string } {
    const tag = randomBytes(5).toString('hex');
    const marker = `NVMARK${randomBytes(8).toString('hex')}`;
    const { dir } = makeFixture(path.join(work, `sub-${tag}`), { salt: tag });
    const victim = path.join(work, `victim-${tag}`);
    execFileSync('mkdir', ['-p', victim]);
    writeFileSync(path.join(victim, 'marker'), marker);
    gitc(victim, 'init', '-q');
    gitc(victim, 'add', '-A');
    gitc(victim, 'commit', '-qm', 'victim');
    gitc(dir, 'submodule', 'add', '-q', relative ? `../victim-${tag}` : victim, 'evil');
    // Not fetched by the pipeline: no work tree, no .git/modules/evil (a Drone clone fetches no submodules).
    gitc(dir, 'submodule', 'deinit', '-q', '-f', 'evil');
    rmSync(path.join(dir, '.git', 'modules', 'evil'), { recursive: true, force: true });
    const file = path.join(dir, 'nix/hosts/cc-ci/configuration.nix');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'networking.hostName = "cc-ci";',
        'networking.hostName = "cc-ci";\n  environment.etc.leak.text = builtins.readFile ../../../evil/marker;',
      ),
    );
    gitc(dir, 'commit', '-qam', 'hostile: foreign submodule');
    return { dir, marker, victim };
  }
  test.each([
    {
      name: 'an absolute path, refused',
      relative: false,
      allow: false,
      code: 2,
      message:
        /cannot follow the repository's submodules: submodule evil: URL \/.*victim-\w+ is not relative to the repository's own remote \(it has none\), not in submodule_urls/,
    },
    {
      name: 'a path relative to the work tree (no remote), refused',
      relative: true,
      allow: false,
      code: 2,
      message: /submodule evil: URL \.\.\/victim-\w+ is not relative/,
    },
    // The control: the same repository allow-listed is cloned (so the refusal above is what kept it out).
    {
      name: 'control: the absolute path in submodule_urls is cloned',
      relative: false,
      allow: true,
      code: 0,
      message: undefined,
    },
  ])('$name', ({ relative, allow, code, message }) => {
    const { dir, marker, victim } = withForeignSubmodule(relative);
    for (const mode of ['build', 'eval']) {
      const run = runCli({
        flake: dir,
        hosts: 'cc-ci',
        checks: 'build',
        mode,
        ...(allow ? { submodule_urls: victim } : {}),
      });
      expect(run.code).toBe(code);
      if (message) expect(run.stderr).toMatch(message);
      expect(`${run.stdout}${run.stderr}${JSON.stringify(run.report ?? {})}`).not.toContain(marker);
    }
  });
});
