// The pure parts of the process and Nix routes of issue 16: who runs builds,
// which nix settings leave argv, which submodule URLs are mapped, what a
// workspace comparison reports, which temp dirs are private. The real-Nix rows
// are test/integration/hostileProcess.test.ts.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { joinRelativeUrl, nixProcessEnv, secretArgsToConfig } from '../../src/nix/client.js';
import { detectBuildIsolation, groupMembers, untrustedBuild, type IsolationProbe } from '../../src/nix/isolation.js';
import { privateTempDir, UnsafeTempDirError } from '../../src/tempDir.js';
import { compareWorkspace, type WorkspaceSnapshot } from '../../src/workspace.js';
import { overallVerdict } from '../../src/verdict.js';

const probe = (uid: number, group: string | undefined, existing: string[] = []): IsolationProbe => ({
  uid,
  exists: (p) => existing.includes(p) || ['/bin', '/usr', '/lib'].includes(p),
  groupFile: () => group,
});

describe('detectBuildIsolation', () => {
  test.each([
    { name: 'NIX_REMOTE=daemon', env: { NIX_REMOTE: 'daemon' }, probe: probe(0, undefined), kind: 'daemon', args: [] },
    {
      name: 'the daemon socket exists (auto store)',
      env: {},
      probe: probe(1000, undefined, ['/nix/var/nix/daemon-socket/socket']),
      kind: 'daemon',
      args: [],
    },
    {
      name: 'NIX_REMOTE=local ignores the socket',
      env: { NIX_REMOTE: 'local' },
      probe: probe(0, 'nixbld:x:30000:nixbld1', ['/nix/var/nix/daemon-socket/socket']),
      kind: 'sandbox',
      args: [
        '--option',
        'build-users-group',
        'nixbld',
        '--option',
        'sandbox',
        'true',
        '--option',
        'sandbox-paths',
        '/bin /usr /lib',
      ],
    },
    {
      name: 'root with build users',
      env: {},
      probe: probe(0, 'root:x:0:\nnixbld:x:30000:nixbld1,nixbld2\n'),
      kind: 'sandbox',
      args: [
        '--option',
        'build-users-group',
        'nixbld',
        '--option',
        'sandbox',
        'true',
        '--option',
        'sandbox-paths',
        '/bin /usr /lib',
      ],
    },
    {
      name: 'root, nixbld group without members',
      env: {},
      probe: probe(0, 'nixbld:x:30000:\n'),
      kind: 'unsandboxed',
      args: [],
    },
    { name: 'root, no nixbld group', env: {}, probe: probe(0, 'root:x:0:\n'), kind: 'unsandboxed', args: [] },
    { name: 'root, /etc/group unreadable', env: {}, probe: probe(0, undefined), kind: 'unsandboxed', args: [] },
    {
      name: 'another group named by NIXENV_VERIFY_BUILD_GROUP',
      env: { NIXENV_VERIFY_BUILD_GROUP: 'nope' },
      probe: probe(0, 'nixbld:x:30000:nixbld1\n'),
      kind: 'unsandboxed',
      args: [],
    },
    {
      name: 'root with build users, no namespaces (unprivileged container)',
      env: {},
      probe: { ...probe(0, 'nixbld:x:30000:nixbld1\n'), namespaces: () => false },
      kind: 'build-users',
      args: ['--option', 'build-users-group', 'nixbld', '--option', 'sandbox', 'false'],
    },
    {
      name: 'single-user store (uid 1000)',
      env: {},
      probe: probe(1000, 'nixbld:x:30000:nixbld1\n'),
      kind: 'unsandboxed',
      args: [],
    },
  ])('$name: $kind', ({ env, probe: p, kind, args }) => {
    const iso = detectBuildIsolation(env, p);
    expect(iso.kind).toBe(kind);
    expect(iso.args).toEqual(args);
  });

  test('group(5) members', () => {
    expect(groupMembers('a:x:1:\nnixbld:x:2:u1, u2\n', 'nixbld')).toEqual(['u1', 'u2']);
    expect(groupMembers('nixbldx:x:2:u1\n', 'nixbld')).toEqual([]);
  });
});

describe('untrustedBuild: unsandboxed builds fail the verdict unless accepted', () => {
  const unsandboxed = detectBuildIsolation({}, probe(0, ''));
  const sandbox = detectBuildIsolation({}, probe(0, 'nixbld:x:1:nixbld1'));
  test.each([
    {
      name: 'unsandboxed, build mode',
      iso: unsandboxed,
      mode: 'build' as const,
      accepted: false,
      hazard: true,
      deviation: false,
    },
    {
      name: 'unsandboxed, build mode, accepted',
      iso: unsandboxed,
      mode: 'build' as const,
      accepted: true,
      hazard: false,
      deviation: true,
    },
    {
      name: 'unsandboxed, eval mode (nothing built)',
      iso: unsandboxed,
      mode: 'eval' as const,
      accepted: false,
      hazard: false,
      deviation: false,
    },
    { name: 'sandbox', iso: sandbox, mode: 'build' as const, accepted: false, hazard: false, deviation: false },
  ])('$name', ({ iso, mode, accepted, hazard, deviation }) => {
    const t = untrustedBuild(iso, mode, accepted);
    expect(t.hazard !== undefined).toBe(hazard);
    expect(t.accepted !== undefined).toBe(deviation);
    if (t.hazard)
      expect(t.hazard).toMatch(/^untrusted: builds run as root without a sandbox.*allow_unsandboxed_build: true/);
  });

  test('a hazard fails a verdict whose checks all passed', () => {
    const pass = [
      { id: 'build' as const, title: 'b', status: 'pass' as const, summary: '', evidence: [], durationMs: 0 },
    ];
    expect(overallVerdict(pass)).toBe('pass');
    expect(overallVerdict(pass, ['untrusted: …'])).toBe('fail');
  });
});

