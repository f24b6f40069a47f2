// --check-spec on a real small fixture flake (ops-lab, real Nix, nothing built):
// one row per spec mistake a user makes, each asserting the message names the
// spec key, its line in the spec file, and the fix ("did you mean", the form to write).
import { readFileSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkSpec } from '../../src/claim/checkSpec.js';
import { zxRunner } from '../../src/nix/command.js';
import { createNixClient, type NixClient } from '../../src/nix/client.js';
import { makeFixture, removeFixture } from '../fixtures/make-fixture.mjs';
import { runCli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-check-spec-'));
let dir = '';
let nix: NixClient;
let SPEC = '';
beforeAll(async () => {
  dir = makeFixture(path.join(work, 'ops-lab'), { fixture: 'ops-lab' }).dir;
  SPEC = readFileSync(path.join(dir, '.nixenv-verify.yml'), 'utf8');
  nix = await createNixClient({
    runner: zxRunner,
    flakeDir: dir,
    submodules: false,
    extraArgs: [],
    timeoutMs: 300_000,
  });
}, 300_000);
afterAll(() => {
  removeFixture(path.join(work, 'ops-lab'));
  rmSync(work, { recursive: true, force: true });
});

const edit = (find: string, replace: string) => (text: string) => {
  if (!text.includes(find)) throw new Error(`row edit: ${JSON.stringify(find)} is not in the spec`);
  return text.replace(find, replace);
};
/** The 1-based line of the first line containing `marker`. */
const lineOf = (text: string, marker: string): number => text.split('\n').findIndex((l) => l.includes(marker)) + 1;

// [mistake, edit of ops-lab's own spec, marker on the expected line, the key, the message with its fix]
const ROWS: [string, (t: string) => string, string, string, RegExp][] = [
  [
    'a top-level key misspelt',
    edit('search_dir: nix', 'serach_dir: nix'),
    'serach_dir',
    'serach_dir',
    /unknown key "serach_dir".*did you mean search_dir\?/,
  ],
  [
    'a shared key misspelt',
    edit('  tools_attr: labTools', '  tools_atr: labTools'),
    'tools_atr',
    'shared.tools_atr',
    /unknown key "tools_atr".*did you mean tools_attr\?/,
  ],
  [
    'a host key misspelt',
    edit('    config: nix/machines/lab.nix', '    confg: nix/machines/lab.nix'),
    'confg',
    'hosts[0].confg',
    /unknown key "confg".*did you mean config\?/,
  ],
  [
    'a consumer key misspelt',
    edit('    started_by_timer: true', '    started_by_timers: true'),
    'started_by_timers',
    'consumers[1].started_by_timers',
    /did you mean started_by_timer\?/,
  ],
  [
    'a kind misspelt',
    edit('kind: runner-service', 'kind: runner-servce'),
    'runner-servce',
    'consumers[0].kind',
    /expected kind: .*; did you mean runner-service\?/,
  ],
  [
    'a kind in the singular',
    edit('kind: system-packages', 'kind: system-package'),
    'kind: system-package',
    'consumers[2].kind',
    /did you mean system-packages\?/,
  ],
  [
    'match misspelt',
    edit('match: superset', 'match: supreset'),
    'supreset',
    'expected_tools.match',
    /expected superset or exact; did you mean superset\?/,
  ],
  [
    'a yes for a boolean',
    edit('started_by_timer: true', 'started_by_timer: yes'),
    'started_by_timer',
    'consumers[1].started_by_timer',
    /expected true or false/,
  ],
  [
    'a unit without .service',
    edit('unit: lab-backup.service', 'unit: lab-backup'),
    'unit: lab-backup',
    'consumers[1].unit',
    /expected a systemd service unit name ending in \.service/,
  ],
  [
    'a host the flake does not have',
    edit('  - name: lab\n', '  - name: lab2\n'),
    'name: lab2',
    'hosts[0].name',
    /host "lab2" is not in nixosConfigurations \(the flake has: lab\); did you mean lab\?/,
  ],
  [
    'a host config in the wrong folder',
    edit('config: nix/machines/lab.nix', 'config: nix/machine/lab.nix'),
    'nix/machine/lab.nix',
    'hosts[0].config',
    /"nix\/machine\/lab\.nix" does not exist in the repository; did you mean nix\/machines\/lab\.nix\?/,
  ],
  [
    'the shared file misspelt',
    edit('file: nix/toolbox.nix', 'file: nix/tolbox.nix'),
    'tolbox',
    'shared.file',
    /did you mean nix\/toolbox\.nix\?/,
  ],
  [
    'the package attribute misspelt',
    edit('package: lab-run', 'package: lab-rn'),
    'lab-rn',
    'shared.package',
    /pkgs\.lab-rn does not exist on host lab; did you mean lab-run\?/,
  ],
  [
    'the tools attribute misspelt',
    edit('tools_attr: labTools', 'tools_attr: labtools'),
    'labtools',
    'shared.tools_attr',
    /pkgs\.labtools does not exist on host lab; did you mean labTools\?/,
  ],
  [
    'a program the package does not have',
    edit('  file: nix/toolbox.nix', '  program: labrun\n  file: nix/toolbox.nix'),
    'program: labrun',
    'shared.program',
    /by name \(--check-spec builds nothing\), pkgs\.lab-run's bin\/ holds lab-run; did you mean lab-run\?/,
  ],
  [
    'an env_attr the shared file does not bind',
    edit('  tools_attr: labTools', '  tools_attr: labTools\n  env_attr: labEnv'),
    'env_attr',
    'shared.env_attr',
    /nix\/toolbox\.nix binds no labEnv/,
  ],
  [
    'a service unit misspelt',
    edit('unit: lab-backup.service', 'unit: lab-bakup.service'),
    'lab-bakup',
    'consumers[1].unit',
    /unit lab-bakup\.service is not on host lab .*; did you mean lab-backup\.service\?/,
  ],
  [
    'the runner unit without its host suffix',
    edit('unit: github-runner-lab.service', 'unit: github-runner.service'),
    'github-runner.service',
    'consumers[0].unit',
    /did you mean github-runner-lab\.service\?/,
  ],
  [
    'a module file misspelt',
    edit('module: nix/ci-runner.nix', 'module: nix/ci-runners.nix'),
    'ci-runners',
    'consumers[0].module',
    /did you mean nix\/ci-runner\.nix\?/,
  ],
  [
    'an entry without a version',
    edit('jq-1.7.1', 'jq'),
    'entries:',
    'expected_tools.entries[3]',
    /"jq" has no version; write it name-version/,
  ],
  [
    'an entry whose dash starts a name, not a version',
    edit('git-2.47.2, ', 'git-lfs, '),
    'entries:',
    'expected_tools.entries[0]',
    /"git-lfs" has no version; write it name-version .* e\.g\. git-lfs-1\.2\.3/,
  ],
  [
    'a derivation attribute misspelt',
    edit('lab-bundle', 'lab-bundel'),
    'lab-bundel',
    'consumers[3].attr',
    /"lab-bundel" is not there; did you mean lab-bundle\?/,
  ],
  [
    'a system misspelt',
    edit('packages.x86_64-linux.lab-bundle', 'packages.x86_64-linx.lab-bundle'),
    'x86_64-linx',
    'consumers[3].attr',
    /did you mean x86_64-linux\?/,
  ],
  [
    'an output that does not exist',
    edit('packages.x86_64-linux.lab-bundle', 'package.x86_64-linux.lab-bundle'),
    'package.x86_64',
    'consumers[3].attr',
    /the flake has no output package .*did you mean packages\?/,
  ],
  [
    'a through attribute misspelt (the stream of a buildLayeredImage)',
    edit('attr: packages.x86_64-linux.lab-bundle', 'attr: packages.x86_64-linux.lab-image\n    through: streem'),
    'streem',
    'consumers[3].through',
    /packages\.x86_64-linux\.lab-image has no attribute streem: .*did you mean stream\?/,
  ],
  [
    'a through attribute that is not a derivation',
    edit('attr: packages.x86_64-linux.lab-bundle', 'attr: packages.x86_64-linux.lab-image\n    through: imageTag'),
    'imageTag',
    'consumers[3].through',
    /lab-image\.imageTag is not a derivation/,
  ],
  [
    'search_dir misspelt',
    edit('search_dir: nix', 'search_dir: nixx'),
    'search_dir',
    'search_dir',
    /"nixx" does not exist in the repository; did you mean nix\?/,
  ],
  [
    'a key under the wrong map',
    edit('  tools_attr: labTools', '  tools_attr: labTools\n  required_programs: [git]'),
    'required_programs: [git]',
    'shared.required_programs',
    /unknown key "required_programs"; allowed here: package, program, file, tools_attr, env_attr/,
  ],
];

describe('--check-spec: a table of spec mistakes on ops-lab (real Nix)', () => {
  test(`at least 20 rows (${ROWS.length})`, () => expect(ROWS.length).toBeGreaterThanOrEqual(20));
  test('the honest spec has no problem', async () => {
    const r = await checkSpec(SPEC, '.nixenv-verify.yml', { flake: dir, evalJson: (a, f) => nix.evalJson(a, f) });
    expect(r.problems).toEqual([]);
  }, 120_000);
  test.each(ROWS)(
    '%s',
    async (_name, change, marker, key, message) => {
      const text = change(SPEC);
      const r = await checkSpec(text, 'spec.yml', { flake: dir, evalJson: (a, f) => nix.evalJson(a, f) });
      const shown = r.problems.map((p) => `${p.line}: ${p.at}: ${p.message}`);
      const hit = r.problems.find((p) => p.at === key && message.test(p.message));
      expect([hit ? `${hit.line}: ${hit.at}` : shown]).toEqual([`${lineOf(text, marker)}: ${key}`]);
    },
    120_000,
  );
});

describe('--check-spec through the CLI', () => {
  test('exit 2, every problem on stderr as file:line:column: key: message; no PLUGIN_* named', () => {
    const bad = SPEC.replace('unit: lab-backup.service', 'unit: lab-bakup.service').replace(
      'package: lab-run',
      'package: lab-rn',
    );
    writeFileSync(path.join(work, 'bad.yml'), bad);
    const run = runCli({ flake: dir, spec: path.join(work, 'bad.yml') }, { args: ['--check-spec'] });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `bad.yml:${lineOf(bad, 'lab-bakup')}:11: consumers[1].unit: unit lab-bakup.service is not on host lab`,
    );
    expect(run.stderr).toContain(
      `bad.yml:${lineOf(bad, 'lab-rn')}:12: shared.package: pkgs.lab-rn does not exist on host lab; did you mean lab-run?`,
    );
    expect(run.stderr).not.toMatch(/PLUGIN_/);
    expect(run.report).toBeUndefined(); // no verdict
  }, 300_000);
  test('PLUGIN_CHECK_SPEC=true on the honest spec: exit 0, nothing built', () => {
    const run = runCli({ flake: dir, check_spec: 'true' });
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(run.stdout).toMatch(
      /^spec \.nixenv-verify\.yml: no problems found against the repository \(checked .*hosts lab.*\); nothing was built\n$/,
    );
    expect(run.report).toBeUndefined();
  }, 300_000);
  test('PLUGIN_CHECK_SPEC=yes: exit 2 naming it', () => {
    const run = runCli({ flake: dir, check_spec: 'yes' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/PLUGIN_CHECK_SPEC: got "yes"; expected true or false/);
  });
});

describe('a spec attribute Nix does not find (real Nix, eval mode)', () => {
  test("Nix's error is on the console of a verification, and --check-spec names the key and line", () => {
    const bad = SPEC.replace('attr: packages.x86_64-linux.lab-bundle', 'attr: devShells.default');
    const file = path.join(work, 'devshell.yml');
    writeFileSync(file, bad);
    const run = runCli({ flake: dir, spec: file, mode: 'eval' });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/bundle: error: flake '[^']+' does not provide attribute .*'devShells\.default'/);
    const check = runCli({ flake: dir, spec: file }, { args: ['--check-spec'] });
    expect(check.code).toBe(2);
    expect(check.stderr).toContain(
      `devshell.yml:${lineOf(bad, 'devShells.default')}:11: consumers[3].attr: the flake has no output devShells`,
    );
  }, 300_000);
});

