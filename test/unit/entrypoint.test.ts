import type { HostFacts, SystemPackage } from '../../src/context.js';
import type { DroneStep } from '../../src/drone/pipeline.js';
import { runsOnHost, scriptUses } from '../../src/drone/uses.js';
import { followToTarget } from '../../src/execChain.js';
import { EVAL_UNSEEN, resolveProgram, type HostView } from '../../src/resolve.js';

const H = 'zxlx9jnylh7la5m48bsqb1wfm5l9r0bd';
const L = 'l3gacy0000000000000000000000000a';
const step = (commands: string[], fields: Partial<DroneStep> = {}): DroneStep => ({
  pipeline: 'p',
  pipelineType: 'exec',
  name: 's',
  commands,
  environment: {},
  environmentSource: {},
  position: { line: 1, column: 1 },
  ...fields,
});

describe('Drone steps that run the script (commands are shell)', () => {
  test.each([
    ['cc-ci-run runner/run_recipe_ci.py', true, 'cc-ci-run'],
    ['cc-ci-run ./runner/run_recipe_ci.py --all', true, 'cc-ci-run'],
    ['cd runner && cc-ci-run run_recipe_ci.py', true, 'cc-ci-run'],
    ['CC=1 cc-ci-run runner/run_recipe_ci.py', true, 'cc-ci-run'],
    ['/run/current-system/sw/bin/cc-ci-run runner/run_recipe_ci.py', true, '/run/current-system/sw/bin/cc-ci-run'],
    ['python3 runner/run_recipe_ci.py', false, 'python3'],
    ['./runner/run_recipe_ci.py', false, './runner/run_recipe_ci.py'],
    ['cd runner && python3 run_recipe_ci.py', false, 'python3'],
  ])('%s -> through the wrapper: %s', async (command, via, program) => {
    const uses = await scriptUses([step([command])], 'runner/run_recipe_ci.py', 'cc-ci-run');
    expect(uses.map((u) => [u.viaWrapper, u.program])).toEqual([[via, program]]);
  });
  test('mentions in other commands run other things; cd elsewhere changes what a relative path names', async () => {
    const uses = await scriptUses(
      [step(['cc-ci-run -m pyflakes runner/', 'cd docs && cc-ci-run runner/run_recipe_ci.py'])],
      'runner/run_recipe_ci.py',
      'cc-ci-run',
    );
    expect(uses).toEqual([]);
  });
  test('eval in a step is not followed', async () => {
    const uses = await scriptUses(
      [step(['eval "$X"', 'cc-ci-run runner/run_recipe_ci.py'])],
      'runner/run_recipe_ci.py',
      'cc-ci-run',
    );
    expect(uses[0].unfollowable).toMatch(/eval/);
  });
});

