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
import { applySettings, claimDeviations } from '../../src/claim/claim.js';
import { builtinClaim, parseSpec, SpecError } from '../../src/claim/load.js';
import { CHECK_IDS } from '../../src/verdict.js';

/** A small valid spec of another shape (one host, a runner service, a timer job, a derivation). */
const OTHER = `version: 1
hosts:
  - name: lab
    config: nix/machines/lab.nix
    required_programs: [git]
shared:
  package: lab-run
  file: nix/toolbox.nix
  tools_attr: labTools
expected_tools:
  entries: [git-2.47.2, jq-1.7.1]
consumers:
  - name: runner
    kind: runner-service
    unit: github-runner-lab.service
  - name: backup
    kind: systemd-service
    unit: lab-backup.service
    started_by_timer: true
  - name: bundle
    kind: derivation
    attr: packages.x86_64-linux.lab-bundle
search_dir: nix
proofs:
  - id: one-list
    pattern: "labTools ="
    count: 1
    in_shared_file: true
`;

describe('the built-in spec is the seed claim', () => {
  const claim = builtinClaim();
  test('hosts, shared runtime, tools and checks of the claim', () => {
    expect(claim.spec).toBe('built-in');
    expect(claim.hosts.map((h) => [h.name, h.config, h.requiredPrograms])).toEqual([
      ['cc-ci', 'nix/hosts/cc-ci/configuration.nix', ['git-lfs', 'openssl']],
      ['cc-ci-hetzner', 'nix/hosts/cc-ci-hetzner/configuration.nix', ['git-lfs', 'openssl']],
    ]);
    expect(claim.shared).toEqual({ package: 'cc-ci-run', program: 'cc-ci-run', file: 'nix/modules/packages.nix', toolsAttr: 'ccciRuntimeTools', envAttr: 'ccciPyEnv' });
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
    expect(claim.consumers[0]).toMatchObject({ unit: 'cc-ci-nightly-sweep.service', startedByTimer: true, moduleMustNotContain: ['withPackages', 'python3', '/run/current-system/sw/bin'], moduleRuntimeInputsOnly: true, moduleExecsProgram: true });
    expect(claim.consumers[1]).toMatchObject({ pipeline: '.drone.yml', runs: 'runner/run_recipe_ci.py', runnerUnit: 'drone-runner-exec.service' });
  });
  test('the grep proofs of HOW 2', () => {
    expect(claim.proofs).toEqual([
      { id: 'one-env', pattern: 'withPackages', count: 1, inSharedFile: true },
      { id: 'one-package-list', pattern: 'pytest playwright', count: 1, inSharedFile: false, sameLineAs: 'one-env' },
    ]);
  });
  test('--print-spec prints it, and reading the print back gives the same claim', async () => {
    const out: string[] = [];
    const code = await runCli({ argv: ['--print-spec'], env: {}, cwd: '/', stdout: (t) => out.push(t), stderr: () => undefined, isTTY: false });
    expect(code).toBe(0);
    expect(out.join('')).toBe(BUILTIN_SPEC_YAML);
    expect(out.join('')).toMatch(/^# nixenv-verify spec/);
    expect({ ...parseSpec(out.join(''), 'printed.yml'), spec: 'built-in' }).toEqual(claim);
    expect(parseArgv(['--print-spec']).printSpec).toBe(true);
  });
});

describe('a spec of another shape', () => {
  const claim = parseSpec(OTHER, 'other.yml');
  test('reads into the claim the checks use', () => {
    expect(claim.hosts).toEqual([{ name: 'lab', config: 'nix/machines/lab.nix', requiredPrograms: ['git'] }]);
    expect(claim.shared).toEqual({ package: 'lab-run', program: 'lab-run', file: 'nix/toolbox.nix', toolsAttr: 'labTools' });
    expect(claim.consumers.map((c) => c.kind)).toEqual(['runner-service', 'systemd-service', 'derivation']);
    expect(claim.checks).toEqual([...CHECK_IDS]);
  });
  test('what differs from the seed claim is listed', () => {
    const labels = claimDeviations(claim).map((d) => d.label);
    expect(labels).toEqual(
      expect.arrayContaining(['hosts=lab', 'package=lab-run', 'tools_attr=labTools', 'pyenv_attr=(none)', 'packages_file=nix/toolbox.nix', 'host_config: lab=nix/machines/lab.nix']),
    );
    expect(labels.find((l) => l.startsWith('consumers '))).toBe('consumers without nightly-sweep, drone, system-packages, with runner (runner-service), backup (systemd-service), bundle (derivation)');
    expect(labels.find((l) => l.startsWith('grep proofs'))).toBe('grep proofs: "labTools ="');
  });
  test('the seed claim differs from itself in nothing', () => expect(claimDeviations(builtinClaim())).toEqual([]));
});

/** One bad spec per row: the problem's line, column and words. */
export const BAD: [string, string, number, number, RegExp][] = [
  ['YAML syntax error', 'version: 1\nhosts: [cc-ci\n', 3, 1, /not valid YAML/],
  ['a duplicate key', 'version: 1\nversion: 1\n', 2, 1, /not valid YAML: the key "version" appears twice in one map/],
  ['a second YAML document', `${OTHER}---\nversion: 1\n`, 29, 1, /not valid YAML: a spec is one YAML document; this file has another after `---`/],
  ['a NUL byte', 'version: 1\u0000\n', 1, 11, /a NUL byte: a spec is a YAML text file/],
  ['a required key missing', OTHER.replace('  tools_attr: labTools\n', ''), 7, 3, /shared\.tools_attr: missing; expected a Nix attribute name \(pkgs\.<tools_attr>\)/],
  ['an empty file', '', 1, 1, /the file is empty; expected a spec \(run nixenv-verify --print-spec for one\)/],
  ['a list, not a map', '- a\n- b\n', 1, 1, /expected a map \(a spec: version, hosts/],
  ['no version', OTHER.replace('version: 1\n', ''), 1, 1, /version: missing; expected version: 1/],
  ['version 2', OTHER.replace('version: 1', 'version: 2'), 1, 10, /version: expected version: 1/],
  ['an unknown top-level key', `${OTHER}colour: blue\n`, 29, 1, /colour: unknown key "colour"; allowed here: version, hosts, host_defaults, shared/],
  ['an unknown key in shared', OTHER.replace('  tools_attr: labTools', '  tools_attr: labTools\n  tool_list: x'), 10, 3, /shared\.tool_list: unknown key "tool_list"; allowed here: package, program, file, tools_attr, env_attr/],
  ['an unknown key in a consumer, named with the keys its kind allows', OTHER.replace('    unit: github-runner-lab.service', '    unit: github-runner-lab.service\n    pipeline: .drone.yml'), 16, 5, /consumers\[0\]\.pipeline: unknown key "pipeline"; allowed here: name, kind, unit, module, module_must_not_contain/],
  ['shared missing', OTHER.replace(/shared:\n(  .*\n)+/, ''), 1, 1, /shared: missing; expected a map with package, file, tools_attr/],
  ['a consumer kind that does not exist', OTHER.replace('kind: runner-service', 'kind: cron'), 14, 11, /consumers\[0\]\.kind: expected kind: systemd-service, drone-step, runner-service, system-packages or derivation/],
  ['a unit name without .service', OTHER.replace('unit: lab-backup.service', 'unit: lab-backup'), 18, 11, /consumers\[1\]\.unit: expected a systemd service unit name ending in \.service/],
  ['a boolean written as yes', OTHER.replace('started_by_timer: true', 'started_by_timer: yes'), 19, 23, /consumers\[1\]\.started_by_timer: expected true or false/],
  ['a path leaving the repository', OTHER.replace('file: nix/toolbox.nix', 'file: ../other/toolbox.nix'), 8, 9, /shared\.file: expected a relative path inside the repository \(no leading \/ and no \.\.\)/],
  ['an absolute path', OTHER.replace('config: nix/machines/lab.nix', 'config: /etc/nixos/lab.nix'), 4, 13, /hosts\[0\]\.config: expected a relative path inside the repository/],
  ['an empty tool list', OTHER.replace('entries: [git-2.47.2, jq-1.7.1]', 'entries: []'), 11, 12, /expected_tools\.entries: expected a non-empty list of name-version entries/],
  ['match neither superset nor exact', OTHER.replace('expected_tools:\n', 'expected_tools:\n  match: all\n'), 11, 10, /expected_tools\.match: expected superset or exact/],
  ['a check that does not exist', `${OTHER}checks: [build, lint]\n`, 29, 17, /checks\[1\]: expected one of build, single-source/],
  ['two consumers of one name', OTHER.replace('  - name: backup', '  - name: runner'), 16, 11, /consumers\[1\]\.name: consumer name "runner" is used twice \(first at consumers\[0\]\)/],
  ['same_line_as naming no proof', `${OTHER}  - pattern: x\n    count: 1\n    same_line_as: nothing\n`, 31, 19, /proofs\[1\]\.same_line_as: no proof has id "nothing" \(ids: one-list\)/],
  ['a proof with both count and at_least', OTHER.replace('    count: 1\n', '    count: 1\n    at_least: 2\n'), 25, 5, /proofs\[0\]: expected exactly one of count and at_least/],
  ['a host listed twice', OTHER.replace('hosts:\n', 'hosts:\n  - lab\n'), 4, 5, /hosts\[1\]: host "lab" is listed twice \(first at hosts\[0\]\)/],
  ['a host with no config file', OTHER.replace('hosts:\n', 'hosts:\n  - other\n'), 3, 5, /hosts\[0\]: host "other" has no config file: give it config, or host_defaults.config with \{host\}/],
  ['a host name Nix cannot name', OTHER.replace('  - name: lab\n', '  - name: "lab/x"\n'), 3, 11, /hosts\[0\]\.name: expected a nixosConfigurations attribute name/],
  ['a Nix attribute name with a space', OTHER.replace('package: lab-run', 'package: lab run'), 7, 12, /shared\.package: expected a Nix attribute name/],
  ['module_must_not_contain without a module', OTHER.replace('    unit: github-runner-lab.service', '    unit: github-runner-lab.service\n    module_must_not_contain: [x]'), 16, 30, /consumers\[0\]\.module_must_not_contain: needs module/],
  ['a derivation attr that is no attribute path', OTHER.replace('attr: packages.x86_64-linux.lab-bundle', 'attr: "lab bundle"'), 22, 11, /consumers\[2\]\.attr: expected a flake output attribute path/],
];

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
    expect([problem?.line, problem?.column, (error as SpecError).message]).toEqual([line, column, expect.stringContaining(`lab/.nixenv-verify.yml:${line}:${column}: `)]);
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
  const parse = (env: NodeJS.ProcessEnv, flags: Record<string, string> = {}) => parseSettings({ env: { PLUGIN_FLAKE: repo, ...env }, flags, cwd: repo });

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
    expect([byEnv.claim.shared.package, byEnv.claim.shared.program, byEnv.claim.expectedTools.entries, byEnv.checks]).toEqual(['ops-run', 'ops-run', ['git-2.47.2'], ['build']]);
    const byFlag = parse({ PLUGIN_PACKAGE: 'ops-run' }, { package: 'flag-run' });
    expect(byFlag.claim.shared.package).toBe('flag-run');
    // What is not set stays the spec's.
    expect(byFlag.claim.shared.toolsAttr).toBe('labTools');
    expect(byFlag.claim.consumers.map((c) => c.name)).toEqual(['runner', 'backup', 'bundle']);
  });
  test('PLUGIN_HOSTS picks hosts; one the spec does not know takes host_defaults, else exit 2', () => {
    writeFileSync(path.join(repo, '.nixenv-verify.yml'), BUILTIN_SPEC_YAML);
    expect(parse({ PLUGIN_HOSTS: 'cc-ci,cc-ci-extra' }).claim.hosts.map((h) => h.config)).toEqual(['nix/hosts/cc-ci/configuration.nix', 'nix/hosts/cc-ci-extra/configuration.nix']);
    writeFileSync(path.join(repo, '.nixenv-verify.yml'), OTHER);
    expect(() => parse({ PLUGIN_HOSTS: 'lab,other' })).toThrow(/PLUGIN_HOSTS: host "other" is not in the spec \(\.nixenv-verify\.yml\) and it has no host_defaults\.config; set PLUGIN_HOST_CONFIG/);
    expect(parse({ PLUGIN_HOSTS: 'lab,other', PLUGIN_HOST_CONFIG: 'nix/machines/{host}.nix' }).claim.hosts.map((h) => h.config)).toEqual(['nix/machines/lab.nix', 'nix/machines/other.nix']);
  });
  test('a setting for a consumer the spec does not have exits 2 naming it', () => {
    writeFileSync(path.join(repo, '.nixenv-verify.yml'), OTHER.replace('started_by_timer: true', 'started_by_timer: false'));
    expect(() => parse({ PLUGIN_SWEEP: 'nightly' })).toThrow(/PLUGIN_SWEEP: the spec \(\.nixenv-verify\.yml\) has no systemd-service \(started_by_timer: true\) consumer for it to change; edit the spec instead/);
    expect(() => parse({ PLUGIN_DRONE_FILE: '.drone.yml' })).toThrow(/PLUGIN_DRONE_FILE: the spec \(\.nixenv-verify\.yml\) has no drone-step consumer/);
    // Named as the user gave it.
    expect(() => parse({}, { sweep: 'nightly' })).toThrow(/--sweep: the spec \(\.nixenv-verify\.yml\) has no systemd-service/);
  });
  test('the seed settings change the seed consumers, and are listed as before', () => {
    const s = parse({ PLUGIN_SWEEP: 'sweep2', PLUGIN_DRONE_SCRIPT: 'ci.py', PLUGIN_REQUIRED_BINS: 'git' });
    expect(s.claim.consumers[0]).toMatchObject({ unit: 'sweep2.service' });
    expect(s.claim.consumers[1]).toMatchObject({ runs: 'ci.py' });
    expect(settingsDeviations(s).map((d) => d.label)).toEqual(['sweep=sweep2', 'drone_script=ci.py', 'required_bins without git-lfs, openssl, with git']);
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
    const code = await runCli({ argv: [], env: { PLUGIN_FLAKE: repo }, cwd: repo, stdout: () => undefined, stderr: (t) => err.push(t), isTTY: false });
    expect(code).toBe(2);
    expect(err.join('')).toMatch(/^nixenv-verify: invalid spec \.nixenv-verify\.yml:\n {2}\.nixenv-verify\.yml:14:11: consumers\[0\]\.kind: expected kind: /);
    expect(err.join('')).not.toMatch(/\n\s+at /);
  });
  test('applySettings leaves the spec it was given untouched', () => {
    const claim = parseSpec(OTHER, 'x.yml');
    const before = JSON.stringify(claim);
    applySettings(claim, { package: 'p', hosts: ['lab'] });
    expect(JSON.stringify(claim)).toBe(before);
  });
});
