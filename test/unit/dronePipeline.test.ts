import {
  conditionMatches,
  globMatch,
  neverRunsReason,
  parseDroneYaml,
  readCondition,
} from '../../src/drone/pipeline.js';
import { parseRunnerEnviron, stepPath, type RunnerEnv } from '../../src/drone/runnerEnv.js';

const pipeline = (body: string): string => `kind: pipeline\ntype: exec\nname: ci\n${body}`;

describe('.drone.yml as Drone reads it', () => {
  // FACTS.md correction: drone-runner-exec's pipeline resource has no `environment:` (engine/resource/exec.go).
  // The old expectation (the block applied to exec steps) was wrong.
  test('an exec pipeline environment reaches no step; only the step environment counts', async () => {
    const file = await parseDroneYaml(
      pipeline(
        'environment:\n  PATH: /usr/bin\n  A: pipe\nsteps:\n  - name: s\n    environment:\n      A: step\n    commands:\n      - cc-ci-run x\n',
      ),
    );
    expect(file.errors).toEqual([]);
    expect(file.steps[0].environment).toEqual({ A: 'step' });
    expect(file.steps[0].environmentSource).toEqual({ A: 'step' });
    expect(file.steps[0].ignoredPipelineEnv).toEqual(['PATH', 'A']);
  });
  test('a docker pipeline environment applies to every step, the step overrides per key', async () => {
    const file = await parseDroneYaml(
      pipeline(
        'environment:\n  PATH: /usr/bin\n  A: pipe\nsteps:\n  - name: s\n    environment:\n      A: step\n    commands:\n      - cc-ci-run x\n',
      ).replace('type: exec', 'type: docker'),
    );
    expect(file.steps[0].environment).toEqual({ PATH: '/usr/bin', A: 'step' });
    expect(file.steps[0].environmentSource).toEqual({ PATH: 'pipeline', A: 'step' });
    expect(file.steps[0].ignoredPipelineEnv).toBeUndefined();
  });

  test('YAML 1.1: a command written as a map is an error with its position', async () => {
    const file = await parseDroneYaml(
      pipeline('steps:\n  - name: s\n    commands:\n      - cc-ci-run: runner/run_recipe_ci.py\n'),
    );
    expect(file.errors).toHaveLength(1);
    expect(file.errors[0].message).toMatch(/commands item is a map/);
    expect(file.errors[0].position).toEqual({ line: 7, column: 9 });
    expect(file.steps[0].commands).toEqual([]);
  });

  test('scalars keep their own text, as go-yaml gives a string field (yes stays yes)', async () => {
    const file = await parseDroneYaml(pipeline('steps:\n  - name: s\n    commands:\n      - yes\n      - 010\n'));
    expect(file.steps[0].commands).toEqual(['yes', '010']);
  });

  test('a duplicate key is an error with its position', async () => {
    const file = await parseDroneYaml(
      pipeline('steps:\n  - name: s\n    commands: [ "cc-ci-run x" ]\n    commands: [ "python3 x" ]\n'),
    );
    expect(file.errors.map((e) => e.message)).toEqual([expect.stringMatching(/unique/)]);
    expect(file.errors[0].position?.line).toBe(7);
  });

  test('secrets and signatures are skipped; every document is read', async () => {
    const file = await parseDroneYaml(
      `${pipeline('steps:\n  - name: a\n    commands: [x]\n')}---\nkind: secret\nname: s\nget:\n  path: p\n---\n${pipeline('steps:\n  - name: b\n    commands: [y]\n')}---\nkind: signature\nhmac: abc\n`,
    );
    expect(file.steps.map((s) => s.name)).toEqual(['a', 'b']);
  });

  test('YAML 1.1 merge keys and anchors resolve as go-yaml does', async () => {
    const file = await parseDroneYaml(
      pipeline(
        'x-env: &env\n  environment:\n    PATH: /usr/bin\nsteps:\n  - &base\n    name: a\n    commands: [ "cc-ci-run x" ]\n  - <<: *base\n    name: b\n  - <<: *env\n    name: c\n    commands: [ "cc-ci-run y" ]\n',
      ),
    );
    expect(file.errors).toEqual([]);
    expect(file.steps.map((s) => [s.name, s.commands, s.environment])).toEqual([
      ['a', ['cc-ci-run x'], {}],
      ['b', ['cc-ci-run x'], {}],
      ['c', ['cc-ci-run y'], { PATH: '/usr/bin' }],
    ]);
  });

  test('a pipeline for another OS never runs on a linux exec runner; node labels are kept for the runner check', async () => {
    const file = await parseDroneYaml(
      pipeline('platform:\n  os: windows\nnode:\n  role: gpu\nsteps:\n  - name: s\n    commands: [x]\n'),
    );
    expect(file.steps[0].neverRuns).toMatch(/platform.os is windows/);
    expect(file.steps[0].node).toEqual({ role: 'gpu' });
  });

  test('a dependency on a missing step is an error (Drone rejects the pipeline)', async () => {
    const file = await parseDroneYaml(pipeline('steps:\n  - name: s\n    depends_on: [ setup ]\n    commands: [x]\n'));
    expect(file.errors.map((e) => e.message)).toEqual([expect.stringContaining('depends on "setup"')]);
  });

  test('a YAML syntax error is reported', async () => {
    const file = await parseDroneYaml('steps: [a\n');
    expect(file.errors.length).toBeGreaterThan(0);
  });

  test.each([
    [{ event: { exclude: ['*'] } }, /admits none/],
    [{ event: ['pushh'] }, /admits none/],
    [{ event: { include: ['push'], exclude: ['push'] } }, /admits none/],
    [{ status: ['failure'] }, /only when the build has failed/],
    [{ event: ['push', 'pull_request'] }, undefined],
    [{ event: [] }, undefined],
    [{ branch: ['main'] }, undefined],
    [{ status: ['success', 'failure'] }, undefined],
  ])('never runs: %j', (cond, want) => {
    const got = neverRunsReason(cond);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(want);
  });

  test('a trigger that excludes every event marks every step', async () => {
    const file = await parseDroneYaml(
      pipeline('trigger:\n  event:\n    exclude: ["*"]\nsteps:\n  - name: s\n    commands: [x]\n'),
    );
    expect(file.steps[0].neverRuns).toMatch(/trigger/);
  });

  test.each([
    ['*', 'push', true],
    ['pull_*', 'pull_request', true],
    ['p?sh', 'push', true],
    ['[pt]ag', 'tag', true],
    ['*', 'feature/x', false],
  ])('glob %s ~ %s', (p, v, want) => expect(globMatch(p, v)).toBe(want));

  test('conditions: string, list and include/exclude forms', () => {
    expect(conditionMatches(readCondition('push'), 'push')).toBe(true);
    expect(conditionMatches(readCondition(['tag']), 'push')).toBe(false);
    expect(conditionMatches(readCondition({ exclude: ['tag'] }), 'push')).toBe(true);
  });
});

