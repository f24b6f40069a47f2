// src/devShell.ts: the PATH `nix develop` gives a shell, one row per input or construct of its contract, plus rows
// outside the contract (cannot follow). The facts are given as the two modes give them (derivation attributes).
import { devShellPath, OUTER_PATH, type DevShellFacts } from '../../src/devShell.js';
import { parseSpec } from '../../src/claim/load.js';

const sp = (name: string): string => `/nix/store/${name.length.toString().padStart(32, 'a')}-${name}`;
const STDENV = sp('stdenv-linux');
const [ws, git, gitMin, rsync, bash, coreutils, hook, lib] = [
  'ws-run',
  'git-2.47.2',
  'git-minimal-2.47.2',
  'rsync-3.4.1',
  'bash-5.2p37',
  'coreutils-9.5',
  'some-hook',
  'libfoo-1.0',
].map(sp);

interface Row {
  name: string;
  env: Record<string, string>;
  propagated?: Record<string, { buildInputs: string[]; other: string[] } | { unknown: string }>;
  stdenv?: Record<string, string>;
  dirs?: string[];
  cannotFollow?: RegExp;
}

const base = { stdenv: STDENV, shellHook: '' };
const bin = (p: string): string => `${p}/bin`;

const rows: Row[] = [
  {
    name: 'packages (nativeBuildInputs) in order, then initialPath, then the caller',
    env: { ...base, nativeBuildInputs: `${ws} ${git}` },
    dirs: [bin(ws), bin(git), bin(coreutils), OUTER_PATH],
  },
  {
    name: 'buildInputs after nativeBuildInputs',
    env: { ...base, nativeBuildInputs: ws, buildInputs: git },
    dirs: [bin(ws), bin(git), bin(coreutils), OUTER_PATH],
  },
  {
    name: 'strictDeps: buildInputs are not on PATH',
    env: { ...base, nativeBuildInputs: ws, buildInputs: git, strictDeps: '1' },
    dirs: [bin(ws), bin(coreutils), OUTER_PATH],
  },
  {
    name: 'propagatedNativeBuildInputs after nativeBuildInputs; propagatedBuildInputs after buildInputs',
    env: {
      ...base,
      nativeBuildInputs: ws,
      propagatedNativeBuildInputs: rsync,
      buildInputs: git,
      propagatedBuildInputs: bash,
    },
    dirs: [bin(ws), bin(rsync), bin(git), bin(bash), bin(coreutils), OUTER_PATH],
  },
  {
    name: "an input's propagated build inputs follow it at once (findInputs)",
    env: { ...base, nativeBuildInputs: `${hook} ${ws}` },
    propagated: { [hook]: { buildInputs: [gitMin], other: [] } },
    dirs: [bin(hook), bin(gitMin), bin(ws), bin(coreutils), OUTER_PATH],
  },
  {
    name: 'first occurrence kept',
    env: { ...base, nativeBuildInputs: `${git} ${ws} ${git}` },
    dirs: [bin(git), bin(ws), bin(coreutils), OUTER_PATH],
  },
  {
    name: "stdenv's defaultNativeBuildInputs after the shell's own",
    env: { ...base, nativeBuildInputs: ws },
    stdenv: { initialPath: coreutils, defaultNativeBuildInputs: hook },
    dirs: [bin(ws), bin(hook), bin(coreutils), OUTER_PATH],
  },
  {
    name: 'shellHook prepends a store directory',
    env: { ...base, nativeBuildInputs: ws, shellHook: `export PATH=${bin(gitMin)}:$PATH` },
    dirs: [bin(gitMin), bin(ws), bin(coreutils), OUTER_PATH],
  },
  {
    name: 'shellHook appends a directory after the caller',
    env: { ...base, nativeBuildInputs: ws, shellHook: 'export PATH="$PATH:/opt/x/bin"' },
    dirs: [bin(ws), bin(coreutils), OUTER_PATH, '/opt/x/bin'],
  },
  {
    name: 'shellHook replaces PATH',
    env: { ...base, nativeBuildInputs: ws, shellHook: `PATH=${bin(git)}` },
    dirs: [bin(git)],
  },
  // Outside the contract.
  { name: 'no stdenv', env: { nativeBuildInputs: ws }, cannotFollow: /no stdenv attribute/ },
  {
    name: 'an input that is not a store path root',
    env: { ...base, nativeBuildInputs: `${ws}/../../../etc` },
    cannotFollow: /not a store path/,
  },
  { name: '__structuredAttrs', env: { ...base, __json: '{}' }, cannotFollow: /__structuredAttrs/ },
  { name: 'depsBuildBuild', env: { ...base, depsBuildBuild: git }, cannotFollow: /depsBuildBuild/ },
  {
    name: 'an input propagating native inputs',
    env: { ...base, nativeBuildInputs: hook },
    propagated: { [hook]: { buildInputs: [], other: ['propagated-native-build-inputs'] } },
    cannotFollow: /not modelled/,
  },
  {
    name: 'an input whose propagation cannot be read',
    env: { ...base, nativeBuildInputs: lib },
    propagated: { [lib]: { unknown: 'not realised' } },
    cannotFollow: /not realised/,
  },
  { name: 'shellHook eval', env: { ...base, shellHook: 'eval "$(direnv hook bash)"' }, cannotFollow: /eval/ },
  { name: 'shellHook source', env: { ...base, shellHook: 'source ./env.sh' }, cannotFollow: /source|\./ },
  { name: 'shellHook alias', env: { ...base, shellHook: "alias git='echo'" }, cannotFollow: /alias/ },
  { name: 'shellHook function', env: { ...base, shellHook: 'git() { echo; }' }, cannotFollow: /function/ },
  {
    name: 'shellHook PATH from a command',
    env: { ...base, shellHook: 'export PATH="$(cat .path):$PATH"' },
    cannotFollow: /cannot be computed|cannot follow|PATH/,
  },
];

