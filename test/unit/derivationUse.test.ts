// How a derivation consumer uses the shared package (src/derivationUse.ts) and what may run after the program
// (src/afterProgram.ts): one row per reference kind and construct, on a hand-made Nix client.
import { afterProblem } from '../../src/afterProgram.js';
import type { DerivationConsumer } from '../../src/claim/types.js';
import { judgeDerivation } from '../../src/derivationUse.js';
import type { NixClient } from '../../src/nix/client.js';
import { analyzeScript, finalRunOf } from '../../src/shell/index.js';

const PKG = '/nix/store/8spk58ndr2av521gffnsvxflm9ar30bf-lab-run';
const PKG_DRV = '/nix/store/1f8z7aqmq02m84b8wa1s06kzbj4w741c-lab-run.drv';
const RESTIC = '/nix/store/rp5a31jkjxzysg93jnakzp863llg6nck-restic-0.17.3';
const DRV = '/nix/store/0d5m6mxiq98a33yddxdb1vi78g6cxbx6-x.drv';
const OUT = '/nix/store/q1dp7n3i566xlh37za0xq76q78mm4qxw-x';

const HELPER = '/nix/store/h3lp3r00000000000000000000000000-run-tests';
const HELPER_DRV = '/nix/store/h3lp3rdrv0000000000000000000000a-run-tests.drv';
const RESTIC_DRV = '/nix/store/r3s1cdrv00000000000000000000000a-restic-0.17.3.drv';

interface Fake {
  /** The text of the helper script HELPER (a writeShellScript), when the derivation has it as an input. */
  helper?: string;
  buildCommand?: string | null;
  builder?: string | null;
  args?: string[] | null;
  inputs?: string[];
  closure?: string[];
}

/** A Nix client that answers only what judgeDerivation asks; `asked` records the attribute paths evaluated. */
function fakeNix(f: Fake, asked: string[] = []): NixClient {
  return {
    evalJson: (attr: string) => {
      asked.push(attr);
      return Promise.resolve({
        drvPath: DRV,
        out: OUT,
        buildCommand: f.buildCommand ?? null,
        builder: f.builder ?? null,
        args: f.args ?? null,
      });
    },
    drvClosure: () => Promise.resolve(f.inputs ?? [DRV, PKG_DRV]),
    buildDrvs: () => Promise.resolve({ ok: true, outputs: {} }),
    closure: () => Promise.resolve(f.closure ?? [OUT]),
    derivation: (drv: string) =>
      Promise.resolve(
        drv === DRV
          ? { env: {}, outputs: { out: OUT }, inputDrvs: [PKG_DRV, RESTIC_DRV, ...(f.helper ? [HELPER_DRV] : [])] }
          : drv === HELPER_DRV
            ? { env: { text: f.helper }, outputs: { out: HELPER }, inputDrvs: [PKG_DRV, RESTIC_DRV] }
            : drv === RESTIC_DRV
              ? { env: {}, outputs: { out: RESTIC }, inputDrvs: [] }
              : { env: {}, outputs: { out: PKG }, inputDrvs: [] },
      ),
  } as unknown as NixClient;
}

const consumer = (fields: Partial<DerivationConsumer>): DerivationConsumer => ({
  kind: 'derivation',
  name: 'd',
  attr: 'checks.x86_64-linux.smoke',
  ...fields,
});
const judge = (f: Fake, c: Partial<DerivationConsumer>, mode: 'build' | 'eval' = 'eval', asked?: string[]) =>
  judgeDerivation(fakeNix(f, asked), mode, consumer(c), { outPath: PKG, drvPath: PKG_DRV }, 'lab-run');