describe('the PATH a Drone exec step starts with', () => {
  const runner: RunnerEnv = { path: '/run/current-system/sw/bin', source: 'unit', notes: [], labels: {}, chain: [] };
  const step = (environment: Record<string, unknown>, environmentSource: Record<string, 'step' | 'pipeline'> = {}) => ({
    pipeline: 'ci',
    pipelineType: 'exec',
    name: 's',
    commands: [],
    environment,
    environmentSource,
    position: { line: 1, column: 1 },
  });
  test.each([
    ['the runner PATH when neither sets one', step({}), '/run/current-system/sw/bin', 'unit'],
    [
      'the pipeline PATH over the runner',
      step({ PATH: '/usr/bin' }, { PATH: 'pipeline' }),
      '/usr/bin',
      'pipeline "ci" environment.PATH',
    ],
    [
      'the step PATH',
      step({ PATH: '/x:$PATH' }, { PATH: 'step' }),
      '/x:/run/current-system/sw/bin',
      'step "s" environment.PATH',
    ],
  ])('%s', (_, s, value, source) => {
    const p = stepPath(s, runner);
    expect(p.value).toBe(value);
    expect(p.source).toBe(source);
  });
  test('a from_secret PATH is unknown, not guessed', () =>
    expect(stepPath(step({ PATH: { from_secret: 'p' } }, { PATH: 'step' }), runner).unknown).toMatch(
      /not a plain string/,
    ));
  test('DRONE_RUNNER_ENVIRON is KEY:VALUE pairs split at commas, key at the first colon', () =>
    expect(parseRunnerEnviron('A:1,PATH:/a/bin:/b/bin')).toEqual({ A: '1', PATH: '/a/bin:/b/bin' }));
});
