// The systemd unit model (src/systemd/): one row per input or construct of its contract, plus rows outside it.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { builtDropIns, etcPath, packageUnits, serviceUnit, type HostFacts, type UnitView } from '../../src/context.js';
import type { ScriptSource } from '../../src/execChain.js';
import type { HostView } from '../../src/resolve.js';
import { serviceEnvironment, storeReader, type EtcReader } from '../../src/systemd/environment.js';
import { processEnvironment } from '../../src/systemd/process.js';
import { isSweepService } from '../../src/systemd/sweep.js';
import { timerNotLive } from '../../src/systemd/timer.js';
import {
  composeUnit,
  dropInDirs,
  effectiveEnv,
  execStart,
  execStartRule,
  parseUnit,
  timerTarget,
  timerTriggers,
  type DropIn,
} from '../../src/systemd/unit.js';

const S = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const sweepMain = `[Service]\nType=oneshot\nEnvironment="PATH=${S}-coreutils/bin"\nExecStart=${S}-sweep/bin/sweep\n`;
const d = (dir: string, file: string, text: string): DropIn => ({ dir, file, source: `${dir}/${file}`, text });

describe('drop-in directories systemd searches (systemd.unit(5))', () => {
  test.each([
    ['a plain name', 'sweep.service', ['sweep.service.d', 'service.d']],
    [
      'every dash-prefix, longest first',
      'foo-bar-baz.service',
      ['foo-bar-baz.service.d', 'foo-bar-.service.d', 'foo-.service.d', 'service.d'],
    ],
    [
      'a timer: timer.d is type-wide',
      'cc-ci-nightly-sweep.timer',
      ['cc-ci-nightly-sweep.timer.d', 'cc-ci-nightly-.timer.d', 'cc-ci-.timer.d', 'cc-.timer.d', 'timer.d'],
    ],
  ])('%s', (_n, name, want) => expect(dropInDirs(name)).toEqual(want));
});

