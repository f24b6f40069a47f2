// The spec file: the built-in spec is the seed claim; a bad spec exits 2 with
// file:line:column and what is allowed; settings override the spec
// (flag > PLUGIN_* > spec > built-in); outputs list what differs from the seed.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { SettingsError } from '../../src/errors.js';
import { parseArgv, parseSettings, settingsDeviations } from '../../src/settings.js';
import { BUILTIN_SPEC_YAML } from '../../src/claim/builtin.js';
import { SPEC_SCHEMA_MODELINE } from '../../src/claim/jsonSchema.js';
import { applySettings, claimDeviations } from '../../src/claim/claim.js';
import { builtinClaim, parseSpec, SpecError } from '../../src/claim/load.js';
import { CHECK_IDS } from '../../src/verdict.js';
import { BAD, OTHER } from '../helpers/specRows.js';
import { consumersOn } from '../../src/claim/types.js';

describe('the built-in spec is the seed claim', () => {
  const claim = builtinClaim();
  test('hosts, shared runtime, tools and checks of the claim', () => {
    expect(claim.spec).toBe('built-in');
    expect(claim.hosts.map((h) => [h.name, h.config, h.requiredPrograms])).toEqual([
      ['cc-ci', 'nix/hosts/cc-ci/configuration.nix', ['git-lfs', 'openssl']],
      ['cc-ci-hetzner', 'nix/hosts/cc-ci-hetzner/configuration.nix', ['git-lfs', 'openssl']],
    ]);
    expect(claim.shared).toEqual({
      package: 'cc-ci-run',
      program: 'cc-ci-run',
      file: 'nix/modules/packages.nix',
      toolsAttr: 'ccciRuntimeTools',
      envAttr: 'ccciPyEnv',
    });
    expect(claim.expectedTools.match).toBe('superset');
    expect(claim.expectedTools.entries).toHaveLength(15);
    expect(claim.checks).toEqual([...CHECK_IDS]);
    expect(claim.searchDir).toBe('nix');
  });
  test('the consumers of HOW 4-6: the timer-started sweep, the Drone step, the system packages', () => {
    expect(claim.consumers.map((c) => [c.kind, c.name])).toEqual([
      ['systemd-service', 'nightly-sweep'],
      ['drone-step', 'drone'],
      ['system-packages', 'system-packages'],
    ]);
    expect(claim.consumers[0]).toMatchObject({
      unit: 'cc-ci-nightly-sweep.service',
      startedByTimer: true,
      moduleMustNotContain: ['withPackages', 'python3', '/run/current-system/sw/bin'],
      moduleRuntimeInputsOnly: true,
      moduleExecsProgram: true,
    });
    expect(claim.consumers[1]).toMatchObject({
      pipeline: '.drone.yml',
      runs: 'runner/run_recipe_ci.py',
      runnerUnit: 'drone-runner-exec.service',
    });
  });
  test('the grep proofs of HOW 2', () => {
    expect(claim.proofs).toEqual([
      { id: 'one-env', pattern: 'withPackages', count: 1, inSharedFile: true },
      { id: 'one-package-list', pattern: 'pytest playwright', count: 1, inSharedFile: false, sameLineAs: 'one-env' },
    ]);
  });
  test('--print-spec prints it, and reading the print back gives the same claim', async () => {
    const out: string[] = [];
    const code = await runCli({
      argv: ['--print-spec'],
      env: {},
      cwd: '/',
      stdout: (t) => out.push(t),
      stderr: () => undefined,
      isTTY: false,
    });
    expect(code).toBe(0);
    // The first line names the JSON Schema (test/unit/specSchema.test.ts); the built-in spec follows.
    expect(out.join('')).toBe(`${SPEC_SCHEMA_MODELINE}\n${BUILTIN_SPEC_YAML}`);
    expect(out.join('').split('\n')[1]).toMatch(/^# nixenv-verify spec/);
    expect({ ...parseSpec(out.join(''), 'printed.yml'), spec: 'built-in' }).toEqual(claim);
    expect(parseArgv(['--print-spec']).printSpec).toBe(true);
  });
});

describe('a spec of another shape', () => {
  const claim = parseSpec(OTHER, 'other.yml');
  test('reads into the claim the checks use', () => {
    expect(claim.hosts).toEqual([{ name: 'lab', config: 'nix/machines/lab.nix', requiredPrograms: ['git'] }]);
    expect(claim.shared).toEqual({
      package: 'lab-run',
      program: 'lab-run',
      file: 'nix/toolbox.nix',
      toolsAttr: 'labTools',
    });
    expect(claim.consumers.map((c) => c.kind)).toEqual(['runner-service', 'systemd-service', 'derivation']);
    expect(claim.checks).toEqual([...CHECK_IDS]);
  });
  test('what differs from the seed claim is listed', () => {
    const labels = claimDeviations(claim).map((d) => d.label);
    expect(labels).toEqual(
      expect.arrayContaining([
        'hosts=lab',
        'package=lab-run',
        'tools_attr=labTools',
        'pyenv_attr=(none)',
        'packages_file=nix/toolbox.nix',
        'host_config: lab=nix/machines/lab.nix',
      ]),
    );
    expect(labels.find((l) => l.startsWith('consumers '))).toBe(
      'consumers without nightly-sweep, drone, system-packages, with runner (runner-service), backup (systemd-service), bundle (derivation)',
    );
    expect(labels.find((l) => l.startsWith('grep proofs'))).toBe('grep proofs: "labTools ="');
  });
  test('a consumer on some hosts only: its hosts in the claim and in the deviation, judged there alone', () => {
    const two = OTHER.replace(
      '  - name: lab\n',
      '  - name: lab2\n    config: nix/machines/lab2.nix\n  - name: lab\n',
    ).replace('    started_by_timer: true\n', '    started_by_timer: true\n    hosts: [lab]\n');
    const c = parseSpec(two, 'other.yml');
    expect(c.consumers.map((x) => (x.kind === 'derivation' ? 'derivation' : x.hosts))).toEqual([
      undefined,
      ['lab'],
      'derivation',
    ]);
    expect(consumersOn(c, 'lab').map((x) => x.name)).toEqual(['runner', 'backup']);
    expect(consumersOn(c, 'lab2').map((x) => x.name)).toEqual(['runner']);
    expect(claimDeviations(c).find((d) => d.setting === 'consumers')?.label).toContain(
      'backup (systemd-service on lab only)',
    );
  });
  test('the seed claim differs from itself in nothing', () => expect(claimDeviations(builtinClaim())).toEqual([]));
});

describe('bad specs: exit 2 with file:line:column and what is allowed', () => {
  test(`at least 15 rows (${BAD.length})`, () => expect(BAD.length).toBeGreaterThanOrEqual(15));
  test.each(BAD)('%s', (_name, text, line, column, message) => {
    let error: unknown;
    try {
      parseSpec(text, 'lab/.nixenv-verify.yml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecError);
    expect(error).toBeInstanceOf(SettingsError); // exit 2
    const problem = (error as SpecError).problems.find((p) => message.test(`${p.at ? `${p.at}: ` : ''}${p.message}`));
    expect([problem?.line, problem?.column, (error as SpecError).message]).toEqual([
      line,
      column,
      expect.stringContaining(`lab/.nixenv-verify.yml:${line}:${column}: `),
    ]);
    expect((error as Error).message).not.toMatch(/\n\s+at /); // no stack
  });
});

describe('settings over the spec: flag > PLUGIN_* > spec > built-in', () => {
  let repo: string;
  beforeEach(() => {
    repo = mkdtempSync(path.join(os.tmpdir(), 'nv-spec-'));
    mkdirSync(path.join(repo, 'nix'));
  });
  afterEach(() => rmSync(repo, { recursive: true, force: true }));
  const parse = (env: NodeJS.ProcessEnv, flags: Record<string, string> = {}) =>
    parseSettings({ env: { PLUGIN_FLAKE: repo, ...env }, flags, cwd: repo });

  test('no spec file: the built-in spec', () => {
    const s = parse({});
    expect(s.spec).toBeUndefined();
    expect(s.claim).toEqual(builtinClaim());
    expect(settingsDeviations(s)).toEqual([]);
  });
  test('.nixenv-verify.yml at the repository root is read by default', () => {
    writeFileSync(path.join(repo, '.nixenv-verify.yml'), OTHER);
    const s = parse({});
    expect(s.spec).toBe('.nixenv-verify.yml');
    expect(s.hosts).toEqual(['lab']);
    expect(s.claim.shared.package).toBe('lab-run');
  });
  test('the spec setting names another file (relative to the repository)', () => {
    writeFileSync(path.join(repo, '.nixenv-verify.yml'), BUILTIN_SPEC_YAML);
    writeFileSync(path.join(repo, 'claims.yml'), OTHER);
    expect(parse({ PLUGIN_SPEC: 'claims.yml' }).claim.shared.package).toBe('lab-run');
  });
  test('PLUGIN_* over the spec, a flag over PLUGIN_*', () => {
    writeFileSync(path.join(repo, '.nixenv-verify.yml'), OTHER);
    const byEnv = parse({ PLUGIN_PACKAGE: 'ops-run', PLUGIN_EXPECTED_TOOLS: 'git-2.47.2', PLUGIN_CHECKS: 'build' });
    expect([
      byEnv.claim.shared.package,
      byEnv.claim.shared.program,
      byEnv.claim.expectedTools.entries,
      byEnv.checks,
    ]).toEqual(['ops-run', 'ops-run', ['git-2.47.2'], ['build']]);
    const byFlag = parse({ PLUGIN_PACKAGE: 'ops-run' }, { package: 'flag-run' });
    expect(byFlag.claim.shared.package).toBe('flag-run');
    // What is not set stays the spec's.
    expect(byFlag.claim.shared.toolsAttr).toBe('labTools');
    expect(byFlag.claim.consumers.map((c) => c.name)).toEqual(['runner', 'backup', 'bundle']);
  });
  test('PLUGIN_HOSTS picks hosts; one the spec does not know takes host_defaults, else exit 2', () => {
    writeFileSync(path.join(repo, '.nixenv-verify.yml'), BUILTIN_SPEC_YAML);
    expect(parse({ PLUGIN_HOSTS: 'cc-ci,cc-ci-extra' }).claim.hosts.map((h) => h.config)).toEqual([
      'nix/hosts/cc-ci/configuration.nix',
      'nix/hosts/cc-ci-extra/configuration.nix',
    ]);
    writeFileSync(path.join(repo, '.nixenv-verify.yml'), OTHER);
    expect(() => parse({ PLUGIN_HOSTS: 'lab,other' })).toThrow(
      /PLUGIN_HOSTS: host "other" is not in the spec \(\.nixenv-verify\.yml\) and it has no host_defaults\.config; set PLUGIN_HOST_CONFIG/,
    );
    expect(
      parse({ PLUGIN_HOSTS: 'lab,other', PLUGIN_HOST_CONFIG: 'nix/machines/{host}.nix' }).claim.hosts.map(
        (h) => h.config,
      ),
    ).toEqual(['nix/machines/lab.nix', 'nix/machines/other.nix']);
  });
  test('a setting for a consumer the spec does not have exits 2 naming it', () => {
    writeFileSync(
      path.join(repo, '.nixenv-verify.yml'),
      OTHER.replace('started_by_timer: true', 'started_by_timer: false'),
    );
    expect(() => parse({ PLUGIN_SWEEP: 'nightly' })).toThrow(
      /PLUGIN_SWEEP: the spec \(\.nixenv-verify\.yml\) has no systemd-service \(started_by_timer: true\) consumer for it to change; edit the spec instead/,
    );
    expect(() => parse({ PLUGIN_DRONE_FILE: '.drone.yml' })).toThrow(
      /PLUGIN_DRONE_FILE: the spec \(\.nixenv-verify\.yml\) has no drone-step consumer/,
    );
    // Named as the user gave it.
    expect(() => parse({}, { sweep: 'nightly' })).toThrow(
      /--sweep: the spec \(\.nixenv-verify\.yml\) has no systemd-service/,
    );
  });
  test('the seed settings change the seed consumers, and are listed as before', () => {
    const s = parse({ PLUGIN_SWEEP: 'sweep2', PLUGIN_DRONE_SCRIPT: 'ci.py', PLUGIN_REQUIRED_BINS: 'git' });
    expect(s.claim.consumers[0]).toMatchObject({ unit: 'sweep2.service' });
    expect(s.claim.consumers[1]).toMatchObject({ runs: 'ci.py' });
    expect(settingsDeviations(s).map((d) => d.label)).toEqual([
      'sweep=sweep2',
      'drone_script=ci.py',
      'required_bins without git-lfs, openssl, with git',
    ]);
  });
  test('a spec file that is missing, a directory, or bad exits 2 naming PLUGIN_SPEC or the file', () => {
    expect(() => parse({ PLUGIN_SPEC: 'nope.yml' })).toThrow(/PLUGIN_SPEC: "nope.yml" does not exist/);
    expect(() => parse({ PLUGIN_SPEC: 'nix' })).toThrow(/PLUGIN_SPEC: "nix" is a directory; expected a spec file/);
    expect(() => parse({}, { spec: 'nope.yml' })).toThrow(/--spec: "nope.yml" does not exist/);
    writeFileSync(path.join(repo, '.nixenv-verify.yml'), 'version: 1\nhosts: [lab\n');
    expect(() => parse({})).toThrow(/invalid spec \.nixenv-verify\.yml:\n {2}\.nixenv-verify\.yml:3:1: not valid YAML/);
  });
  test('through the CLI: exit 2, one message, no stack', async () => {
    writeFileSync(path.join(repo, '.nixenv-verify.yml'), OTHER.replace('kind: runner-service', 'kind: cron'));
    const err: string[] = [];
    const code = await runCli({
      argv: [],
      env: { PLUGIN_FLAKE: repo },
      cwd: repo,
      stdout: () => undefined,
      stderr: (t) => err.push(t),
      isTTY: false,
    });
    expect(code).toBe(2);
    expect(err.join('')).toMatch(
      /^nixenv-verify: invalid spec \.nixenv-verify\.yml:\n {2}\.nixenv-verify\.yml:14:11: consumers\[0\]\.kind: expected kind: /,
    );
    expect(err.join('')).not.toMatch(/\n\s+at /);
  });
  test('applySettings leaves the spec it was given untouched', () => {
    const claim = parseSpec(OTHER, 'x.yml');
    const before = JSON.stringify(claim);
    applySettings(claim, { package: 'p', hosts: ['lab'] });
    expect(JSON.stringify(claim)).toBe(before);
  });
});
