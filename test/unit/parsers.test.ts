import { nameCandidates, packageOf, parseDrvName, parseStorePath } from '../../src/parse/storePath.js';
import { normaliseNix } from '../../src/parse/nixText.js';
import { parseNix } from '../../src/nixSyntax/index.js';
import { findCollisions, logExcerpt } from '../../src/nix/logExcerpt.js';
import { compareTools } from '../../src/checks/pathSuperset.js';
import { CLAIM_EXPECTED_TOOLS } from '../../src/settings.js';

const H = 'zxlx9jnylh7la5m48bsqb1wfm5l9r0bd';
const sp = (name: string, sub = '/bin') => `/nix/store/${H}-${name}${sub}`;

describe('store paths', () => {
  test.each([
    [
      `/nix/store/${H}-curl-8.12.1-bin/bin`,
      { name: 'curl-8.12.1-bin', subPath: '/bin', root: `/nix/store/${H}-curl-8.12.1-bin` },
    ],
    [`/nix/store/${H}-cc-ci-run`, { name: 'cc-ci-run', subPath: '' }],
  ])('parseStorePath %s', (text, want) => expect(parseStorePath(text)).toMatchObject(want));
  test('not a store path', () => expect(parseStorePath('/run/current-system/sw/bin')).toBeUndefined());

  test.each([
    ['python3-3.12.8-env', 'python3', '3.12.8-env'],
    ['abra-0.13.0-beta', 'abra', '0.13.0-beta'],
    ['util-linux-2.39.4', 'util-linux', '2.39.4'],
    ['git-lfs-3.6.1', 'git-lfs', '3.6.1'],
    ['bash-5.2p37', 'bash', '5.2p37'],
    ['cc-ci-run', 'cc-ci-run', ''],
  ])('parseDrvName %s', (name, pname, version) => expect(parseDrvName(name)).toEqual({ pname, version }));

  test.each([
    ['curl-8.12.1-bin', { name: 'curl-8.12.1', pname: 'curl', version: '8.12.1', output: 'bin' }],
    ['openssl-3.3.3-bin', { name: 'openssl-3.3.3', pname: 'openssl', output: 'bin' }],
    ['python3-3.12.8-env', { name: 'python3-3.12.8-env', pname: 'python3' }],
    ['abra-0.13.0-beta', { name: 'abra-0.13.0-beta', pname: 'abra' }],
  ])('packageOf %s', (name, want) => expect(packageOf(name)).toMatchObject(want));
  test('nameCandidates keeps env/beta as part of the name', () =>
    expect(nameCandidates('python3-3.12.8-env')).toEqual(['python3-3.12.8-env']));
});

describe('nix text', () => {
  // host-parity reads the systemPackages definitions with the Nix parser, in every form Nix accepts.
  test.each([
    ['environment.systemPackages = pkgs.a ++ [ pkgs.b ];', 'pkgs.a ++ [ pkgs.b ]'],
    ['environment.systemPackages =\n  pkgs.a\n  ++ [ pkgs.b ];', 'pkgs.a\n  ++ [ pkgs.b ]'],
    [
      'environment = { systemPackages = with pkgs; [ a (b.override { x = 1; }) ]; };',
      'with pkgs; [ a (b.override { x = 1; }) ]',
    ],
    ['# environment.systemPackages = [ old ];\nenvironment.systemPackages = [ new ];', '[ new ]'],
    [
      "environment.systemPackages = [ (writeShellScriptBin \"x\" ''echo a; b'') ];",
      "[ (writeShellScriptBin \"x\" ''echo a; b'') ]",
    ],
  ])('systemPackages definition %j', (text, value) => {
    const defs = parseNix(`{ pkgs, ... }: { ${text} }`).definitions.filter((d) => d.name === 'systemPackages');
    expect(defs.map((d) => d.value!.text)).toEqual([value]);
  });

  test('normaliseNix ignores layout only', () => {
    expect(normaliseNix('pkgs.a   ++\n [ pkgs.b ]')).toBe(normaliseNix('pkgs.a ++ [pkgs.b]'));
    expect(normaliseNix('pkgs.a ++ [ pkgs.b ]')).not.toBe(normaliseNix('pkgs.a ++ [ pkgs.c ]'));
  });
});

