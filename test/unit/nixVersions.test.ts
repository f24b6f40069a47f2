// What Nix 2.8, 2.26 and 2.34 print, verbatim (captured from Debian's nix-bin
// in bookworm, trixie and sid), and what the client makes of it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createNixClient,
  messageFirst,
  nixGaveNoAnswer,
  NixOutputError,
  parseNixJson,
  pathInfoEntries,
} from '../../src/nix/client.js';
import { collapseRepeats, logExcerpt, nixErrorMessage, remoteBuildHints } from '../../src/nix/logExcerpt.js';
import { NixCommandError, PreflightError } from '../../src/errors.js';
import { fakeRunner } from '../fakes/runner.js';

const STORE = '/nix/store/4vl91cly5m9g2m711vny91y8wjbwkysn-source';

/** `nix eval` of a host without ?submodules=1, on each version. */
const MISSING_SUBMODULE_FILE: [string, string, string][] = [
  [
    '2.8.0',
    `error: getting status of '${STORE}/secrets/hosts.nix': No such file or directory\n(use '--show-trace' to show detailed location information)\n`,
    `getting status of '${STORE}/secrets/hosts.nix': No such file or directory`,
  ],
  [
    '2.26.3',
    [
      'error:',
      "       … while calling the 'derivationStrict' builtin",
      '         at <nix/derivation-internal.nix>:37:12:',
      '           36|',
      '           37|   strict = derivationStrict drvAttrs;',
      '             |            ^',
      '           38|',
      '',
      "       … while evaluating derivation 'nixos-system-cc-ci-24.11.20250630.50ab793'",
      `         whose name attribute is located at ${STORE}/fakepkgs/nixos.nix:100:5`,
      '',
      "       … while evaluating attribute 'etc' of derivation 'nixos-system-cc-ci-24.11.20250630.50ab793'",
      `         at ${STORE}/fakepkgs/nixos.nix:103:24:`,
      '          102|     PATH = "/usr/bin:/bin";',
      '          103|     inherit systemPath etc;',
      '             |                        ^',
      '          104|     args = [ "-c" \'\'',
      '',
      "       (stack trace truncated; use '--show-trace' to show the full, detailed trace)",
      '',
      `       error: path '${STORE}/secrets/hosts.nix' does not exist`,
      '',
    ].join('\n'),
    `path '${STORE}/secrets/hosts.nix' does not exist`,
  ],
  [
    '2.34.8',
    [
      'error:',
      "       … while calling the 'derivationStrict' builtin",
      '         at «nix-internal»/derivation-internal.nix:37:12:',
      '           36|',
      '           37|   strict = derivationStrict drvAttrs;',
      '             |            ^',
      '           38|',
      '',
      "       … while evaluating derivation 'nixos-system-cc-ci-24.11.20250630.50ab793'",
      '         whose name attribute is located at /tmp/fx-sub/fakepkgs/nixos.nix:100:5',
      '',
      "       (stack trace truncated; use '--show-trace' to show the full, detailed trace)",
      '',
      '       error: Path \'secrets/hosts.nix\' in the repository "/tmp/fx-sub" is not tracked by Git.',
      '',
      '       To make it visible to Nix, run:',
      '',
      '       git -C "/tmp/fx-sub" add "secrets/hosts.nix"',
      '',
    ].join('\n'),
    'Path \'secrets/hosts.nix\' in the repository "/tmp/fx-sub" is not tracked by Git.',
  ],
];

/** `nix build` with only an aarch64 builder and --max-jobs 0, two derivations. */
const remoteBlock = (drv: string, v28: boolean) =>
  [
    'Failed to find a machine for remote build!',
    `derivation: ${drv}`,
    `required (system, features): (x86_64-linux, ${v28 ? '' : '[]'})`,
    '1 available machines:',
    '(systems, maxjobs, supportedFeatures, mandatoryFeatures)',
    v28 ? '(aarch64-linux, 1, , )' : '([aarch64-linux], 1, [], [])',
  ].join('\n');