describe('a unit is its file plus drop-ins', () => {
  const name = 'cc-ci-sweep.service';
  test.each<[string, DropIn[], { exec: string[]; path?: string; applied: string[] }]>([
    ['no drop-ins: the unit file', [], { exec: [`${S}-sweep/bin/sweep`], path: `${S}-coreutils/bin`, applied: [] }],
    [
      'the unit drop-in resets ExecStart and replaces it',
      [d(`${name}.d`, 'override.conf', '[Service]\nExecStart=\nExecStart=/nix/store/x-legacy/bin/cc-ci-run\n')],
      { exec: ['/nix/store/x-legacy/bin/cc-ci-run'], path: `${S}-coreutils/bin`, applied: [`${name}.d/override.conf`] },
    ],
    [
      'a drop-in without a reset adds a second ExecStart',
      [d(`${name}.d`, 'a.conf', '[Service]\nExecStart=/bin/true\n')],
      { exec: [`${S}-sweep/bin/sweep`, '/bin/true'], path: `${S}-coreutils/bin`, applied: [`${name}.d/a.conf`] },
    ],
    [
      'a prefix drop-in (cc-ci-.service.d) applies',
      [d('cc-ci-.service.d', 'x.conf', '[Service]\nEnvironment=PATH=/legacy/bin\n')],
      { exec: [`${S}-sweep/bin/sweep`], path: '/legacy/bin', applied: ['cc-ci-.service.d/x.conf'] },
    ],
    [
      'the type-wide service.d applies',
      [d('service.d', 'x.conf', '[Service]\nEnvironment=PATH=/all/bin\n')],
      { exec: [`${S}-sweep/bin/sweep`], path: '/all/bin', applied: ['service.d/x.conf'] },
    ],
    [
      'an empty Environment= in a drop-in resets the list',
      [d(`${name}.d`, 'x.conf', '[Service]\nEnvironment=\n')],
      { exec: [`${S}-sweep/bin/sweep`], applied: [`${name}.d/x.conf`] },
    ],
    [
      'sorted by file name across directories, not by directory',
      [
        d(`${name}.d`, '10-a.conf', '[Service]\nEnvironment=PATH=/unit-dir\n'),
        d('service.d', '20-b.conf', '[Service]\nEnvironment=PATH=/type-wide\n'),
      ],
      { exec: [`${S}-sweep/bin/sweep`], path: '/type-wide', applied: [`${name}.d/10-a.conf`, 'service.d/20-b.conf'] },
    ],
    [
      'the same file name: the more specific directory wins',
      [
        d('service.d', 'override.conf', '[Service]\nEnvironment=PATH=/type-wide\n'),
        d('cc-ci-.service.d', 'override.conf', '[Service]\nEnvironment=PATH=/prefix\n'),
        d(`${name}.d`, 'override.conf', '[Service]\nEnvironment=PATH=/own\n'),
      ],
      { exec: [`${S}-sweep/bin/sweep`], path: '/own', applied: [`${name}.d/override.conf`] },
    ],
    [
      'timer.d does not apply to a service; another unit’s drop-in neither',
      [
        d('timer.d', 'x.conf', '[Service]\nEnvironment=PATH=/no\n'),
        d('other.service.d', 'x.conf', '[Service]\nEnvironment=PATH=/no\n'),
      ],
      { exec: [`${S}-sweep/bin/sweep`], path: `${S}-coreutils/bin`, applied: [] },
    ],
    [
      'a file not ending in .conf is not a drop-in',
      [d(`${name}.d`, 'x.conf.bak', '[Service]\nExecStart=\n')],
      { exec: [`${S}-sweep/bin/sweep`], path: `${S}-coreutils/bin`, applied: [] },
    ],
  ])('%s', (_n, dropIns, want) => {
    const { unit, applied } = composeUnit(name, { text: sweepMain, source: 'unit' }, dropIns);
    expect(execStart(unit).map((e) => e.program)).toEqual(want.exec);
    expect(effectiveEnv(unit, 'PATH')?.value).toBe(want.path);
    expect(applied.map((a) => a.source)).toEqual(want.applied);
  });

  test('lines name the drop-in they come from', () => {
    const { unit } = composeUnit(name, { text: sweepMain, source: 'unit' }, [
      d(`${name}.d`, 'o.conf', '[Service]\nExecStart=\nExecStart=/b\n'),
    ]);
    expect(execStart(unit).map((e) => `${e.file}:${e.line}`)).toEqual([`${name}.d/o.conf:3`]);
  });

  test.each<[string, string, string | undefined]>([
    ['drop-in changes Unit=', '[Timer]\nUnit=legacy.service\n', 'legacy.service'],
    ['no Unit= in the drop-in: the unit file’s', '[Timer]\nPersistent=true\n', 'other.service'],
  ])('timer: %s', (_n, dropIn, want) => {
    const { unit } = composeUnit(
      'x.timer',
      { text: '[Timer]\nOnCalendar=daily\nUnit=other.service\n', source: 'x.timer' },
      [d('x.timer.d', 'o.conf', dropIn)],
    );
    expect(timerTarget('x.timer', unit)).toBe(want);
  });

  test('timer: a drop-in resetting OnCalendar= leaves no trigger (systemd refuses the timer)', () => {
    const { unit } = composeUnit('x.timer', { text: '[Timer]\nOnCalendar=daily\n', source: 'x.timer' }, [
      d('timer.d', 'o.conf', '[Timer]\nOnCalendar=\n'),
    ]);
    expect(timerTriggers(unit)).toEqual([]);
  });
});

