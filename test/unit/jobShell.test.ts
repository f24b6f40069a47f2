// The job-shell model (src/systemd/jobShell.ts): one row per source, word construct and shell kind it
// interprets, and rows outside its contract (cannot follow).
import { configValue, plainShell, shellSetting, shellWords } from '../../src/systemd/jobShell.js';
import type { JobShellSource } from '../../src/claim/types.js';

const W = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-ci-run/bin/ci-run';

describe('shellWords: the runner splits its shell setting into words, without expansion', () => {
  test.each([
    ['plain words', `${W} bash -e -c`, [W, 'bash', '-e', '-c']],
    ['single quotes', "bash -o 'pipe fail' -c", ['bash', '-o', 'pipe fail', '-c']],
    ['double quotes', 'bash "-e" -c', ['bash', '-e', '-c']],
    ['a backslash', 'bash\\ x -c', ['bash x', '-c']],
    ['$ inside single quotes is literal', "bash -c '$X'", ['bash', '-c', '$X']],
  ])('%s', (_, value, argv) => expect(shellWords(value)).toEqual({ argv }));
  test.each([
    ['a variable', '$SHELL -e -c'],
    ['a command substitution', 'bash -c "$(cat /etc/x)"'],
    ['a backquote', 'bash -c `x`'],
    ['a pipeline', 'bash -c | tee'],
    ['a list', 'bash -e -c; true'],
    ['a redirection', 'bash -c > /tmp/x'],
    ['a glob', '/nix/store/*/bin/bash -c'],
    ['a tilde', '~/bin/bash -c'],
    ['an unterminated quote', "bash -c 'x"],
    ['nothing', '   '],
  ])('cannot follow: %s', (_, value) => expect(shellWords(value)).toHaveProperty('unknown'));
});

describe('configValue: a key=value config file (Buildkite cfg, simple TOML)', () => {
  test.each([
    ['quoted', 'name="x"\nshell="/bin/sh -e -c"\n', { value: '/bin/sh -e -c', line: 2 }],
    ['spaces around =', '[[runners]]\n  shell = "bash"\n', { value: 'bash', line: 2 }],
    ['escapes', 'shell="bash -c \\"x\\""', { value: 'bash -c "x"', line: 1 }],
    ['single quotes', "shell='bash -c'", { value: 'bash -c', line: 1 }],
    ['bare, with a comment', 'shell=bash -e -c # default', { value: 'bash -e -c', line: 1 }],
    ['a commented line is not a setting', '# shell="zsh"\nshell="bash"', { value: 'bash', line: 2 }],
  ])('%s', (_, text, want) => expect(configValue(text, 'shell')).toEqual(want));
  test('absent', () => expect(configValue('name="x"\n', 'shell')).toEqual({ absent: true }));
  test('set twice: cannot follow', () =>
    expect(configValue('shell="a"\nshell="b"', 'shell')).toHaveProperty('unknown'));
  test('a quoted string with more after it: cannot follow', () =>
    expect(configValue('shell="a" "b"', 'shell')).toHaveProperty('unknown'));
});

describe('plainShell: bash or sh hand the runner PATH to the commands', () => {
  const none = new Map<string, { value: string; from: string }>();
  test.each([
    ['bash -e -c', ['bash', '-e', '-c'], '/nix/store/x-bash-5.2p37/bin/bash', 'bash'],
    ['/bin/sh -e -c', ['/bin/sh', '-e', '-c'], '/bin/sh', 'sh'],
    ['-o pipefail', ['bash', '-o', 'pipefail', '-c'], '/nix/store/x-bash/bin/bash', 'bash'],
  ])('%s', (_, argv, file, shell) => expect(plainShell(argv, file, none)).toEqual({ shell }));
  test.each([
    ['a login shell', ['bash', '--login', '-c']],
    ['-l in a group', ['bash', '-elc']],
    ['interactive', ['bash', '-i', '-c']],
    ['an rc file', ['bash', '--rcfile', '/etc/x', '-c']],
  ])('cannot follow: %s', (_, argv) =>
    expect(plainShell(argv, '/nix/store/x-bash/bin/bash', none)).toHaveProperty('unknown'),
  );
  test('cannot follow: another program (zsh, python)', () => {
    expect(plainShell(['zsh', '-c'], '/nix/store/x-zsh/bin/zsh', none)).toHaveProperty('unknown');
    expect(plainShell(['python3', '-c'], '/nix/store/x-python3/bin/python3', none)).toHaveProperty('unknown');
  });
  test('cannot follow: BASH_ENV in the runner environment (bash sources it first); sh does not read it', () => {
    const vars = new Map([['BASH_ENV', { value: '/etc/bashrc', from: 'unit:3: ' }]]);
    expect(plainShell(['bash', '-c'], '/nix/store/x-bash/bin/bash', vars)).toHaveProperty('unknown');
    expect(plainShell(['/bin/sh', '-c'], '/bin/sh', vars)).toEqual({ shell: 'sh' });
  });
});

