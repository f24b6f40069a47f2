import { droneUses, runsOnHost, pathFromRunnerText, pathFromServiceEnvironment, resolveWord, stepPath, sweepEntries, evaluatedResolver } from '../../src/checks/entrypointParity.js';
import type { DroneStep } from '../../src/parse/droneYaml.js';
import type { HostFacts } from '../../src/context.js';

const step = (commands: string[], environment: Record<string, unknown> = {}): DroneStep => ({ pipeline: 'p', pipelineType: 'exec', name: 's', commands, environment });
const H = 'zxlx9jnylh7la5m48bsqb1wfm5l9r0bd';

describe('Drone steps that run the script', () => {
  test.each([
    ['cc-ci-run runner/run_recipe_ci.py', true],
    ['cc-ci-run ./runner/run_recipe_ci.py --all', true],
    ['cd /src && CC=1 cc-ci-run runner/run_recipe_ci.py', true],
    ['/run/current-system/sw/bin/cc-ci-run runner/run_recipe_ci.py', true],
    ['python3 runner/run_recipe_ci.py', false],
    ['./runner/run_recipe_ci.py', false],
    [`/nix/store/${H}-python3-3.12.8-env/bin/python runner/run_recipe_ci.py`, false],
  ])('%s -> through the wrapper: %s', (command, via) => {
    const uses = droneUses([step([command])], 'runner/run_recipe_ci.py', 'cc-ci-run');
    expect(uses).toHaveLength(1);
    expect(uses[0]!.viaWrapper).toBe(via);
  });
  test('other steps and mentions are not uses', () => {
    expect(droneUses([step(['echo runner/run_recipe_ci.py is next', 'cc-ci-run -m pyflakes runner/'])], 'runner/run_recipe_ci.py', 'cc-ci-run').map((u) => u.command)).toEqual(['echo runner/run_recipe_ci.py is next']);
  });
});

describe('the PATH a step sees', () => {
  const runner = (environment: Record<string, unknown>, serviceEnvironment: unknown = null) => ({ environment, serviceEnvironment });
  test.each([
    ['step environment wins', step([], { PATH: '/a' }), runner({ PATH: '/b', DRONE_RUNNER_PATH: '/c' }), '/a'],
    ['DRONE_RUNNER_PATH over the service PATH', step([]), runner({ PATH: '/b', DRONE_RUNNER_PATH: '/c' }), '/c'],
    ['serviceConfig.Environment over environment', step([]), runner({ PATH: '/b' }, ['FOO=1', 'PATH=/d:/e']), '/d:/e'],
    ['serviceConfig.Environment as one string', step([]), runner({ PATH: '/b' }, '"PATH=/f" "X=1"'), '/f'],
    ['the service PATH', step([]), runner({ PATH: '/b' }), '/b'],
  ])('%s', (_, s, r, want) => expect(stepPath(s, r).value).toBe(want));

  test('no service in the evaluated config: the PATH written in the runner module', () => {
    const text = '{ lib, ... }: {\n  # PATH = "/old";\n  systemd.services.drone-runner-exec.environment.PATH = lib.mkForce "/run/current-system/sw/bin:/run/wrappers/bin";\n}';
    expect(stepPath(step([]), null, text)).toEqual({ value: '/run/current-system/sw/bin:/run/wrappers/bin', source: expect.stringContaining('written in the runner module') });
    expect(pathFromRunnerText('serviceConfig.Environment = [ "PATH=/x/bin:/y" ];')).toEqual({ value: '/x/bin:/y', key: 'PATH' });
    expect(stepPath(step([]), null, '{ }').value).toBeUndefined();
  });

  test('pathFromServiceEnvironment reads the last assignment', () => expect(pathFromServiceEnvironment(['PATH=/a', 'PATH=/b'])).toBe('/b'));
});

describe('the sweep PATH', () => {
  const script = 'export PATH="/nix/store/a-x/bin:$PATH"\nexec cc-ci-run x\nexport PATH=/late';
  test.each([
    ['$PATH is filled from the service', script, '/s1:/s2', ['/nix/store/a-x/bin', '/s1', '/s2']],
    ['no service PATH: $PATH stays', script, undefined, ['/nix/store/a-x/bin', '$PATH']],
    ['no PATH line: the service PATH', 'exec cc-ci-run x', '/s1', ['/s1']],
  ])('%s', (_, text, servicePath, want) => expect(sweepEntries(text, 2, servicePath)).toEqual(want));
});

describe('eval-mode resolution', () => {
  const facts = {
    systemPackages: [{ name: 'cc-ci-run', installed: [`/nix/store/${H}-cc-ci-run`] }],
  } as unknown as HostFacts;
  test.each([
    ['bare name through the system profile', 'cc-ci-run', ['/run/wrappers/bin', '/run/current-system/sw/bin'], `/nix/store/${H}-cc-ci-run`],
    ['bare name through a store dir', 'cc-ci-run', [`/nix/store/${H}-cc-ci-run/bin`], `/nix/store/${H}-cc-ci-run`],
    ['absolute store path', `/nix/store/${H}-cc-ci-run/bin/cc-ci-run`, [], `/nix/store/${H}-cc-ci-run`],
    ['not reachable', 'cc-ci-run', ['/usr/bin'], undefined],
  ])('%s', (_, word, entries, want) => expect(resolveWord(word, entries, evaluatedResolver(facts)).root).toBe(want));
});

describe('which steps run on the host', () => {
  test.each([
    ['exec, no image', { pipelineType: 'exec' }, true],
    ['exec with an image (ignored by the exec runner, but not what the claim describes)', { pipelineType: 'exec', image: 'x' }, false],
    ['docker', { pipelineType: 'docker', image: 'python:3.12-slim' }, false],
    ['kubernetes', { pipelineType: 'kubernetes' }, false],
  ])('%s', (_, fields, want) => expect(runsOnHost({ ...step([]), ...fields } as DroneStep)).toBe(want));
});