describe('is the timer live (started at boot, with a trigger), after its drop-ins', () => {
  const timer = (dropIn: string | undefined, extra: Partial<UnitView> = {}): UnitView => ({
    name: 'x.timer',
    unit: composeUnit(
      'x.timer',
      { text: '[Timer]\nOnCalendar=daily\n', source: 'x.timer' },
      dropIn === undefined ? [] : [d('timer.d', 'o.conf', dropIn)],
    ).unit,
    source: 'x.timer',
    context: [],
    wantedBy: ['timers.target'],
    bootChain: ['timers.target', 'x.timer'],
    ...extra,
  });
  test.each<[string, UnitView, RegExp | undefined]>([
    ['wanted by timers.target, OnCalendar=', timer(undefined), undefined],
    ['a type-wide drop-in resets OnCalendar=', timer('[Timer]\nOnCalendar=\n'), /no OnCalendar= or other/],
    ['a drop-in adds OnBootSec= after a reset', timer('[Timer]\nOnCalendar=\nOnBootSec=5min\n'), undefined],
    ['nothing wants it', timer(undefined, { wantedBy: [], bootChain: undefined }), /not wanted by any unit/],
    [
      '[Install] WantedBy=timers.target in a drop-in',
      timer('[Install]\nWantedBy=timers.target\n', { wantedBy: [], bootChain: undefined }),
      undefined,
    ],
  ])('%s', (_n, t, want) => {
    const got = timerNotLive(t);
    if (want) expect(got).toMatch(want);
    else expect(got).toBeUndefined();
  });
});

describe('Type= and several ExecStart= (systemd.service(5))', () => {
  test.each([
    ['simple (the default) with two: refused', '[Service]\nExecStart=/a\nExecStart=/b\n', true],
    ['Type=simple with two: refused', '[Service]\nType=simple\nExecStart=/a\nExecStart=/b\n', true],
    ['Type=exec with two: refused', '[Service]\nType=exec\nExecStart=/a\nExecStart=/b\n', true],
    ['Type=oneshot with two: run in order', '[Service]\nType=oneshot\nExecStart=/a\nExecStart=/b\n', false],
    ['simple with one', '[Service]\nExecStart=/a\n', false],
    ['two, then a reset and one', '[Service]\nExecStart=/a\nExecStart=/b\nExecStart=\nExecStart=/c\n', false],
  ])('%s', (_n, text, refused) => expect(execStartRule(parseUnit(text), 'u') !== undefined).toBe(refused));
});

describe('EnvironmentFile= (systemd.exec(5))', () => {
  const scripts: ScriptSource = {
    scriptAt: async (p) =>
      p === `${S}-env`
        ? { text: 'PATH=/from/store\n', source: p, inputs: [] }
        : { missing: `${p} does not exist after the build` },
  };
  const etc: EtcReader = async (p) =>
    p === '/etc/drone/rpc.env'
      ? { text: 'PATH=/from/etc\nSECRET=x\n', source: 'environment.etc."drone/rpc.env".text' }
      : { unreadable: `${p} is not in the configuration` };
  test.each<[string, string, string | undefined, number]>([
    [
      'a store file overrides Environment=',
      `[Service]\nEnvironment=PATH=/unit\nEnvironmentFile=${S}-env\n`,
      '/from/store',
      0,
    ],
    [
      'an /etc file NixOS writes is read and overrides Environment=',
      '[Service]\nEnvironment=PATH=/unit\nEnvironmentFile=/etc/drone/rpc.env\n',
      '/from/etc',
      0,
    ],
    [
      'an /etc file the configuration does not write: unreadable',
      '[Service]\nEnvironment=PATH=/unit\nEnvironmentFile=/etc/other.env\n',
      '/unit',
      1,
    ],
    [
      'outside the store and /etc (/run/secrets): unreadable',
      '[Service]\nEnvironment=PATH=/unit\nEnvironmentFile=/run/secrets/x\n',
      '/unit',
      1,
    ],
    [
      'optional (-) outside the store: still unreadable (it may set PATH)',
      '[Service]\nEnvironment=PATH=/unit\nEnvironmentFile=-/run/secrets/x\n',
      '/unit',
      1,
    ],
    [
      'optional (-) store file that is missing: skipped',
      `[Service]\nEnvironment=PATH=/unit\nEnvironmentFile=-${S}-gone\n`,
      '/unit',
      0,
    ],
    [
      'an empty EnvironmentFile= resets the list',
      '[Service]\nEnvironment=PATH=/unit\nEnvironmentFile=/run/secrets/x\nEnvironmentFile=\n',
      '/unit',
      0,
    ],
    [
      'UnsetEnvironment= after the files removes PATH',
      '[Service]\nEnvironmentFile=/etc/drone/rpc.env\nUnsetEnvironment=PATH\n',
      undefined,
      0,
    ],
  ])('%s', async (_n, text, path, unreadable) => {
    const env = await serviceEnvironment(parseUnit(text), 'u', storeReader(scripts, [], etc));
    expect(env.vars.get('PATH')?.value).toBe(path);
    expect(env.unreadable).toHaveLength(unreadable);
  });
});