const REMOTE: [string, string, string][] = [
  [
    '2.8.0',
    `${remoteBlock('iancs-t-a.drv', true)}\n${remoteBlock('likmx-t-b.drv', true)}\nerror: unable to start any build; remote machines may not have all required system features.\n       https://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html\n`,
    'unable to start any build; remote machines may not have all required system features.',
  ],
  [
    '2.26.3',
    `these 2 derivations will be built:\n  /nix/store/iancs-t-a.drv\n  /nix/store/likmx-t-b.drv\n${remoteBlock('iancs-t-a.drv', false)}\n${remoteBlock('likmx-t-b.drv', false)}\nerror:\n                           Unable to start any build;\n                           remote machines may not have all required system features.\n\n                           For more information run 'man nix.conf' and search for '/machines'.\n`,
    'Unable to start any build;',
  ],
  [
    '2.34.8',
    `${remoteBlock('vrb24-t-a.drv', false)}\n${remoteBlock('lg1zh-t-b.drv', false)}\nerror: Cannot build '/nix/store/vrb24-t-a.drv'.\n       Reason: local builds are disabled (max-jobs = 0)\n       Hint: set 'max-jobs' to a non-zero value to enable local builds, or configure remote builders via 'builders'\n`,
    "Cannot build '/nix/store/vrb24-t-a.drv'.",
  ],
];

