// Spec keys for system packages (includes_package, required_programs_from) and runner job shells (job_shell):
// how they load into the claim, and every mistake with its file:line:column.
import { parseSpec, SpecError } from '../../src/claim/load.js';
import { OTHER } from '../helpers/specRows.js';

const withShell = (lines: string): string =>
  OTHER.replace('    unit: github-runner-lab.service\n', `    unit: github-runner-lab.service\n${lines}`);
const SYSPKGS = '  - name: system-packages\n    kind: system-packages\n';
const withSysPkgs = (lines: string): string =>
  OTHER.replace('  - name: bundle\n', `${SYSPKGS}${lines}  - name: bundle\n`);

describe('loaded into the claim', () => {
  test.each([
    ['env', '    job_shell:\n      env: BUILDKITE_SHELL\n', { from: 'env', name: 'BUILDKITE_SHELL' }],
    [
      'file + key',
      '    job_shell:\n      file: /etc/buildkite-agent/buildkite-agent.cfg\n      key: shell\n',
      { from: 'file', file: '/etc/buildkite-agent/buildkite-agent.cfg', key: 'shell' },
    ],
    [
      'arg + default',
      '    job_shell:\n      arg: --shell\n      default: /bin/sh -e -c\n',
      { from: 'arg', name: '--shell', default: '/bin/sh -e -c' },
    ],
  ])('job_shell from %s', (_, lines, want) => {
    const c = parseSpec(withShell(lines), 'x.yml').consumers[0];
    expect(c.kind === 'runner-service' ? c.jobShell : undefined).toEqual(want);
  });
  test('no job_shell: the jobs inherit the service PATH (as before)', () => {
    const c = parseSpec(OTHER, 'x.yml').consumers[0];
    expect(c.kind === 'runner-service' ? c.jobShell : 'x').toBeUndefined();
  });
  test('system-packages: both rules off unless the spec turns them on', () => {
    const off = parseSpec(withSysPkgs(''), 'x.yml').consumers.find((c) => c.kind === 'system-packages');
    expect(off).toMatchObject({ includesPackage: false, requiredProgramsFrom: 'anywhere' });
    const on = parseSpec(withSysPkgs('    includes_package: true\n    required_programs_from: tools\n'), 'x.yml');
    expect(on.consumers.find((c) => c.kind === 'system-packages')).toMatchObject({
      includesPackage: true,
      requiredProgramsFrom: 'tools',
    });
  });
});

describe('mistakes: exit 2 with the position and what is allowed', () => {
  test.each<[string, string, number, RegExp]>([
    [
      'two sources',
      withShell('    job_shell:\n      env: X\n      arg: --shell\n'),
      17,
      /exactly one of env, file or arg/,
    ],
    ['a file without key', withShell('    job_shell:\n      file: /etc/a.cfg\n'), 17, /file and key go together/],
    [
      'a file outside /etc',
      withShell('    job_shell:\n      file: /var/lib/a.cfg\n      key: shell\n'),
      17,
      /\/etc path/,
    ],
    ['a file with ..', withShell('    job_shell:\n      file: /etc/../root/a\n      key: shell\n'), 17, /without \.\./],
    ['a variable name with a space', withShell('    job_shell:\n      env: A B\n'), 17, /environment variable name/],
    ['an arg that is no option', withShell('    job_shell:\n      arg: shell\n'), 17, /command-line option/],
    ['an unknown key', withShell('    job_shell:\n      shel: x\n'), 17, /allowed here: env, file, key, arg, default/],
    ['a misspelt enum', withSysPkgs('    required_programs_from: tool\n'), 22, /did you mean tools\?/],
    ['not a boolean', withSysPkgs('    includes_package: yes\n'), 22, /true or false/],
  ])('%s', (_, text, line, message) => {
    let error: unknown;
    try {
      parseSpec(text, 'x.yml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpecError);
    const problem = (error as SpecError).problems.find((p) => message.test(`${p.at}: ${p.message}`));
    expect(problem?.line).toBe(line);
  });
});
