import { markersIn, runnerLookup, substitute, type Lookup } from '../../src/drone/envsubst.js';
import { parseGodotenv, stepPath, type RunnerEnv } from '../../src/drone/runnerEnv.js';
import { scriptUses } from '../../src/drone/uses.js';
import { analyzeScript } from '../../src/shell/index.js';

const env = new Map(
  Object.entries({ PATH: '/run/current-system/sw/bin', EMPTY: '', LOW: 'abc', DIR: '/opt/x/bin', NL: 'a\nb' }).map(
    ([k, v]) => [k, { value: v }],
  ),
);
const lookup: Lookup = runnerLookup(env);

describe('Drone substitution (drone/envsubst as the exec runner applies it)', () => {
  // One row per construct of the grammar (envsubst.ts header).
  test.each([
    ['${VAR}', 'x ${PATH} y', 'x /run/current-system/sw/bin y'],
    ['a bare $VAR is text', 'x $PATH y', 'x $PATH y'],
    ['$$ is a literal $', 'a $$PATH b', 'a $PATH b'],
    ['$${VAR} is the text ${VAR}', 'PATH=$${PATH}', 'PATH=${PATH}'],
    ['unknown variable is empty', '[${NOPE}]', '[]'],
    ['${VAR:-x} on empty', '${EMPTY:-/d}', '/d'],
    ['${VAR:-x} on set', '${LOW:-/d}', 'abc'],
    ['${VAR=x}', '${NOPE=/d}', '/d'],
    ['${VAR:=x}', '${NOPE:=/d}', '/d'],
    ['${VAR:+x} behaves as :- (toDefault)', '${LOW:+zz}', 'abc'],
    ['${VAR:?x} behaves as :-', '${NOPE:?zz}', 'zz'],
    ['nested default', '${NOPE:-${LOW}}', 'abc'],
    ['${VAR^^}', '${LOW^^}', 'ABC'],
    ['${VAR^}', '${LOW^}', 'Abc'],
    ['${VAR,,}', '${LOW,,}', 'abc'],
    ['${#VAR}', '${#LOW}', '3'],
    ['${VAR:pos}', '${LOW:1}', 'bc'],
    ['${VAR:pos:len}', '${LOW:0:2}', 'ab'],
    ['${VAR:-pos} counts from the end? no: :- is default', '${LOW:-1}', 'abc'],
    ['${VAR:pos} with a bad number keeps the value', '${LOW:x}', 'abc'],
    ['${VAR#p}', '${DIR#/opt}', '/x/bin'],
    ['${VAR%p}', '${DIR%/bin}', '/opt/x'],
    ['${VAR/a/b} first', '${DIR/x/y}', '/opt/y/bin'],
    ['${VAR//a/b} all', '${PATH//s/S}', '/run/current-SyStem/Sw/bin'],
    ['${VAR/#a/b} prefix', '${DIR/#\\/opt/\\/srv}', '/srv/x/bin'],
    ['${VAR/%a/b} suffix', '${DIR/%bin/sbin}', '/opt/x/sbin'],
    ['${VAR/a/} removes', '${DIR/x\\//}', '/opt/bin'],
    ['a value with a newline is Go-quoted', 'v: ${NL}', 'v: "a\\nb"'],
    ['CI and DRONE are "true"', '${CI}-${DRONE}', 'true-true'],
  ])('%s', (_, text, want) => {
    const r = substitute(text, lookup);
    expect(r.error).toBeUndefined();
    expect(r.unresolved).toEqual([]);
    expect(r.text).toBe(want);
  });

  test.each([
    ['per-build DRONE_* variable', 'run ${DRONE_COMMIT_SHA}', /set by Drone for each build/],
    ['a function of a per-build variable', '${DRONE_BRANCH^^}', /set by Drone for each build/],
    ['a default that reads a per-build variable', '${NOPE:-${DRONE_TAG}}', /set by Drone/],
    ['a glob removal pattern', '${PATH#*:}', /glob characters/],
    ['a negative substring length', '${LOW:0:-1}', /negative substring length/],
  ])('outside what is known: %s gives a marker, never a guess', (_, text, why) => {
    const r = substitute(`a\n${text}`, lookup);
    expect(r.unresolved).toHaveLength(1);
    expect(r.unresolved[0].line).toBe(2);
    expect(r.unresolved[0].expr).toBe(text.slice(text.indexOf('${'), text.lastIndexOf('}') + 1));
    expect(r.unresolved[0].why).toMatch(why);
    expect(markersIn(r.text)).toEqual([0]);
  });

  test.each([['${VAR-x}'], ['${}'], ['${VAR'], ['${VAR:}'], ['${VAR/a}']])(
    '%s does not parse: the stage fails',
    (text) => {
      expect(substitute(`k: ${text}\n`, lookup).error?.message).toMatch(/cannot substitute/);
    },
  );

  test('without the runner environment, a runner variable is unknown (not empty)', () => {
    expect(substitute('${PATH}', runnerLookup(undefined)).unresolved[0].why).toMatch(/runner's environment/);
  });
});

describe("the runner's env file (godotenv v1.3.0)", () => {
  test.each([
    ['KEY=VALUE', 'PATH=/a/bin', [['PATH', '/a/bin']]],
    ['export and spaces', 'export PATH = /a/bin ', [['PATH', '/a/bin']]],
    ['YAML style', 'PATH: /a/bin', [['PATH', '/a/bin']]],
    ['comments and blank lines', '# c\n\nA=1 # note\n', [['A', '1']]],
    ['double quotes with escapes', 'A="x\\ny"', [['A', 'x\ny']]],
    ['single quotes literal', "A='$B'", [['A', '$B']]],
    [
      'expansion from earlier lines',
      'B=/b\nPATH=$B/bin:${B}/sbin',
      [
        ['B', '/b'],
        ['PATH', '/b/bin:/b/sbin'],
      ],
    ],
    ['unknown names expand empty', 'PATH=/x:$NOPE', [['PATH', '/x:']]],
    ['a hash inside quotes stays', 'A="x#y"', [['A', 'x#y']]],
  ])('%s', (_, text, want) => expect(parseGodotenv(text)).toEqual({ vars: want }));
  test('a line without a separator is an error (the runner does not start)', () =>
    expect(parseGodotenv('A=1\nbroken\n')).toEqual({ error: "Can't separate key from value", line: 2 }));
});

describe("a step's environment.PATH, expanded by runner-go environ.Expand", () => {
  const runner: Pick<RunnerEnv, 'path' | 'source' | 'processPath' | 'processVars'> = {
    path: '/environ/bin',
    source: 'DRONE_RUNNER_PATH',
    processPath: '/proc/bin',
    processVars: new Map([['HOME', { value: '/var/lib/drone', from: 'unit' }]]),
  };
  const step = (PATH: string) => ({
    pipeline: 'ci',
    pipelineType: 'exec',
    name: 's',
    commands: [],
    environment: { PATH },
    environmentSource: { PATH: 'step' as const },
    position: { line: 1, column: 1 },
  });
  test.each([
    ['$PATH is the runner process PATH, not the global environment', '/x:$PATH', '/x:/proc/bin'],
    ['${NAME} of a unit variable', '${HOME}/bin', '/var/lib/drone/bin'],
  ])('%s', (_, p, want) => expect(stepPath(step(p), runner).value).toBe(want));
  test('a name the unit does not set is not guessed', () =>
    expect(stepPath(step('$XDG/bin'), runner).unknown).toMatch(/cannot follow/));
});

// bash(1) constructs around the final run of the program (src/shell/analyze.ts, execChain.ts): one row each.
describe('bash constructs on the path to the program', () => {
  const step = (commands: string[]) => ({
    pipeline: 'ci',
    pipelineType: 'exec',
    name: 's',
    commands,
    environment: {},
    environmentSource: {},
    position: { line: 1, column: 1 },
  });
  const use = async (commands: string[]) =>
    (await scriptUses([step(commands)], 'runner/run_recipe_ci.py', 'cc-ci-run'))[0];
  test.each([
    [
      'a step: an alias defined in an earlier command is expanded (/bin/sh is POSIX mode)',
      ['alias cc-ci-run=python3', 'cc-ci-run runner/run_recipe_ci.py'],
      { program: 'python3', viaWrapper: false },
    ],
    [
      'a step: an alias on the same line is not yet in effect',
      ['alias cc-ci-run=python3; cc-ci-run runner/run_recipe_ci.py'],
      { program: 'cc-ci-run', viaWrapper: true },
    ],
    [
      'a step: an alias is never expanded after exec',
      ['alias cc-ci-run=python3', 'exec cc-ci-run runner/run_recipe_ci.py'],
      { program: 'cc-ci-run', viaWrapper: true },
    ],
    [
      'a step: a quoted word is not alias-expanded',
      ['alias cc-ci-run=python3', "'cc-ci-run' runner/run_recipe_ci.py"],
      { program: 'cc-ci-run', viaWrapper: true },
    ],
    [
      'a step: unalias removes it',
      ['alias cc-ci-run=python3', 'unalias cc-ci-run', 'cc-ci-run runner/run_recipe_ci.py'],
      { program: 'cc-ci-run', viaWrapper: true },
    ],
    [
      'a step: an alias to the wrapper by path',
      ['alias ccr=/run/current-system/sw/bin/cc-ci-run', 'ccr runner/run_recipe_ci.py'],
      { program: '/run/current-system/sw/bin/cc-ci-run', viaWrapper: true },
    ],
  ])('%s', async (_, commands, want) => {
    const u = await use(commands);
    expect(u).toMatchObject(want);
    expect(u.unfollowable).toBeUndefined();
  });
  test.each([
    [
      'an alias with shell syntax in its value',
      ['alias cc-ci-run=\'env X=1 python3 "$@"\'', 'cc-ci-run runner/run_recipe_ci.py'],
      /re-parse/,
    ],
    [
      'an alias defined conditionally',
      ['[ -n "$X" ] && alias cc-ci-run=python3', 'cc-ci-run runner/run_recipe_ci.py'],
      /defined or removed after/,
    ],
    ['eval before the run', ['eval "$SETUP"', 'cc-ci-run runner/run_recipe_ci.py'], /eval/],
    ['source of a run-time file', ['. ./env.sh', 'cc-ci-run runner/run_recipe_ci.py'], /runs another file/],
    ['hash -p', ['hash -p /usr/bin/python3 cc-ci-run', 'cc-ci-run runner/run_recipe_ci.py'], /hash -p/],
    [
      'an EXIT trap in a step that does not exec',
      ["trap 'python3 runner/x.py' EXIT", 'cc-ci-run runner/run_recipe_ci.py'],
      /EXIT trap/,
    ],
    ['a DEBUG trap', ["trap 'python3 x' DEBUG", 'cc-ci-run runner/run_recipe_ci.py'], /DEBUG/],
  ])('cannot follow: %s', async (_, commands, reason) => {
    const u = await use(commands);
    expect(u.unfollowable).toMatch(/cannot follow/);
    expect(u.unfollowable).toMatch(reason);
  });

  // bash(1) POSIX mode: a function name that is not a valid shell name is a fatal error: the step stops there.
  test('a function named cc-ci-run: POSIX sh refuses the name, the step stops before the wrapper', async () => {
    const uses = await scriptUses(
      [step(['cc-ci-run() { command cc-ci-run --quiet "$@"; }', 'command cc-ci-run runner/run_recipe_ci.py'])],
      'runner/run_recipe_ci.py',
      'cc-ci-run',
    );
    expect(uses.filter((u) => u.viaWrapper && !u.notRun)).toEqual([]);
  });
  // bash(1) `hash`: -r forgets every binding, and so does an assignment to PATH.
  test.each([
    ['hash -r after it', ['hash -p /usr/bin/python3 cc-ci-run', 'hash -r', 'cc-ci-run runner/run_recipe_ci.py']],
    [
      'hash -d of the name',
      ['hash -p /usr/bin/python3 cc-ci-run', 'hash -d cc-ci-run', 'cc-ci-run runner/run_recipe_ci.py'],
    ],
    [
      'a PATH assignment after it',
      ['hash -p /usr/bin/python3 cc-ci-run', 'PATH=$PATH', 'cc-ci-run runner/run_recipe_ci.py'],
    ],
    ['another name bound', ['hash -p /usr/bin/python3 python3', 'cc-ci-run runner/run_recipe_ci.py']],
  ])('hash -p no longer binds the program: %s', async (_, commands) => {
    const u = await use(commands);
    expect(u.unfollowable).toBeUndefined();
    expect(u.viaWrapper).toBe(true);
  });

  test.each([
    [
      'a bash script: an alias without expand_aliases is not expanded',
      'alias cc-ci-run=python3\ncc-ci-run x',
      'bash',
      'cc-ci-run',
      [],
    ],
    [
      'a bash script: with shopt -s expand_aliases it is',
      'shopt -s expand_aliases\nalias cc-ci-run=python3\ncc-ci-run x',
      'bash',
      'python3',
      [],
    ],
    [
      'an alias inside a function defined after it applies when the function runs',
      'alias cc-ci-run=python3\nf() { cc-ci-run x; }\nf',
      'sh',
      'python3',
      [],
    ],
    [
      'an alias defined after a function body was parsed does not apply to it',
      'f() { cc-ci-run x; }\nalias cc-ci-run=python3\nf',
      'sh',
      'cc-ci-run',
      [],
    ],
    [
      'an EXIT trap before a successful exec never runs',
      "trap 'rm -f /tmp/x' EXIT\nexec cc-ci-run x",
      'bash',
      'cc-ci-run',
      [],
    ],
    ['a trap reset before the end', "trap 'python3 y' EXIT\ntrap - EXIT\ncc-ci-run x", 'bash', 'cc-ci-run', []],
  ] as const)('%s', async (_, script, shell, program, unfollowable) => {
    const a = await analyzeScript(script, { shell });
    expect(a.invocations.filter((i) => i.kind === 'external').map((i) => i.program)).toContain(program);
    expect(a.unfollowable).toEqual(unfollowable);
  });

  test('POSIX mode: a special builtin is found before a function of that name; bash runs the function', async () => {
    const text = 'set() { python3 x; }\nset -e';
    expect((await analyzeScript(text, { shell: 'sh' })).invocations.map((i) => i.program)).toEqual(['set']);
    expect((await analyzeScript(text, { shell: 'bash' })).invocations.map((i) => i.program)).toEqual([
      'set',
      'python3',
    ]);
  });
});

describe('per-build values in the substituted file: where they matter', () => {
  const uses = async (yaml: string) => {
    const { parseDroneYaml } = await import('../../src/drone/pipeline.js');
    const { perBuildValues } = await import('../../src/drone/uses.js');
    const sub = substitute(yaml, lookup);
    const file = await parseDroneYaml(sub.text);
    const u = await scriptUses(file.steps, 'runner/run_recipe_ci.py', 'cc-ci-run');
    const evidence = perBuildValues(file.steps, u, sub, '.drone.yml', 'runner/run_recipe_ci.py', 'cc-ci-run');
    return { u, evidence };
  };
  const doc = (steps: string, head = '') => `kind: pipeline\ntype: exec\nname: ci\n${head}steps:\n${steps}`;
  test.each([
    [
      'an argument of the command',
      '  - name: t\n    commands:\n      - cc-ci-run runner/run_recipe_ci.py ${DRONE_COMMIT_SHA}\n',
      '',
    ],
    [
      'an earlier command of the step',
      '  - name: t\n    commands:\n      - ${DRONE_COMMIT_MESSAGE}\n      - cc-ci-run runner/run_recipe_ci.py\n',
      '',
    ],
    [
      'the program word itself (no use without it)',
      '  - name: t\n    commands:\n      - ${DRONE_REPO_NAME} runner/run_recipe_ci.py\n',
      '',
    ],
    ['the pipeline type', '  - name: t\n    commands:\n      - cc-ci-run runner/run_recipe_ci.py\n', 'x: 1\n'],
    [
      'a trigger condition',
      '  - name: t\n    commands:\n      - cc-ci-run runner/run_recipe_ci.py\n',
      'trigger:\n  event: ${DRONE_BUILD_EVENT}x\n',
    ],
  ])('cannot follow: %s', async (_, steps, head) => {
    const yaml =
      _ === 'the pipeline type' ? doc(steps).replace('type: exec', 'type: ${DRONE_STAGE_TYPE}') : doc(steps, head);
    const { u } = await uses(yaml);
    expect(u).toHaveLength(1);
    expect(u[0].unfollowable).toMatch(/cannot follow: Drone substitutes `\$\{DRONE_/);
    expect(u[0].step.neverRuns).toBeUndefined();
  });
  test.each([
    [
      'a later command',
      '  - name: t\n    commands:\n      - cc-ci-run runner/run_recipe_ci.py\n      - echo ${DRONE_COMMIT_SHA}\n',
    ],
    [
      'another step',
      '  - name: n\n    commands:\n      - echo ${DRONE_COMMIT_SHA}\n  - name: t\n    commands:\n      - cc-ci-run runner/run_recipe_ci.py\n',
    ],
    [
      'an escaped $$ (the shell expands it)',
      '  - name: t\n    commands:\n      - cc-ci-run runner/run_recipe_ci.py "$${DRONE_COMMIT_SHA}"\n',
    ],
  ])('does not matter: %s', async (_, steps) => {
    const { u } = await uses(doc(steps));
    expect(u.map((x) => [x.viaWrapper, x.unfollowable])).toEqual([[true, undefined]]);
  });
});