let repo: string;
beforeAll(() => {
  repo = mkdtempSync(path.join(os.tmpdir(), 'nv-versions-unit-'));
  writeFileSync(path.join(repo, '.gitmodules'), '[submodule "secrets"]\n\tpath = secrets\n\turl = ../secrets.git\n');
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

async function failingClient(version: string, stderr: string, { submodules = false, env = {} } = {}) {
  const fake = fakeRunner((call) =>
    call.args[0] === '--version' ? { stdout: `nix (Nix) ${version}\n` } : { exitCode: 1, stderr },
  );
  return createNixClient({
    runner: fake.runner,
    flakeDir: repo,
    submodules,
    extraArgs: [],
    timeoutMs: 1000,
    skipPathLookup: true,
    env,
  });
}

describe('the real message of a nix error, on every version', () => {
  test.each(MISSING_SUBMODULE_FILE)('nix %s: missing submodule file', (_v, stderr, message) => {
    expect(nixErrorMessage(stderr)).toBe(message);
  });
  test.each(REMOTE)('nix %s: remote build', (_v, stderr, message) => {
    expect(nixErrorMessage(stderr)).toBe(message);
  });
  test.each([
    ['no error at all', 'warning: Git tree is dirty\n', undefined],
    ['a bare error: with only frames', 'error:\n       … while evaluating x\n', undefined],
    [
      'first top-level error wins (2.8 style)',
      "error: attribute 'x' missing\nerror: second\n",
      "attribute 'x' missing",
    ],
    [
      'ANSI colours',
      "\x1b[31;1merror:\x1b[0m\n       \x1b[31;1merror:\x1b[0m undefined variable 'foo'\n",
      "undefined variable 'foo'",
    ],
  ])('%s', (_name, stderr, message) => expect(nixErrorMessage(stderr)).toBe(message));

  test.each(MISSING_SUBMODULE_FILE)(
    'nix %s: the excerpt starts with the message and keeps the submodule hint',
    async (version, stderr, message) => {
      const nix = await failingClient(version, stderr);
      const err = (await nix.evalJson('nixosConfigurations').catch((e: unknown) => e)) as NixCommandError;
      expect(err).toBeInstanceOf(NixCommandError);
      // What the checks' summaries quote: the first line with "error".
      expect(err.excerpt.find((l) => /error/i.test(l))).toBe(`error: ${message}`);
      expect(err.excerpt).not.toContain('error:');
      expect(err.excerpt.filter((l) => l.includes(message))).toHaveLength(1);
      expect(err.excerpt).toContain(
        'hint: this repository has git submodules and PLUGIN_SUBMODULES=false leaves them out of the flake',
      );
    },
  );

  test.each(MISSING_SUBMODULE_FILE)('nix %s: no submodule hint when submodules are on', async (version, stderr) => {
    const nix = await failingClient(version, stderr, { submodules: true });
    const err = (await nix.evalJson('x').catch((e: unknown) => e)) as NixCommandError;
    expect(err.excerpt.join('\n')).not.toContain('hint: this repository has git submodules');
  });

  test.each([
    [['error:', '  … while x', '  error: boom'], 'boom', ['error: boom', '  … while x']],
    [['error: boom'], 'boom', ['error: boom']],
    [['a', 'b'], undefined, ['a', 'b']],
  ])('messageFirst %j', (excerpt, message, want) => expect(messageFirst(excerpt, message)).toEqual(want));
});

describe('remote builders', () => {
  test.each(REMOTE)('nix %s: repeated lines are collapsed, the nix_options hint is given', async (version, stderr) => {
    const nix = await failingClient(version, stderr);
    const out = await nix.buildDrvs(['/nix/store/iancs-t-a.drv']);
    expect(out.ok).toBe(false);
    const excerpt = out.error!.excerpt;
    expect(excerpt.filter((l) => l.startsWith('Failed to find a machine for remote build!'))).toEqual([
      'Failed to find a machine for remote build! (repeated 2 times)',
    ]);
    expect(
      excerpt.some((l) => l.startsWith('hint: ') && l.includes('nix_options') && l.includes('PLUGIN_NIX_OPTIONS')),
    ).toBe(true);
    expect(excerpt.join('\n')).not.toContain('trusted-users'); // not a daemon
  });

  test.each(REMOTE)('nix %s with NIX_REMOTE=daemon: the untrusted-user hint', async (version, stderr) => {
    const nix = await failingClient(version, stderr, { env: { NIX_REMOTE: 'daemon' } });
    const excerpt = (await nix.buildDrvs(['/nix/store/iancs-t-a.drv'])).error!.excerpt;
    expect(
      excerpt.some((l) =>
        /^hint: NIX_REMOTE=daemon: the nix daemon silently drops builders and substituters .* trusted-users/.test(l),
      ),
    ).toBe(true);
  });

  test('dozens of identical lines become one', () => {
    const log = `${Array.from({ length: 40 }, (_, i) => `Failed to find a machine for remote build!\nderivation: d${i}.drv`).join('\n')}\nerror: unable to start any build\n`;
    const excerpt = logExcerpt(log);
    expect(excerpt).toContain('Failed to find a machine for remote build! (repeated 40 times)');
    expect(excerpt.filter((l) => l.includes('Failed to find a machine'))).toHaveLength(1);
  });

  test.each([
    [
      ['a', 'b', 'a', 'a'],
      ['a (repeated 3 times)', 'b'],
    ],
    [['a', '  a'], ['a (repeated 2 times)']],
    [
      ['x', 'y'],
      ['x', 'y'],
    ],
    [[], []],
  ])('collapseRepeats %j', (lines, want) => expect(collapseRepeats(lines)).toEqual(want));

  test.each([
    ['plain failure', 'error: builder failed', {}, []],
    ['no machine', 'Failed to find a machine for remote build!', {}, ['nix_options']],
    ['daemon, no build possible', 'error: unable to start any build', { NIX_REMOTE: 'daemon' }, ['trusted-users']],
    ['local store, no build possible', 'error: unable to start any build', {}, []],
    [
      'both',
      'Failed to find a machine for remote build!\nerror:\n   Unable to start any build;',
      { NIX_REMOTE: 'daemon' },
      ['nix_options', 'trusted-users'],
    ],
  ])('remoteBuildHints: %s', (_name, log, env, words) => {
    const hints = remoteBuildHints(log, env);
    expect(hints).toHaveLength(words.length);
    words.forEach((w, i) => expect(hints[i]).toContain(w));
  });
});

describe('nix output that is not what was asked for', () => {
  test.each([
    [
      'not JSON',
      'warning: unknown setting\nhello',
      'nix printed something that is not JSON: warning: unknown setting hello',
    ],
    ['truncated', '{"a": [1, 2', 'nix printed something that is not JSON: {"a": [1, 2'],
    ['empty', '', 'nix printed something that is not JSON: (nothing)'],
    ['long', `x${'y'.repeat(300)}`, `nix printed something that is not JSON: x${'y'.repeat(119)}…`],
  ])('%s: a NixOutputError with the command, one line', (_name, stdout, line) => {
    const err = (() => {
      try {
        parseNixJson(stdout, 'nix eval --json /r#x');
      } catch (e) {
        return e;
      }
      return undefined;
    })() as NixOutputError;
    expect(err).toBeInstanceOf(NixOutputError);
    expect(err).toBeInstanceOf(NixCommandError);
    expect(err.command).toBe('nix eval --json /r#x');
    expect(err.excerpt).toEqual([`error: ${line}`]);
    expect(nixGaveNoAnswer(err)).toBe(true);
  });

  const answering = (version: string, stdout: string) =>
    createNixClient({
      runner: fakeRunner((call) => (call.args[0] === '--version' ? { stdout: `nix (Nix) ${version}\n` } : { stdout }))
        .runner,
      flakeDir: '/repo',
      submodules: true,
      extraArgs: [],
      timeoutMs: 1000,
      skipPathLookup: true,
      env: {},
    });

  test.each([
    ['evalJson', (n: Awaited<ReturnType<typeof answering>>) => n.evalJson('x')],
    ['derivationEnv', (n: Awaited<ReturnType<typeof answering>>) => n.derivationEnv('/nix/store/x.drv')],
    ['buildDrvs', (n: Awaited<ReturnType<typeof answering>>) => n.buildDrvs(['/nix/store/x.drv'])],
  ])('%s with truncated JSON rejects with a NixOutputError, not a SyntaxError', async (_name, call) => {
    for (const version of ['2.8.0', '2.26.3', '2.34.8']) {
      const err = await call(await answering(version, '{"derivations": {"x.drv": {"env"')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NixOutputError);
      expect((err as NixOutputError).excerpt[0]).toMatch(
        /^error: nix printed something that is not JSON: \{"derivations"/,
      );
    }
  });

  test.each([
    ['2.8 (name -> drv)', '{"/nix/store/x.drv":{"env":{"a":"1"}}}'],
    ['2.26/2.34 (derivations, version)', '{"derivations":{"x.drv":{"env":{"a":"1"}}},"version":4}'],
  ])('derivationEnv reads %s', async (_name, stdout) => {
    expect(await (await answering('2.26.3', stdout)).derivationEnv('/nix/store/x.drv')).toEqual({ a: '1' });
  });

  test.each([
    ['timed out', new NixCommandError('nix eval', null, [], true), true],
    ['killed by a signal', new NixCommandError('nix eval', null, []), true],
    ['an evaluation error', new NixCommandError('nix eval', 1, ['error: x']), false],
    ['not a nix error', new Error('x'), false],
  ])('nixGaveNoAnswer: %s', (_name, err, want) => expect(nixGaveNoAnswer(err)).toBe(want));
});

describe('nix path-info --json, both shapes', () => {
  const p = '/nix/store/32mg670wb13jprpwwhfqahw36fr35c35-bash-5.2p37';
  const d = '/nix/store/hf4z3rng992jwjifc1grlml5c0z41636-bash-5.2p37.drv';
  test.each([
    ['2.8: a list', [{ path: p, narHash: 'sha256-x', narSize: 760, references: [], deriver: d, ultimate: true }]],
    [
      '2.26: an object keyed by store path',
      { [p]: { ca: null, deriver: d, narHash: 'sha256-x', narSize: 760, references: [], ultimate: true } },
    ],
    [
      '2.34: with storeDir and version',
      {
        [p]: { ca: null, deriver: d, narSize: 760, references: [], storeDir: '/nix/store', version: 1 },
        '/nix/store/invalid-x': null,
      },
    ],
  ])('%s', (_name, json) => {
    const entries = pathInfoEntries(json);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ path: p, deriver: d, narSize: 760 });
  });
  test('anything else is no entries', () => expect(pathInfoEntries('x')).toEqual([]));
});

describe('preflight: the nix version', () => {
  const versionOf = (stdout: string, exitCode = 0) =>
    createNixClient({
      runner: fakeRunner(() => ({ stdout, exitCode })).runner,
      flakeDir: '/repo',
      submodules: true,
      extraArgs: [],
      timeoutMs: 1000,
      skipPathLookup: true,
      env: {},
    }).then((c) => c.version);

  test.each([
    ['nix (Nix) 2.3.16', '2.3.16'],
    ['nix (Nix) 2.3', '2.3'],
    ['nix (Nix) 1.11.16', '1.11.16'],
  ])('%s is too old: PreflightError (exit 2) naming the version and what is needed', async (text, found) => {
    const err = (await versionOf(`${text}\n`).catch((e: unknown) => e)) as PreflightError;
    expect(err).toBeInstanceOf(PreflightError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`nix ${found} found`);
    expect(err.message).toContain('needs Nix >= 2.4');
    expect(err.message).toContain('flakes');
  });

  test.each([
    ['nix (Nix) 2.4', '2.4'],
    ['nix (Nix) 2.8.0', '2.8.0'],
    ['nix (Nix) 2.26.3', '2.26.3'],
    ['nix (Nix) 2.34.8', '2.34.8'],
  ])('%s is enough', async (text, v) => expect(await versionOf(text)).toBe(v));

  test('nix --version failing is a PreflightError', async () => {
    await expect(versionOf('', 139)).rejects.toBeInstanceOf(PreflightError);
  });
});