describe('resolving a program through PATH', () => {
  const sys = (priority?: number, hash = H): SystemPackage => ({
    name: 'cc-ci-run',
    pname: 'cc-ci-run',
    installed: [`/nix/store/${hash}-cc-ci-run`],
    ...(priority !== undefined ? { priority } : {}),
  });
  const view = (systemPackages: SystemPackage[]): HostView => ({
    mode: 'eval',
    facts: { systemPackages } as unknown as HostFacts,
  });
  test('a setuid wrapper of that name in /run/wrappers/bin runs first', () => {
    const v: HostView = {
      mode: 'build',
      facts: { systemPackages: [sys()], setuidWrappers: ['cc-ci-run'] } as unknown as HostFacts,
    };
    expect(resolveProgram('cc-ci-run', ['/run/wrappers/bin', '/run/current-system/sw/bin'], v).root).toBe(
      '/run/wrappers/bin/cc-ci-run',
    );
  });
  test.each([
    [
      'bare name through the system profile',
      'cc-ci-run',
      ['/run/wrappers/bin', '/run/current-system/sw/bin'],
      [sys()],
      `/nix/store/${H}-cc-ci-run`,
    ],
    [
      'the hiPrio rival in sw/bin wins',
      'cc-ci-run',
      ['/run/current-system/sw/bin'],
      [sys(), sys(-10, L)],
      `/nix/store/${L}-cc-ci-run`,
    ],
    [
      'a lowPrio rival loses',
      'cc-ci-run',
      ['/run/current-system/sw/bin'],
      [sys(10, L), sys()],
      `/nix/store/${H}-cc-ci-run`,
    ],
    ['bare name through a store dir', 'cc-ci-run', [`/nix/store/${H}-cc-ci-run/bin`], [], `/nix/store/${H}-cc-ci-run`],
    [
      'the first PATH entry that has it',
      'cc-ci-run',
      [`/nix/store/${L}-cc-ci-run/bin`, `/nix/store/${H}-cc-ci-run/bin`],
      [],
      `/nix/store/${L}-cc-ci-run`,
    ],
    ['absolute store path', `/nix/store/${H}-cc-ci-run/bin/cc-ci-run`, [], [], `/nix/store/${H}-cc-ci-run`],
    ['not reachable', 'cc-ci-run', ['/usr/bin'], [sys()], undefined],
  ])('%s', (_, word, dirs, pkgs, want) => expect(resolveProgram(word, dirs, view(pkgs)).root).toBe(want));
  // Directories whose contents are state on the host, not the build: a lookup through them cannot be followed.
  test.each([
    [
      'a home directory before sw/bin',
      ['/root/bin', '/run/current-system/sw/bin'],
      'eval',
      /cannot follow: PATH entry \/root\/bin \(outside the store.*before \/run\/current-system\/sw\/bin/,
    ],
    [
      '/usr/local/bin before a store dir',
      ['/usr/local/bin', `/nix/store/${H}-cc-ci-run/bin`],
      'build',
      /cannot follow: PATH entry \/usr\/local\/bin/,
    ],
    [
      'a user profile, program nowhere visible',
      ['/nix/var/nix/profiles/default/bin'],
      'eval',
      /cannot follow: .*before any bin\/cc-ci-run the verifier can see/,
    ],
    [
      'an /etc directory in eval mode',
      ['/etc/profiles/per-user/drone/bin', '/run/current-system/sw/bin'],
      'eval',
      /eval mode does not read the built etc/,
    ],
  ] as const)('%s', (_, dirs, mode, note) => {
    const r = resolveProgram('cc-ci-run', dirs, { mode, facts: { systemPackages: [sys()] } as unknown as HostFacts });
    expect(r.root).toBeUndefined();
    expect(r.notes.join('\n')).toMatch(note);
  });
  test.each([
    ['after the program: not reached', ['/run/current-system/sw/bin', '/root/bin']],
    ['/bin and /usr/bin: NixOS links only sh and env there', ['/bin', '/usr/bin', '/run/current-system/sw/bin']],
    ['/run/wrappers/bin: security.wrappers only', ['/run/wrappers/bin', '/run/current-system/sw/bin']],
  ])('known directories: %s', (_, dirs) => {
    const r = resolveProgram('cc-ci-run', dirs, view([sys()]));
    expect(r.root).toBe(`/nix/store/${H}-cc-ci-run`);
    expect(r.notes.join('\n')).not.toMatch(/cannot follow/);
  });
  test('/bin holds sh on NixOS: sh through /bin cannot be followed to a store path', () => {
    expect(resolveProgram('sh', ['/bin', `/nix/store/${L}-bash-5.2p37/bin`], view([])).notes.join('\n')).toMatch(
      /NixOS links \/bin\/sh at activation/,
    );
  });
  test('eval mode names the earlier store entries it could not look into', () => {
    const r = resolveProgram(
      'cc-ci-run',
      [`/nix/store/${L}-legacy-ci-0.9/bin`, `/nix/store/${H}-cc-ci-run/bin`],
      view([]),
    );
    expect(r.root).toBe(`/nix/store/${H}-cc-ci-run`);
    expect(r.notes).toEqual([
      `${EVAL_UNSEEN}: 1 earlier PATH entry (legacy-ci-0.9) may hold bin/cc-ci-run too; a build shows which one runs`,
    ]);
  });
});

describe('the command a service script finally runs', () => {
  const view: HostView = { mode: 'eval', facts: { systemPackages: [] } as unknown as HostFacts };
  const noScripts = { scriptAt: async () => ({ missing: 'no scripts here' }) };
  const dirs = [
    `/nix/store/${H}-cc-ci-run/bin`,
    `/nix/store/${L}-rsync-3.4.1/bin`,
    `/nix/store/${L}-coreutils-9.5/bin`,
  ];
  test.each([
    ['exec of the wrapper', 'cd /srv\nexec cc-ci-run sweep.py\n', true],
    ['the wrapper as the last command', 'cc-ci-run sweep.py\n', true],
    ['the wrapper, then exec of another program', 'cc-ci-run true\nexec rsync -a /a /b\n', false],
    ['the wrapper, then another program last', 'cc-ci-run true\nrsync -a /a /b\n', false],
    ['a fallback after ||', 'cc-ci-run sweep.py || rsync -a /a /b\n', false],
    ['an earlier pipeline stage does the work', 'rsync -a /a /b | cc-ci-run cat\n', false],
    ['a background job beside it', 'rsync -a /a /b &\nexec cc-ci-run true\n', false],
    ['`false` under set -e before it', 'set -eu\nfalse\nexec cc-ci-run sweep.py\n', false],
    [
      '`false` under the #! -e of a unit-script',
      '#!/nix/store/x-bash/bin/bash -e\nfalse\nexec cc-ci-run sweep.py\n',
      false,
    ],
    ['its output piped to tee', 'cc-ci-run sweep.py | tee /var/log/sweep.log\n', true],
    ['`|| true` after it', 'cc-ci-run sweep.py || true\n', true],
    ['`mkdir -p` before it', 'mkdir -p /var/cache/x\nexec cc-ci-run sweep.py\n', true],
    // bash(1): a `#!…/sh` script runs in POSIX mode (aliases expanded); a bash script does not expand them.
    [
      'an alias in a #!/bin/sh script turns the run into false under -e',
      '#!/bin/sh -e\nalias cc-ci-run=false\ncc-ci-run --version\nexec cc-ci-run sweep.py\n',
      false,
    ],
    [
      'the same alias in a bash script is not expanded',
      '#!/nix/store/x-bash/bin/bash -e\nalias cc-ci-run=false\ncc-ci-run --version\nexec cc-ci-run sweep.py\n',
      true,
    ],
  ])('%s', async (_n, script, ok) => {
    const r = await followToTarget(
      { inlineScript: { text: script, source: 'unit script' }, pathDirs: dirs, drvs: [] },
      'cc-ci-run',
      view,
      noScripts,
    );
    expect([r.ok, r.ok ? '' : r.reason]).toEqual([
      ok,
      ok ? '' : expect.stringMatching(/runs cc-ci-run .*, but .*(the work does not go through cc-ci-run|never runs)/),
    ]);
  });
});

describe('which steps run on the host', () => {
  test.each([
    ['exec, no image', { pipelineType: 'exec' }, true],
    ['exec with an image (not what the claim describes)', { pipelineType: 'exec', image: 'x' }, false],
    ['docker', { pipelineType: 'docker', image: 'python:3.12-slim' }, false],
    ['kubernetes', { pipelineType: 'kubernetes' }, false],
  ])('%s', (_, fields, want) => expect(runsOnHost(step([], fields))).toBe(want));
});