describe('secretArgsToConfig: credentials leave argv for NIX_CONFIG', () => {
  test.each([
    {
      name: '--option access-tokens',
      args: ['--option', 'access-tokens', 'github.com=tok123', '--option', 'cores', '2'],
      out: ['--option', 'cores', '2'],
      config: ['access-tokens = github.com=tok123'],
    },
    {
      name: '--access-tokens',
      args: ['--access-tokens', 'github.com=tok123', '-j', '2'],
      out: ['-j', '2'],
      config: ['access-tokens = github.com=tok123'],
    },
    {
      name: 'extra-access-tokens',
      args: ['--option', 'extra-access-tokens', 'gitlab.com=tok456'],
      out: [],
      config: ['extra-access-tokens = gitlab.com=tok456'],
    },
    {
      name: 'a builder URL with a password, newline separated',
      args: ['--option', 'builders', 'ssh://u:pw99@b x86_64-linux\nssh://c x86_64-linux'],
      out: [],
      config: ['builders = ssh://u:pw99@b x86_64-linux ; ssh://c x86_64-linux'],
    },
    {
      name: 'a builder without credentials stays',
      args: ['--option', 'builders', 'ssh://b x86_64-linux'],
      out: ['--option', 'builders', 'ssh://b x86_64-linux'],
      config: [],
    },
    {
      name: 'booleans stay',
      args: ['--fallback', '--no-substitute'],
      out: ['--fallback', '--no-substitute'],
      config: [],
    },
  ])('$name', ({ args, out, config }) => {
    expect(secretArgsToConfig(args)).toEqual({ args: out, config });
  });

  test("the nix process env: PLUGIN_* dropped, secrets appended to the caller's NIX_CONFIG", () => {
    const env = nixProcessEnv({ PATH: '/bin', PLUGIN_NIX_CONFIG: '{"access-tokens":"x=y"}', NIX_CONFIG: 'cores = 1' }, [
      'access-tokens = x=y',
    ]);
    expect(env).toEqual({ PATH: '/bin', NIX_CONFIG: 'cores = 1\naccess-tokens = x=y' });
  });
});

describe("joinRelativeUrl: git's relative submodule URLs", () => {
  test.each([
    ['https://git.example.org/ops/cc-ci.git', '../secrets.git', 'https://git.example.org/ops/secrets.git'],
    ['https://git.example.org/ops/cc-ci', './sub', 'https://git.example.org/ops/cc-ci/sub'],
    ['git@host:ops/cc-ci.git', '../../x/y', 'git@host:x/y'],
    ['/srv/ws', '../victim', '/srv/victim'],
  ])('%s + %s', (base, rel, want) => {
    expect(joinRelativeUrl(base, rel)).toBe(want);
  });
});

describe('compareWorkspace', () => {
  const snap = (files: Record<string, string>, git: Record<string, string> = {}): WorkspaceSnapshot => ({
    files: new Map(Object.entries(files)),
    git,
    truncated: false,
  });
  test.each([
    { name: 'unchanged', before: snap({ a: '1' }, { head: 'x' }), after: snap({ a: '1' }, { head: 'x' }), want: [] },
    { name: 'a file rewritten', before: snap({ a: '1' }), after: snap({ a: '2' }), want: [/1 file\(s\) \(a\)/] },
    { name: 'a file removed', before: snap({ a: '1' }), after: snap({}), want: [/a \(removed\)/] },
    {
      name: 'a file added (status changes with it: one line)',
      before: snap({}, { status: '' }),
      after: snap({ b: '1' }, { status: '?? b' }),
      want: [/b \(new\)/],
    },
    {
      name: 'a hook written',
      before: snap({}, { '.git/hooks/pre-commit': 'missing' }),
      after: snap({}, { '.git/hooks/pre-commit': 'abc' }),
      want: [/git state changed during the run \(\.git\/hooks\/pre-commit\)/],
    },
    {
      name: 'staged by the build (status only)',
      before: snap({ a: '1' }, { status: ' M a' }),
      after: snap({ a: '1' }, { status: 'M  a' }),
      want: [/git state changed.*\(status\)/],
    },
  ])('$name', ({ before, after, want }) => {
    const got = compareWorkspace(before, after);
    expect(got).toHaveLength(want.length);
    want.forEach((re, i) => expect(got[i]).toMatch(re));
  });
});

describe('privateTempDir', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'nv-tmpbase-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  const uid = process.getuid?.() ?? 0;
  test.each([
    { name: 'a private base', mode: 0o700, ok: true },
    { name: 'a sticky world-writable base (like /tmp)', mode: 0o1777, ok: true },
    { name: 'a world-writable base without the sticky bit', mode: 0o777, ok: false },
  ])('$name', ({ mode, ok }) => {
    const b = path.join(base, mode.toString(8));
    mkdirSync(b);
    chmodSync(b, mode);
    if (ok) {
      const dir = privateTempDir('x-', b, uid);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    } else {
      expect(() => privateTempDir('x-', b, uid)).toThrow(UnsafeTempDirError);
    }
  });
  test('a base that is a symlink is refused', () => {
    const link = path.join(base, 'link');
    symlinkSync(base, link);
    expect(() => privateTempDir('x-', link, uid)).toThrow(/not a directory/);
  });
});
