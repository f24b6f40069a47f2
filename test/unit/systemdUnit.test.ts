import { bootChain } from '../../src/context.js';
import {
  effectiveEnv,
  environmentAssignments,
  environmentFiles,
  execStart,
  parseUnit,
  timerTarget,
  timerTriggers,
  unitWords,
} from '../../src/systemd/unit.js';

// What NixOS writes for a service: `environment` first, then serviceConfig (Environment= lines after).
const nixosUnit = `[Unit]
Description=Drone exec runner

[Service]
Environment="DRONE_RPC_HOST=drone.example.org"
Environment="PATH=/nix/store/aaaa-coreutils-9.5/bin:/nix/store/bbbb-findutils/bin"
Environment="PATH=/run/current-system/sw/bin:/run/wrappers/bin"
EnvironmentFile=/run/secrets/drone-runner
ExecStart=/nix/store/cccc-drone-runner-exec-1.0/bin/drone-runner-exec
`;

describe('systemd unit semantics', () => {
  test.each([
    [
      'the last PATH= of several Environment= lines wins',
      nixosUnit,
      'PATH',
      '/run/current-system/sw/bin:/run/wrappers/bin',
      7,
    ],
    [
      'several assignments on one line, quoted',
      '[Service]\nEnvironment=A=1 "PATH=/x y:/z" B=2\n',
      'PATH',
      '/x y:/z',
      2,
    ],
    [
      'an empty Environment= resets the list',
      '[Service]\nEnvironment=PATH=/a\nEnvironment=\nEnvironment=B=1\n',
      'PATH',
      undefined,
      undefined,
    ],
    [
      'a later line reassigning PATH to something else',
      '[Service]\nEnvironment=PATH=/good\nEnvironment="PATH=/usr/bin:/bin"\n',
      'PATH',
      '/usr/bin:/bin',
      3,
    ],
    [
      'other sections do not count',
      '[Unit]\nEnvironment=PATH=/no\n[Service]\nEnvironment=PATH=/yes\n',
      'PATH',
      '/yes',
      4,
    ],
    ['continuation lines join', '[Service]\nEnvironment=A=1 \\\n  PATH=/joined\n', 'PATH', '/joined', 2],
    [
      'comments are skipped',
      '[Service]\n# Environment=PATH=/commented\n; Environment=PATH=/also\nEnvironment=PATH=/real\n',
      'PATH',
      '/real',
      4,
    ],
  ])('%s', (_, text, name, value, line) => {
    const got = effectiveEnv(parseUnit(text), name);
    expect(got?.value).toBe(value);
    expect(got?.line).toBe(line);
  });

  test('environment assignments keep their order', () => {
    expect(environmentAssignments(parseUnit(nixosUnit)).map((a) => a.name)).toEqual(['DRONE_RPC_HOST', 'PATH', 'PATH']);
  });

  test.each([
    [
      'plain',
      '[Service]\nExecStart=/nix/store/x-sweep/bin/sweep --all\n',
      [{ program: '/nix/store/x-sweep/bin/sweep', args: ['--all'], line: 2 }],
    ],
    [
      'prefixes are not part of the program',
      '[Service]\nExecStart=-/nix/store/x-a/bin/a\n',
      [{ program: '/nix/store/x-a/bin/a', args: [], line: 2 }],
    ],
    [
      '@ takes argv[0] from the second word',
      '[Service]\nExecStart=@/nix/store/x-a/bin/a name --flag\n',
      [{ program: '/nix/store/x-a/bin/a', args: ['--flag'], line: 2 }],
    ],
    [
      'an empty ExecStart= resets',
      '[Service]\nExecStart=/a\nExecStart=\nExecStart=/b "x y"\n',
      [{ program: '/b', args: ['x y'], line: 4 }],
    ],
  ])('ExecStart: %s', (_, text, want) => {
    expect(execStart(parseUnit(text)).map(({ program, args, line }) => ({ program, args, line }))).toEqual(want);
  });

  test('EnvironmentFile= lines are reported', () =>
    expect(environmentFiles(parseUnit(nixosUnit)).map((l) => l.value)).toEqual(['/run/secrets/drone-runner']));

  test.each([
    ['cc-ci-nightly-sweep.timer', '[Timer]\nOnCalendar=daily\n', 'cc-ci-nightly-sweep.service'],
    ['nightly.timer', '[Timer]\nUnit=cc-ci-nightly-sweep.service\n', 'cc-ci-nightly-sweep.service'],
  ])('timer %s starts its unit', (name, text, want) => expect(timerTarget(name, parseUnit(text))).toBe(want));

  test.each([
    ['OnCalendar', '[Timer]\nOnCalendar=*-*-* 02:00:00\n', ['OnCalendar=*-*-* 02:00:00']],
    ['a monotonic trigger', '[Timer]\nOnBootSec=5min\nOnUnitActiveSec=1h\n', ['OnBootSec=5min', 'OnUnitActiveSec=1h']],
    ['only Persistent= (systemd refuses it)', '[Timer]\nPersistent=true\n', []],
    ['OnCalendar reset by an empty assignment', '[Timer]\nOnCalendar=daily\nOnCalendar=\n', []],
    ['OnClockChange=no is no trigger', '[Timer]\nOnClockChange=no\n', []],
    ['a trigger outside [Timer] does not count', '[Unit]\nOnCalendar=daily\n', []],
  ])('timer triggers: %s', (_n, text, want) =>
    expect(timerTriggers(parseUnit(text)).map((l) => `${l.key}=${l.value}`)).toEqual(want),
  );

  test.each([
    ['a "b c" d', ['a', 'b c', 'd']],
    ["'x y'z", ['x yz']],
    ['"PATH=\\"q\\""', ['PATH="q"']],
  ])('words of %s', (value, want) => expect(unitWords(value)).toEqual(want));
});

describe('what systemd starts at boot', () => {
  const links: Record<string, string[]> = {
    'a.timer': ['maint.target'],
    'maint.target': ['multi-user.target'],
    'b.timer': ['lonely.target'],
    'c.timer': ['timers.target'],
    'loop.target': ['loop2.target'],
    'loop2.target': ['loop.target'],
  };
  const wantedBy = (u: string): string[] => links[u] ?? [];
  test.each([
    ['wanted by timers.target', 'c.timer', ['timers.target', 'c.timer']],
    ['through a target multi-user.target wants', 'a.timer', ['multi-user.target', 'maint.target', 'a.timer']],
    ['wanted by a target nothing starts', 'b.timer', undefined],
    ['a cycle of wants reaches nothing', 'loop.target', undefined],
  ])('%s', (_n, unit, want) => expect(bootChain(unit, wantedBy)).toEqual(want));
});
