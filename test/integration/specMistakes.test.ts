// Issue 18, "a spec right the first time": the mistakes a new user makes writing a spec, one row each, run through
// `nixenv-verify --check-spec` (the CLI, in process) on real fixture flakes (ops-lab, and cc-ci for its Drone step).
// Each row asserts exit 2 and one problem line `FILE:LINE:COLUMN: KEY: MESSAGE` whose line is the line of the
// mistake, whose KEY is the spec key (a dotted path), and whose message holds the fix (did you mean, what exists,
// what to write); and that no PLUGIN_* variable is named (none is set). Nothing is built: one evaluation per row.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { BUILTIN_SPEC_YAML } from '../../src/claim/builtin.js';
import { makeFixture, removeFixture } from '../fixtures/make-fixture.mjs';
import { cliEnv } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-spec-mistakes-'));
const flakes = { ops: '', cc: '' };
const specs = { ops: '', cc: BUILTIN_SPEC_YAML };
beforeAll(() => {
  flakes.ops = makeFixture(path.join(work, 'ops-lab'), { fixture: 'ops-lab' }).dir;
  flakes.cc = makeFixture(path.join(work, 'cc-ci')).dir;
  specs.ops = readFileSync(path.join(flakes.ops, '.nixenv-verify.yml'), 'utf8');
  // An untracked symlink out of the repository (Nix does not see it; --check-spec must not read through it).
  symlinkSync('/etc/hostname', path.join(flakes.ops, 'nix', 'outside.nix'));
}, 300_000);
afterAll(() => {
  removeFixture(path.join(work, 'ops-lab'));
  removeFixture(path.join(work, 'cc-ci'));
  rmSync(work, { recursive: true, force: true });
});

interface Row {
  mistake: string;
  on: keyof typeof flakes;
  /** Edits of the fixture's own (honest) spec: [find, replace]. */
  edits: [string, string][];
  /** Text that starts on the line the problem must point at (its first occurrence, after the edits). */
  line: string;
  key: string;
  /** The message, with its fix. */
  fix: RegExp;
}