describe('derivation consumers: reference kinds', () => {
  const runs = `${PKG}/bin/lab-run restic version\ntouch $out\n`;
  const rows: [string, Fake, Partial<DerivationConsumer>, 'build' | 'eval', 'pass' | 'fail' | 'error', RegExp][] = [
    [
      'build-input: runCommand buildCommand runs the program',
      { buildCommand: runs },
      { reference: 'build-input' },
      'eval',
      'pass',
      /its build runs/,
    ],
    [
      'build-input: a /bin/sh -c script runs it',
      { builder: '/bin/sh', args: ['-c', runs] },
      { reference: 'build-input' },
      'build',
      'pass',
      /its build runs/,
    ],
    [
      'build-input: not in the input closure',
      { buildCommand: runs, inputs: [DRV] },
      { reference: 'build-input' },
      'eval',
      'fail',
      /is not built from/,
    ],
    [
      'build-input: named, never run',
      { buildCommand: `echo ${PKG}/bin/lab-run > $out\n` },
      { reference: 'build-input' },
      'eval',
      'fail',
      /never runs lab-run \(it names/,
    ],
    [
      'build-input: run on some branches only',
      { buildCommand: `if [ -n "$x" ]; then ${PKG}/bin/lab-run t; fi\ntouch $out` },
      { reference: 'build-input' },
      'eval',
      'fail',
      /only on some branches/,
    ],
    [
      'build-input: run in the background',
      { buildCommand: `${PKG}/bin/lab-run t &\ntouch $out` },
      { reference: 'build-input' },
      'eval',
      'fail',
      /background/,
    ],
    [
      'build-input: another lab-run',
      { buildCommand: `${RESTIC}/bin/lab-run t\ntouch $out` },
      { reference: 'build-input' },
      'eval',
      'fail',
      /not .*lab-run\/bin\/lab-run/,
    ],
    [
      'build-input: the job again after it',
      { buildCommand: `${PKG}/bin/lab-run restic check\n${RESTIC}/bin/restic check\ntouch $out` },
      { reference: 'build-input' },
      'eval',
      'fail',
      /restic, the command lab-run was given/,
    ],
    [
      'build-input: through a helper script',
      { helper: `#!/bin/bash\n${PKG}/bin/lab-run pytest\n`, buildCommand: `${HELPER}/bin/run-tests\ntouch $out` },
      { reference: 'build-input' },
      'eval',
      'pass',
      /via .*run-tests/,
    ],
    [
      'build-input: a helper that does not run it',
      { helper: `#!/bin/bash\n${RESTIC}/bin/restic check\n`, buildCommand: `${HELPER}/bin/run-tests\ntouch $out` },
      { reference: 'build-input' },
      'eval',
      'fail',
      /never runs lab-run/,
    ],
    [
      'build-input: after the helper, the job again',
      {
        helper: `#!/bin/bash\n${PKG}/bin/lab-run pytest\n`,
        buildCommand: `${HELPER}/bin/run-tests\n${RESTIC}/bin/pytest\ntouch $out`,
      },
      { reference: 'build-input' },
      'eval',
      'fail',
      /pytest, the command lab-run was given/,
    ],
    [
      'build-input: a helper run on some branches',
      {
        helper: `#!/bin/bash\n${PKG}/bin/lab-run pytest\n`,
        buildCommand: `[ -n "$x" ] && ${HELPER}/bin/run-tests\ntouch $out`,
      },
      { reference: 'build-input' },
      'eval',
      'fail',
      /only on some branches/,
    ],
    [
      'build-input: a built program is not followed',
      { buildCommand: `${RESTIC}/bin/restic check\ntouch $out` },
      { reference: 'build-input' },
      'eval',
      'fail',
      /never runs lab-run/,
    ],
    [
      'build-input: a store file no input outputs',
      { buildCommand: `/nix/store/s0rcz000000000000000000000000000-test.sh\ntouch $out` },
      { reference: 'build-input' },
      'eval',
      'error',
      /cannot follow: .*no input derivation outputs it/,
    ],
    [
      'build-input: by PATH name (stdenv PATH)',
      { buildCommand: 'lab-run t\ntouch $out' },
      { reference: 'build-input' },
      'eval',
      'error',
      /cannot follow: .*PATH stdenv makes/,
    ],
    [
      'build-input: eval in the script',
      { buildCommand: `eval "$cmd"\n${PKG}/bin/lab-run t` },
      { reference: 'build-input' },
      'eval',
      'error',
      /cannot follow/,
    ],
    [
      'build-input: an unreadable builder',
      { builder: '/nix/store/x-python/bin/python3', args: ['b.py'] },
      { reference: 'build-input' },
      'eval',
      'error',
      /builder script is not readable/,
    ],
    [
      'runtime, build mode: closure holds it',
      { closure: [OUT, PKG] },
      { reference: 'runtime' },
      'build',
      'pass',
      /holds/,
    ],
    [
      'runtime, build mode: built from it, no reference',
      { closure: [OUT] },
      { reference: 'runtime' },
      'build',
      'fail',
      /does not reference/,
    ],
    [
      'runtime, eval mode: built from it',
      {},
      { reference: 'runtime' },
      'eval',
      'error',
      /runtime closure .* needs a build/,
    ],
    [
      'runtime, eval mode: not built from it',
      { inputs: [DRV] },
      { reference: 'runtime' },
      'eval',
      'fail',
      /cannot hold/,
    ],
    ['absent, eval mode: the input closure', {}, {}, 'eval', 'pass', /a build input/],
    ['absent, build mode: the runtime closure', { closure: [OUT] }, {}, 'build', 'fail', /does not reference/],
  ];
  test.each(rows)('%s', async (_name, f, c, mode, status, text) => {
    const r = await judge(f, c, mode);
    const got = r.problems.length ? 'fail' : r.unknowns.length ? 'error' : 'pass';
    expect(got).toBe(status);
    expect([...r.problems, ...r.unknowns, ...r.evidence].join('\n')).toMatch(text);
  });

  test('through: the attribute under attr is the one judged', async () => {
    const asked: string[] = [];
    const r = await judge(
      { closure: [OUT, PKG] },
      { attr: 'packages.x86_64-linux.img', through: 'stream', reference: 'runtime' },
      'build',
      asked,
    );
    expect(asked).toEqual(['packages.x86_64-linux.img.stream']);
    expect(r.evidence[0]).toMatch(/the stream of packages.x86_64-linux.img/);
  });
});

describe('what may run after the program (allow_after)', () => {
  const after = async (script: string, allowed: true | string[]) => {
    const a = await analyzeScript(script);
    const run = finalRunOf(a, 'cc-ci-run')!;
    const later = a.invocations.slice(a.invocations.indexOf(run) + 1).filter((i) => i.kind === 'external');
    return afterProblem(run, later, allowed);
  };
  test.each([
    ['a listed notification', 'cc-ci-run pytest -q\ncurl -fsS https://hc/ping', ['curl'], undefined],
    ['any command with true', 'cc-ci-run pytest -q\nrm -rf /tmp/x', true, undefined],
    ['a command not listed', 'cc-ci-run pytest -q\nrm -rf /tmp/x', ['curl'], /lists only curl/],
    ['the command it was given', 'cc-ci-run pytest -q\npytest -q', true, /pytest, the command cc-ci-run was given/],
    ['a file it was given', 'cc-ci-run python3 runner/run.py\n/usr/bin/python3 runner/run.py', true, /runner\/run.py/],
    [
      'a sweep script',
      'cc-ci-run true\npython3 runner/nightly_sweep.py',
      true,
      /runner sweep runner\/nightly_sweep.py/,
    ],
    ['a shell -c doing the job', 'cc-ci-run pytest -q\nsh -c "pytest -q"', true, /`sh -c` script runs pytest/],
    ['a computed program', 'cc-ci-run pytest\n"$X" a', true, /computed at run time/],
    [
      'a listed name that redoes the job',
      'cc-ci-run curl https://x\ncurl https://x',
      ['curl'],
      /the command cc-ci-run was given/,
    ],
  ] as [string, string, true | string[], RegExp | undefined][])('%s', async (_n, script, allowed, want) => {
    const got = await after(script, allowed);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(want);
  });
});