describe('devShellPath: the PATH nix develop gives', () => {
  test.each(rows)('$name', async (row) => {
    const facts: DevShellFacts = {
      env: row.env,
      source: 'shell.drv',
      propagated: async (p) => row.propagated?.[p] ?? { buildInputs: [], other: [] },
      stdenv: async () => row.stdenv ?? { initialPath: coreutils },
    };
    const r = await devShellPath(facts);
    if (row.cannotFollow) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.cannotFollow).toMatch(row.cannotFollow);
    } else {
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.dirs).toEqual(row.dirs);
    }
  });
});

describe('spec: the user service and dev shell kinds', () => {
  const spec = (consumers: string): string => `version: 1
hosts: [{ name: ws, config: nix/ws.nix }]
shared: { package: ws-run, file: nix/toolbox.nix, tools_attr: wsTools }
expected_tools: { entries: [git-2.47.2] }
consumers:
${consumers}`;
  test('keys and defaults', () => {
    const claim = parseSpec(
      spec(`  - { name: sync, kind: systemd-user-service, unit: ws-sync.service, started_by_timer: true, module: nix/sync.nix, module_must_not_contain: [wsTools], hosts: [ws] }
  - { name: shell, kind: dev-shell, attr: devShells.x86_64-linux.default }
  - { name: shell2, kind: dev-shell, attr: devShells.x86_64-linux.ci, tools_on_path: false }`),
      'spec.yml',
    );
    expect(claim.consumers).toEqual([
      {
        kind: 'systemd-user-service',
        name: 'sync',
        unit: 'ws-sync.service',
        startedByTimer: true,
        module: 'nix/sync.nix',
        moduleMustNotContain: ['wsTools'],
        hosts: ['ws'],
      },
      { kind: 'dev-shell', name: 'shell', attr: 'devShells.x86_64-linux.default', toolsOnPath: true },
      { kind: 'dev-shell', name: 'shell2', attr: 'devShells.x86_64-linux.ci', toolsOnPath: false },
    ]);
  });
  test.each([
    [
      'a dev shell on hosts',
      '  - { name: s, kind: dev-shell, attr: devShells.x.default, hosts: [ws] }',
      /spec.yml:6:\d+: consumers\[0\]\.hosts: unknown key/,
    ],
    [
      'a user unit that is not a service',
      '  - { name: s, kind: systemd-user-service, unit: ws-sync.timer }',
      /spec.yml:6:\d+: consumers\[0\]\.unit: expected a systemd service unit name/,
    ],
    [
      'a dev shell attr without a dot',
      '  - { name: s, kind: dev-shell, attr: default }',
      /spec.yml:6:\d+: consumers\[0\]\.attr: expected a flake output attribute path/,
    ],
  ])('%s is refused with its position', (_name, consumers, message) => {
    expect(() => parseSpec(spec(consumers), 'spec.yml')).toThrow(message);
  });
});