describe('shellSetting: read where the spec says', () => {
  const vars = new Map([['BUILDKITE_SHELL', { value: `${W} bash -e -c`, from: 'unit:2: ' }]]);
  const exec = { argv: ['/nix/store/x-agent/bin/agent', 'start', '--shell', '/bin/sh -e -c'], where: 'unit:4' };
  const etc = async (file: string) =>
    file === '/etc/agent.cfg'
      ? { text: 'shell="bash -e -c"\n', source: '/nix/store/y-agent.cfg' }
      : { unreadable: `${file} is not in the built etc` };
  const row = (source: JobShellSource, start = { vars, exec }) => shellSetting(source, 'agent.service', start, etc);
  test('the unit environment', async () =>
    expect(await row({ from: 'env', name: 'BUILDKITE_SHELL' })).toEqual({
      value: `${W} bash -e -c`,
      where: 'unit:2: BUILDKITE_SHELL',
    }));
  test('an ExecStart argument, --x VALUE and --x=VALUE (the last wins)', async () => {
    expect(await row({ from: 'arg', name: '--shell' })).toMatchObject({ value: '/bin/sh -e -c' });
    const two = { vars, exec: { ...exec, argv: [...exec.argv, '--shell=bash -c'] } };
    expect(await row({ from: 'arg', name: '--shell' }, two)).toMatchObject({ value: 'bash -c' });
  });
  test('an /etc file key', async () =>
    expect(await row({ from: 'file', file: '/etc/agent.cfg', key: 'shell' })).toEqual({
      value: 'bash -e -c',
      where: '/nix/store/y-agent.cfg:1: shell',
    }));
  test('absent with a default: the default', async () =>
    expect(await row({ from: 'env', name: 'NOPE', default: '/bin/sh -c' })).toMatchObject({ value: '/bin/sh -c' }));
  test.each<[string, JobShellSource]>([
    ['absent without a default', { from: 'env', name: 'NOPE' }],
    ['a file the configuration does not write', { from: 'file', file: '/etc/other.cfg', key: 'shell' }],
    ['an argument without its value', { from: 'arg', name: 'start' }],
  ])('cannot follow: %s', async (_, source) => {
    const start = source.from === 'arg' ? { vars, exec: { ...exec, argv: ['/x/agent', 'start'] } } : { vars, exec };
    expect(await row(source, start)).toHaveProperty('unknown');
  });

  // Buildkite reads flag over variable over file: the spec lists the places over its own, highest first.
  const file = { from: 'file', file: '/etc/agent.cfg', key: 'shell' } as const;
  const noArg = { vars, exec: { ...exec, argv: ['/x/agent', 'start'] } };
  const buildkite: JobShellSource = {
    ...file,
    overriddenBy: [
      { from: 'arg', name: '--shell' },
      { from: 'env', name: 'BUILDKITE_SHELL' },
    ],
  };
  const nothing = { vars: new Map<string, { value: string; from: string }>(), exec: noArg.exec };
  test.each<[string, JobShellSource, Parameters<typeof row>[1], string]>([
    ['the flag wins over the variable and the file', buildkite, { vars, exec }, '/bin/sh -e -c'],
    ['no flag: the variable wins over the file', buildkite, noArg, `${W} bash -e -c`],
    ['neither: the file', buildkite, nothing, 'bash -e -c'],
    [
      'none of them: the default',
      { from: 'env', name: 'NOPE', default: '/bin/sh -c', overriddenBy: [{ from: 'arg', name: '--shell' }] },
      nothing,
      '/bin/sh -c',
    ],
  ])('precedence: %s', async (_, source, start, value) => {
    expect(await row(source, start)).toMatchObject({ value });
  });

  test('a place over the spec that cannot be read: cannot follow, even when the spec place has a value', async () => {
    const source: JobShellSource = {
      from: 'env',
      name: 'BUILDKITE_SHELL',
      overriddenBy: [{ from: 'file', file: '/etc/unwritten.cfg', key: 'shell' }],
    };
    expect(await row(source)).toEqual({ unknown: expect.stringContaining('/etc/unwritten.cfg') as unknown });
  });

  test('absent everywhere without a default: cannot follow, naming every place', async () => {
    const source: JobShellSource = { ...file, key: 'nope', overriddenBy: [{ from: 'arg', name: '--shell' }] };
    const got = await row(source, nothing);
    expect(got).toHaveProperty('unknown');
    expect((got as { unknown: string }).unknown).toMatch(/ExecStart has no --shell.*has no nope/);
  });
});