const ROWS: Row[] = [
  {
    mistake: 'a consumer key misspelt',
    on: 'ops',
    edits: [['started_by_timer: true', 'started_by_timmer: true']],
    line: 'started_by_timmer',
    key: 'consumers[1].started_by_timmer',
    fix: /unknown key "started_by_timmer"; allowed here: name, kind, unit, .*; did you mean started_by_timer\?$/,
  },
  {
    mistake: 'a kind with an underscore',
    on: 'ops',
    edits: [['kind: systemd-service', 'kind: systemd_service']],
    line: 'systemd_service',
    key: 'consumers[1].kind',
    fix: /expected kind: systemd-service, drone-step, .*; did you mean systemd-service\?$/,
  },
  {
    mistake: 'a unit without .service',
    on: 'ops',
    edits: [['unit: lab-backup.service', 'unit: lab-backup']],
    line: 'unit: lab-backup',
    key: 'consumers[1].unit',
    fix: /ending in \.service .*; did you mean lab-backup\.service\?$/,
  },
  {
    mistake: 'the timer named instead of the service it starts',
    on: 'ops',
    edits: [['unit: lab-backup.service', 'unit: lab-backup.timer']],
    line: 'lab-backup.timer',
    key: 'consumers[1].unit',
    fix: /not its \.timer: did you mean lab-backup\.service\? \(started_by_timer: true says a timer starts it\)$/,
  },
  {
    mistake: 'a unit the host does not have',
    on: 'ops',
    edits: [['unit: lab-backup.service', 'unit: lab-backups.service']],
    line: 'lab-backups',
    key: 'consumers[1].unit',
    fix: /^unit lab-backups\.service is not on host lab \(not in systemd\.units nor systemd\.services\); did you mean lab-backup\.service\?$/,
  },
  {
    mistake: 'a host not in nixosConfigurations',
    on: 'ops',
    edits: [['  - name: lab\n', '  - name: labb\n']],
    line: 'name: labb',
    key: 'hosts[0].name',
    fix: /^host "labb" is not in nixosConfigurations \(the flake has: lab\); did you mean lab\?$/,
  },
  {
    mistake: 'a host config file that does not exist',
    on: 'ops',
    edits: [['config: nix/machines/lab.nix', 'config: nix/machines/lab2.nix']],
    line: 'lab2.nix',
    key: 'hosts[0].config',
    fix: /^"nix\/machines\/lab2\.nix" does not exist in the repository; did you mean nix\/machines\/lab\.nix\?$/,
  },
  {
    mistake: 'a module file misspelt',
    on: 'ops',
    edits: [['module: nix/backup.nix', 'module: nix/backups.nix']],
    line: 'backups.nix',
    key: 'consumers[1].module',
    fix: /does not exist in the repository; did you mean nix\/backup\.nix\?$/,
  },
  {
    mistake: 'a module path that leads out of the repository (a symlink)',
    on: 'ops',
    edits: [['module: nix/backup.nix', 'module: nix/outside.nix']],
    line: 'outside.nix',
    key: 'consumers[1].module',
    fix: /^"nix\/outside\.nix" leads out of the repository \(to \/etc\/hostname\); expected a file inside it$/,
  },
  {
    mistake: 'tools_attr misspelt',
    on: 'ops',
    edits: [['tools_attr: labTools', 'tools_attr: labTool']],
    line: 'labTool',
    key: 'shared.tools_attr',
    fix: /^pkgs\.labTool does not exist on host lab; did you mean labTools\?/,
  },
  {
    mistake: 'the package written with pkgs.',
    on: 'ops',
    edits: [['package: lab-run', 'package: pkgs.lab-run']],
    line: 'pkgs.lab-run',
    key: 'shared.package',
    fix: /expected a Nix attribute name .*; write the attribute name without pkgs\.: did you mean lab-run\?$/,
  },
  {
    mistake: "a program that is not in the package's bin/",
    on: 'ops',
    edits: [['  file: nix/toolbox.nix', '  program: lab-runner\n  file: nix/toolbox.nix']],
    line: 'program: lab-runner',
    key: 'shared.program',
    fix: /pkgs\.lab-run's bin\/ holds lab-run; did you mean lab-run\?$/,
  },
  {
    mistake: 'an expected entry without its version',
    on: 'ops',
    edits: [['entries: [git-2.47.2,', 'entries: [git,']],
    line: 'entries:',
    key: 'expected_tools.entries[0]',
    fix: /^"git" has no version; write it name-version .*: pkgs\.labTools has git-2\.47\.2; did you mean git-2\.47\.2\?$/,
  },
  {
    mistake: 'an expected entry with a space for the dash',
    on: 'ops',
    edits: [['entries: [git-2.47.2,', 'entries: [git 2.47.2,']],
    line: 'entries:',
    key: 'expected_tools.entries[0]',
    fix: /^expected a name-version entry such as git-2\.47\.2; did you mean git-2\.47\.2\?$/,
  },
  {
    mistake: 'an expected entry with a version the tool list does not have',
    on: 'ops',
    edits: [['entries: [git-2.47.2,', 'entries: [git-2.46.0,']],
    line: 'entries:',
    key: 'expected_tools.entries[0]',
    fix: /^"git-2\.46\.0": pkgs\.labTools has git-2\.47\.2, not version 2\.46\.0; did you mean git-2\.47\.2\?/,
  },
  {
    mistake: "a consumer's hosts naming a host the spec does not have",
    on: 'ops',
    edits: [['    module_execs_program: true', '    module_execs_program: true\n    hosts: [lab, lba]']],
    line: 'hosts: [lab, lba]',
    key: 'consumers[1].hosts[1]',
    fix: /^host "lba" is not in the spec's hosts \(lab\); did you mean lab\?$/,
  },
  {
    mistake: 'same_line_as naming a proof id that does not exist',
    on: 'ops',
    edits: [['  - pattern: writeShellApplication', '  - same_line_as: one-lst\n    pattern: writeShellApplication']],
    line: 'one-lst',
    key: 'proofs[1].same_line_as',
    fix: /^no proof has id "one-lst" \(ids: one-list\); did you mean one-list\?$/,
  },
  {
    mistake: 'a proof with both count and at_least',
    on: 'ops',
    edits: [
      [
        '    count: 1\n    in_shared_file: true\n  - pattern',
        '    count: 1\n    at_least: 1\n    in_shared_file: true\n  - pattern',
      ],
    ],
    line: 'at_least: 1',
    key: 'proofs[0].at_least',
    fix: /^give count \(exactly that many hits\) or at_least \(that many or more\), not both: remove one$/,
  },
  {
    mistake: 'a derivation attribute that does not exist',
    on: 'ops',
    edits: [['lab-bundle', 'lab-bundel']],
    line: 'lab-bundel',
    key: 'consumers[3].attr',
    fix: /^the flake has no output packages\.x86_64-linux\.lab-bundel: "lab-bundel" is not there; did you mean lab-bundle\? \(there: .*lab-bundle/,
  },
  {
    mistake: 'a derivation attribute written as a flake reference',
    on: 'ops',
    edits: [['attr: packages', 'attr: .#packages']],
    line: 'attr: .#packages',
    key: 'consumers[3].attr',
    fix: /without the flake reference: did you mean packages\.x86_64-linux\.lab-bundle\?$/,
  },
  {
    mistake: 'a tab indenting a line',
    on: 'ops',
    edits: [['    required_programs: [git, restic]', '\trequired_programs: [git, restic]']],
    line: 'required_programs',
    key: 'hosts[0].required_programs',
    fix: /^not valid YAML: a tab indents this line; YAML indents with spaces only: replace the tab with spaces/,
  },
  {
    mistake: 'a key indented one space off',
    on: 'ops',
    edits: [['    unit: lab-backup.service', '   unit: lab-backup.service']],
    line: '   unit: lab-backup',
    key: 'consumers[1].unit',
    fix: /^not valid YAML: .*; indent this line like the other keys of its map \(with spaces\)/,
  },
  {
    mistake: 'a quote left open',
    on: 'ops',
    edits: [['pattern: "labTools ="', 'pattern: "labTools =']],
    line: 'pattern: "labTools',
    key: 'proofs[0].pattern',
    fix: /^not valid YAML: Missing closing "quote; close the \[ list \], \{ map \} or "quoted text" this line opens/,
  },
  {
    mistake: 'a comma missing between two entries',
    on: 'ops',
    edits: [['entries: [git-2.47.2,', 'entries: [git-2.47.2']],
    line: 'entries:',
    key: 'expected_tools.entries[0]',
    fix: /; a comma is missing between entries: did you mean git-2\.47\.2, rsync-3\.4\.1\?$/,
  },
  {
    mistake: 'a text where a list is expected',
    on: 'ops',
    edits: [['required_programs: [git, restic]', 'required_programs: git, restic']],
    line: 'required_programs',
    key: 'hosts[0].required_programs',
    fix: /^expected a list of program names; write a list: \[git, restic\]$/,
  },
  {
    mistake: 'hosts written as a map keyed by name',
    on: 'ops',
    edits: [['hosts:\n  - name: lab\n    config', 'hosts:\n  lab:\n    config']],
    line: '  lab:',
    key: 'hosts',
    fix: /^expected a list of hosts; write a list, one item per entry: `- name: lab` and its keys under it$/,
  },
  {
    mistake: 'a check id misspelt',
    on: 'ops',
    edits: [['search_dir: nix', 'search_dir: nix\nchecks: [build, path-supreset]']],
    line: 'checks:',
    key: 'checks[1]',
    fix: /^expected one of build, .*; did you mean path-superset\?$/,
  },
  {
    mistake: 'version 2',
    on: 'ops',
    edits: [['version: 1', 'version: 2']],
    line: 'version: 2',
    key: 'version',
    fix: /^expected version: 1$/,
  },
  {
    mistake: 'a path with ..',
    on: 'ops',
    edits: [['search_dir: nix', 'search_dir: ../nix']],
    line: 'search_dir',
    key: 'search_dir',
    fix: /^expected a relative path inside the repository \(no leading \/ and no \.\.\)$/,
  },
  {
    mistake: 'an absolute path',
    on: 'ops',
    edits: [['module: nix/ci-runner.nix', 'module: /srv/lab/nix/ci-runner.nix']],
    line: '/srv/lab',
    key: 'consumers[0].module',
    fix: /write it relative to the repository root \(where flake\.nix is\), without the leading \/$/,
  },
  {
    mistake: 'two consumers of one name',
    on: 'ops',
    edits: [['  - name: backup', '  - name: github-runner']],
    line: '  - name: github-runner\n    kind: systemd',
    key: 'consumers[1].name',
    fix: /^consumer name "github-runner" is used twice \(first at consumers\[0\]\); give each consumer its own name$/,
  },
  {
    mistake: 'a boolean in quotes',
    on: 'ops',
    edits: [['module_execs_program: true', 'module_execs_program: "true"']],
    line: 'module_execs_program',
    key: 'consumers[1].module_execs_program',
    fix: /^expected true or false; write true without quotes$/,
  },
  {
    mistake: 'the Drone runner unit with its words in another order',
    on: 'cc',
    edits: [['runner_unit: drone-runner-exec.service', 'runner_unit: drone-exec-runner.service']],
    line: 'runner_unit',
    key: 'consumers[1].runner_unit',
    fix: /^unit drone-exec-runner\.service is not on hosts cc-ci, cc-ci-hetzner .*; did you mean drone-runner-exec\.service\?$/,
  },
  {
    mistake: 'the pipeline file misspelt',
    on: 'cc',
    edits: [['pipeline: .drone.yml', 'pipeline: .drone.yaml']],
    line: 'pipeline:',
    key: 'consumers[1].pipeline',
    fix: /^"\.drone\.yaml" does not exist in the repository; did you mean \.drone\.yml\?$/,
  },
  {
    mistake: 'runs naming a file no step of the pipeline runs',
    on: 'cc',
    edits: [['runs: runner/run_recipe_ci.py', 'runs: nix/modules/harness.nix']],
    line: 'runs:',
    key: 'consumers[1].runs',
    fix: /^no step of \.drone\.yml runs nix\/modules\/harness\.nix \(its steps run: lint: `cc-ci-run -m pyflakes runner\/`; recipe-test: `cc-ci-run runner\/run_recipe_ci\.py`\)$/,
  },
  {
    mistake: 'env_attr in the wrong case',
    on: 'cc',
    edits: [['env_attr: ccciPyEnv', 'env_attr: ccciPyenv']],
    line: 'env_attr',
    key: 'shared.env_attr',
    fix: /^nix\/modules\/packages\.nix binds no ccciPyenv \(`ccciPyenv = …`\); did you mean ccciPyEnv\?$/,
  },
];

/** Runs `nixenv-verify --check-spec --spec FILE` on a fixture, in process. */
async function checkSpecCli(on: keyof typeof flakes, text: string, env: NodeJS.ProcessEnv = {}) {
  const file = path.join(work, `${on}-spec.yml`);
  writeFileSync(file, text);
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli({
    argv: ['--check-spec', '--spec', file],
    env: { ...cliEnv({ flake: flakes[on] }), ...env },
    cwd: flakes[on],
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    isTTY: false,
  });
  return { code, file, stdout: out.join(''), stderr: err.join('') };
}

const apply = (text: string, edits: [string, string][]): string =>
  edits.reduce((t, [find, replace]) => {
    if (!t.includes(find)) throw new Error(`row edit: ${JSON.stringify(find)} is not in the spec`);
    return t.replace(find, replace);
  }, text);

describe('common spec mistakes: --check-spec names the key, the line and the fix (real Nix, nothing built)', () => {
  test(`at least 20 rows (${ROWS.length})`, () => expect(ROWS.length).toBeGreaterThanOrEqual(20));
  test.each(['ops', 'cc'] as const)('the honest %s spec: exit 0', async (on) => {
    const run = await checkSpecCli(on, specs[on]);
    expect([run.code, run.stderr]).toEqual([0, '']);
  });
  test.each(ROWS.map((r) => [r.mistake, r] as const))('%s', async (_mistake, row) => {
    const text = apply(specs[row.on], row.edits);
    const run = await checkSpecCli(row.on, text);
    const lineOfMarker = text.slice(0, text.indexOf(row.line)).split('\n').length;
    // Every problem line: `  FILE:LINE:COLUMN: KEY: MESSAGE`.
    const problems = [...run.stderr.matchAll(/^ {2}(.+?):(\d+):(\d+): (\S+): (.*)$/gm)].map((m) => ({
      file: m[1],
      line: Number(m[2]),
      key: m[4],
      message: m[5],
    }));
    const hit = problems.find((p) => p.key === row.key && row.fix.test(p.message));
    expect({ code: run.code, hit: hit ? `${hit.file}:${hit.line}: ${hit.key}` : problems }).toEqual({
      code: 2,
      hit: `${run.file}:${lineOfMarker}: ${row.key}`,
    });
    expect(run.stderr).not.toMatch(/PLUGIN_/);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack
  });
});

describe('a claim setting set over the spec', () => {
  test('--check-spec reads the spec as written and notes the setting the user set (and no other)', async () => {
    const run = await checkSpecCli('ops', specs.ops, { PLUGIN_PACKAGE: 'other-run' });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(
      "note: PLUGIN_PACKAGE is set: a verification uses it instead of the spec's shared.package (--check-spec reads the spec as written); move it into the spec or drop it\n",
    );
  });
});