describe('logs', () => {
  test('collision error and warning, with both paths', () => {
    const log = [
      "python3> collision between `/nix/store/a-x/bin/pytest' and `/nix/store/b-y/bin/pytest'",
      "system-path> warning: collision between `/nix/store/c-git-minimal/bin/git' and `/nix/store/d-git/bin/git'",
    ].join('\n');
    expect(findCollisions(log)).toEqual([
      expect.objectContaining({
        first: '/nix/store/a-x/bin/pytest',
        second: '/nix/store/b-y/bin/pytest',
        warningOnly: false,
      }),
      expect.objectContaining({
        first: '/nix/store/c-git-minimal/bin/git',
        second: '/nix/store/d-git/bin/git',
        warningOnly: true,
      }),
    ]);
  });
  // Issue 19: the same warning came out as `system-path> warning: …` (live -L log) and `warning: …` (nix log).
  test.each([
    ["system-path> warning: collision between `/nix/store/c-git-minimal/bin/git' and `/nix/store/d-git/bin/git'"],
    ["warning: collision between `/nix/store/c-git-minimal/bin/git' and `/nix/store/d-git/bin/git'"],
    ["  system-path> warning: collision between `/nix/store/c-git-minimal/bin/git' and `/nix/store/d-git/bin/git'"],
  ])('a collision line reads the same with or without the build-log prefix: %s', (raw) => {
    expect(findCollisions(raw).map((c) => c.line)).toEqual([
      "warning: collision between `/nix/store/c-git-minimal/bin/git' and `/nix/store/d-git/bin/git'",
    ]);
  });
  test('excerpt keeps decisive lines and the tail', () => {
    const log = ['noise 1', 'error: attribute missing', ...Array.from({ length: 20 }, (_, i) => `line ${i}`)].join(
      '\n',
    );
    const ex = logExcerpt(log, { tail: 3 });
    expect(ex).toEqual(['error: attribute missing', 'line 17', 'line 18', 'line 19']);
  });
  test("nix's eval-cache contention is not part of the excerpt", () => {
    const log = [
      "error (ignored): SQLite database '/root/.cache/nix/eval-cache-v6/ab.sqlite' is busy",
      "error: The option `x' has conflicting definition values:",
    ].join('\n');
    expect(logExcerpt(log)).toEqual(["error: The option `x' has conflicting definition values:"]);
  });
});

describe('compareTools', () => {
  const claimPath = CLAIM_EXPECTED_TOOLS.map((t) =>
    sp(['curl-8.12.1', 'util-linux-2.39.4', 'openssl-3.3.3', 'jq-1.7.1'].includes(t) ? `${t}-bin` : t),
  );
  test('the claim PATH with -bin outputs satisfies all 15', () => {
    const r = compareTools(CLAIM_EXPECTED_TOOLS, [...claimPath, '$PATH']);
    expect(r.present).toHaveLength(15);
    expect([r.missing, r.drift, r.extras]).toEqual([[], [], []]);
  });
  test.each([
    ['dropped', claimPath.filter((p) => !p.includes('git-lfs')), { missing: ['git-lfs-3.6.1'], drift: [] }],
    [
      'drifted',
      claimPath.map((p) => p.replace('openssl-3.3.3', 'openssl-3.3.2')),
      { missing: [], drift: [{ expected: 'openssl-3.3.3', found: 'openssl-3.3.2' }] },
    ],
  ])('%s', (_, entries, want) => {
    const r = compareTools(CLAIM_EXPECTED_TOOLS, entries);
    expect(r.missing).toEqual(want.missing);
    expect(r.drift.map(({ expected, found }) => ({ expected, found }))).toEqual(want.drift);
  });
  test('extras are reported for information', () => {
    expect(compareTools(['jq-1.7.1'], [sp('jq-1.7.1-bin'), sp('vim-9.1')]).extras).toEqual(['vim-9.1']);
  });
  test('git does not satisfy git-lfs, nor python3 the env', () => {
    const r = compareTools(['git-lfs-3.6.1', 'python3-3.12.8-env'], [sp('git-2.47.2'), sp('python3-3.12.8')]);
    expect(r.present).toEqual([]);
    expect(r.missing).toEqual(['git-lfs-3.6.1']);
    expect(r.drift.map((d) => d.found)).toEqual(['python3-3.12.8']);
  });
});

describe('sweep runtimeInputs: the one shared package only', () => {
  test.each([
    ['[ pkgs.cc-ci-run ]', true],
    ['[pkgs."cc-ci-run"]', true],
    ['with pkgs; [ cc-ci-run ]', true],
    ['[ cc-ci-run ]', false],
    ['[ pkgs.cc-ci-run pkgs.jq ]', false],
    ['[ pkgs.cc-ci-run-old ]', false],
    ['pkgs.ccciRuntimeTools', false],
  ])('%s -> %s', async (value, ok) => {
    const { isOnlyPackage } = await import('../../src/checks/singleSource.js');
    expect(isOnlyPackage(value, 'cc-ci-run')).toBe(ok);
  });
});