describe('--check-spec with a consumer on some hosts only (real Nix: ops-lab with a second machine)', () => {
  const base = path.join(work, 'two-hosts');
  let two = '';
  let twoSpec = '';
  let twoNix: NixClient;
  beforeAll(async () => {
    two = makeFixture(base, { fixture: 'ops-lab', mutation: 'hosts-backup-on-one-host' }).dir;
    twoSpec = readFileSync(path.join(two, '.nixenv-verify.yml'), 'utf8');
    twoNix = await createNixClient({
      runner: zxRunner,
      flakeDir: two,
      submodules: false,
      extraArgs: [],
      timeoutMs: 300_000,
    });
  }, 300_000);
  afterAll(() => removeFixture(base));
  const check = (text: string) =>
    checkSpec(text, 'spec.yml', { flake: two, evalJson: (a, f) => twoNix.evalJson(a, f) });
  test('hosts: [lab] on the backup: its unit is asked for on lab only, no problem', async () => {
    expect(twoSpec).toContain('    hosts: [lab]\n');
    expect((await check(twoSpec)).problems).toEqual([]);
  }, 120_000);
  test('without hosts: the unit missing on lab2, at the unit line, with the hosts: to write', async () => {
    const text = edit('    hosts: [lab]\n', '')(twoSpec);
    const r = await check(text);
    expect(r.problems.map((p) => [p.line, p.at, p.message])).toEqual([
      [
        lineOf(text, 'unit: lab-backup.service'),
        'consumers[1].unit',
        expect.stringMatching(
          /^unit lab-backup\.service is not on host lab2 .*; it is on lab: if the consumer exists there only, give it hosts: \[lab\]$/,
        ),
      ],
    ]);
  }, 120_000);
  test('hosts: [lab2] where the unit is not: the problem names lab2', async () => {
    const r = await check(edit('    hosts: [lab]\n', '    hosts: [lab2]\n')(twoSpec));
    expect(r.problems.map((p) => [p.at, p.message.split(' (')[0]])).toEqual([
      ['consumers[1].unit', 'unit lab-backup.service is not on host lab2'],
    ]);
  }, 120_000);
});