describe('NixOS list-valued serviceConfig (attrsToSection: one line per item, "" resets)', () => {
  test.each([
    [
      'ExecStart = [ "" "/b" ]',
      '[Service]\nExecStart=\nExecStart=/nix/store/b/bin/b\n',
      ['/nix/store/b/bin/b'],
      undefined,
    ],
    [
      'Environment = [ "PATH=/a" "PATH=/b" ]',
      '[Service]\nEnvironment=PATH=/a\nEnvironment=PATH=/b\nExecStart=/x\n',
      ['/x'],
      '/b',
    ],
    [
      'environment.PATH then Environment = [ "" ]',
      '[Service]\nEnvironment="PATH=/env"\nEnvironment=\nExecStart=/x\n',
      ['/x'],
      undefined,
    ],
  ])('%s', (_n, text, exec, path) => {
    const { unit } = serviceUnit(
      { text, execStart: '', script: '', environment: {}, serviceEnvironment: null, context: [] },
      'svc',
    );
    expect(execStart(unit).map((e) => e.program)).toEqual(exec);
    expect(effectiveEnv(unit, 'PATH')?.value).toBe(path);
  });
});

describe('built trees: drop-in directories and /etc', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nv-sysd-'));
    const units = path.join(dir, 'etc', 'systemd', 'system');
    mkdirSync(path.join(units, 'a-b.service.d'), { recursive: true });
    mkdirSync(path.join(units, 'a-.service.d'));
    mkdirSync(path.join(units, 'service.d'));
    writeFileSync(path.join(units, 'a-b.service.d', 'overrides.conf'), '[Service]\nExecStart=\n');
    writeFileSync(path.join(units, 'a-b.service.d', 'README'), 'not a drop-in');
    writeFileSync(path.join(units, 'a-.service.d', '10-x.conf'), '[Service]\n');
    writeFileSync(path.join(units, 'service.d', '50-y.conf'), '[Service]\n');
    // /etc/static is the toplevel's etc itself on a running NixOS: a link to /etc/static/x is read as etc/x.
    mkdirSync(path.join(dir, 'etc', 'real'), { recursive: true });
    writeFileSync(path.join(dir, 'etc', 'real', 'rpc.env'), 'PATH=/x\n');
    mkdirSync(path.join(dir, 'etc', 'drone'));
    symlinkSync('/etc/static/real/rpc.env', path.join(dir, 'etc', 'drone', 'rpc.env'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('every .conf file of each drop-in directory', () => {
    expect(
      builtDropIns(path.join(dir, 'etc', 'systemd', 'system'), 'a-b.service').map((x) => `${x.dir}/${x.file}`),
    ).toEqual(['a-b.service.d/overrides.conf', 'a-.service.d/10-x.conf', 'service.d/50-y.conf']);
  });
  test('an /etc link through /etc/static is read inside the tree', () =>
    expect(etcPath(path.join(dir, 'etc'), 'drone/rpc.env')).toBe(path.join(dir, 'etc', 'real', 'rpc.env')));
  test.each<[string, string[], number]>([
    [
      'a package in the store: its lib/systemd/system drop-ins are read',
      ['lib/systemd/system/service.d/10-pkg.conf'],
      0,
    ],
    [
      'a package in the store: its etc/systemd/system drop-ins are read',
      ['etc/systemd/system/a-b.service.d/pkg.conf'],
      0,
    ],
    [
      'a package that ships the unit itself: unseen (NixOS makes its own unit the overrides.conf)',
      ['lib/systemd/system/a-b.service'],
      1,
    ],
  ])('systemd.packages (eval mode): %s', (_n, files, unseen) => {
    const out = path.join(dir, `pkg-${files.length}-${unseen}-${files[0].split('/')[0]}`);
    for (const f of files) {
      mkdirSync(path.dirname(path.join(out, f)), { recursive: true });
      writeFileSync(path.join(out, f), '[Service]\n');
    }
    const got = packageUnits([{ name: 'pkg', out }], 'a-b.service');
    expect(got.unseen).toHaveLength(unseen);
    expect(got.dropIns.map((x) => x.file)).toEqual(
      files.filter((f) => f.endsWith('.conf')).map((f) => path.basename(f)),
    );
  });
  test('systemd.packages (eval mode): a package not in the store is unseen', () =>
    expect(
      packageUnits([{ name: 'pkg', out: '/nix/store/00000000000000000000000000000000-absent' }], 'a-b.service').unseen,
    ).toHaveLength(1));
  test('an /etc file that is not there', () => expect(etcPath(path.join(dir, 'etc'), 'nope.env')).toBeUndefined());
});

describe('outside the contract: cannot follow, never pass', () => {
  const facts = { setuidWrappers: [] } as unknown as HostFacts;
  const view: HostView = { mode: 'eval', facts };
  const scripts: ScriptSource = { scriptAt: async (p) => ({ missing: p }) };
  const view0 = (extra: Partial<UnitView>): UnitView => ({
    name: 'drone-runner-exec.service',
    unit: parseUnit(
      '[Service]\nEnvironment=PATH=/run/current-system/sw/bin\nExecStart=/run/current-system/sw/bin/drone-runner-exec\n',
    ),
    source: 'u',
    context: [],
    ...extra,
  });
  test.each<[string, Partial<UnitView>]>([
    ['drop-ins eval mode cannot see (systemd.packages)', { unseen: ['systemd.packages: foo may add drop-ins'] }],
    [
      'an EnvironmentFile= outside the store and /etc',
      {
        unit: parseUnit(
          '[Service]\nEnvironment=PATH=/run/current-system/sw/bin\nEnvironmentFile=/run/secrets/r\nExecStart=/x\n',
        ),
      },
    ],
  ])('%s: the process environment is unknown', async (_n, extra) => {
    const proc = await processEnvironment(view0(extra), view, scripts);
    expect(proc.unknown).toMatch(/cannot follow/);
    expect(proc.path).toBeUndefined();
  });
  test('Type=simple with two ExecStart=: a problem (systemd refuses it), not a PATH', async () => {
    const proc = await processEnvironment(
      view0({ unit: parseUnit('[Service]\nExecStart=/a\nExecStart=/b\n') }),
      view,
      scripts,
    );
    expect(proc.problem).toMatch(/refuses/);
  });
});

describe('which timer-started services are sweeps', () => {
  const texts: Record<string, string> = {
    [`${S}-nightly/bin/nightly`]: `#!/bin/sh\nexec ${S}-run/bin/cc-ci-run runner/nightly_sweep.py --all\n`,
    [`${S}-weekly/bin/weekly`]: `#!/bin/sh\ncd /srv && exec cc-ci-run runner/weekly-sweep.sh\n`,
    [`${S}-backup/bin/backup`]: '#!/bin/sh\nexec restic backup /var/lib\n',
  };
  const scripts: ScriptSource = {
    scriptAt: async (p) => (texts[p] ? { text: texts[p], source: p, inputs: [] } : { missing: p }),
  };
  test.each<[string, string, boolean]>([
    ['ExecStart names the sweep script', '[Service]\nExecStart=/legacy/bin/cc-ci-run runner/nightly_sweep.py\n', true],
    ['a script it runs names it', `[Service]\nExecStart=${S}-nightly/bin/nightly\n`, true],
    ['any runner/*sweep* (weekly)', `[Service]\nExecStart=${S}-weekly/bin/weekly\n`, true],
    ['an unrelated timer service', `[Service]\nExecStart=${S}-backup/bin/backup\n`, false],
    ['a sweep outside runner/ is not the runner sweep', '[Service]\nExecStart=/bin/sweep-tmp\n', false],
  ])('%s', async (_n, text, want) => {
    const got = await isSweepService(
      { name: 'x.service', unit: parseUnit(text), source: 'x.service', context: [] },
      scripts,
    );
    expect(got !== undefined).toBe(want);
  });
});
