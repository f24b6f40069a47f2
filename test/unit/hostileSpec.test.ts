// Who decides the claim (issue 16, route 5): a pipeline pins the claim (spec: builtin, a spec
// outside the workspace, spec_sha256), a repository spec is never read through a symlink out of
// the repository, and every difference from the built-in claim (duplicates in place of a dropped
// entry included) is a deviation in every output. The hostile specs are files in
// test/fixtures/hostile/specs/.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCard } from '../../src/render/card.js';
import { renderConsole } from '../../src/render/console.js';
import { renderDroneOutput } from '../../src/render/droneOutput.js';
import { renderJson } from '../../src/render/json.js';
import { renderJunit } from '../../src/render/junit.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { parseSettings, settingsDeviations } from '../../src/settings.js';
import { BUILTIN_SPEC_YAML } from '../../src/claim/builtin.js';
import { builtinClaim } from '../../src/claim/load.js';
import type { Verdict } from '../../src/verdict.js';

const SPECS = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/hostile/specs');
const OTHER_SPEC = path.join(SPECS, 'dup-expected-tool.yml');
const sha = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

let root: string;
let repo: string;
let outside: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'nv-hostile-spec-'));
  repo = path.join(root, 'repo');
  outside = path.join(root, 'outside');
  mkdirSync(path.join(repo, 'nix'), { recursive: true });
  mkdirSync(outside);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));
const parse = (env: NodeJS.ProcessEnv) => parseSettings({ env: { PLUGIN_FLAKE: repo, ...env }, flags: {}, cwd: repo });
const plant = (fixture: string, as = '.nixenv-verify.yml'): void =>
  copyFileSync(path.join(SPECS, fixture), path.join(repo, as));

describe("pinning the claim: a pull request's .nixenv-verify.yml cannot replace it", () => {
  interface PinCase {
    name: string;
    /** Lays out the repository (and files outside it). */
    setup: () => void;
    env: () => NodeJS.ProcessEnv;
    /** The claim verified, or the exit-2 message. */
    expect: { builtin: true; spec?: string } | { toolsWithout: string } | { error: RegExp };
  }
  const cases: PinCase[] = [
    {
      name: 'unset: the repository spec is read (and its weakening is a deviation, below)',
      setup: () => plant('dup-expected-tool.yml'),
      env: () => ({}),
      expect: { toolsWithout: 'openssl-3.3.3' },
    },
    {
      name: 'spec: builtin ignores the repository spec',
      setup: () => plant('dup-expected-tool.yml'),
      env: () => ({ PLUGIN_SPEC: 'builtin' }),
      expect: { builtin: true },
    },
    {
      name: "spec: builtin with the built-in text's sha256",
      setup: () => plant('dup-expected-tool.yml'),
      env: () => ({ PLUGIN_SPEC: 'builtin', PLUGIN_SPEC_SHA256: sha(BUILTIN_SPEC_YAML) }),
      expect: { builtin: true },
    },
    {
      name: 'a spec outside the workspace (absolute) wins over the repository spec',
      setup: () => {
        plant('dup-expected-tool.yml');
        writeFileSync(path.join(outside, 'claim.yml'), BUILTIN_SPEC_YAML);
      },
      env: () => ({ PLUGIN_SPEC: path.join(outside, 'claim.yml') }),
      expect: { builtin: true, spec: 'outside/claim.yml' },
    },
    {
      name: 'spec_sha256 pins the repository spec: an edited spec exits 2 naming both hashes',
      setup: () => plant('weak-same-as-builtin-but-comment.yml'),
      env: () => ({ PLUGIN_SPEC_SHA256: sha(BUILTIN_SPEC_YAML) }),
      expect: {
        error: new RegExp(
          `PLUGIN_SPEC_SHA256: the spec read \\(\\.nixenv-verify\\.yml\\) has sha256 ${sha(readFileSync(path.join(SPECS, 'weak-same-as-builtin-but-comment.yml')))}; expected ${sha(BUILTIN_SPEC_YAML)}`,
        ),
      },
    },
    {
      name: 'spec_sha256 that matches the repository spec: read',
      setup: () => plant('dup-expected-tool.yml'),
      env: () => ({ PLUGIN_SPEC_SHA256: sha(readFileSync(OTHER_SPEC)).toUpperCase() }),
      expect: { toolsWithout: 'openssl-3.3.3' },
    },
    {
      name: 'spec_sha256 with no repository spec checks the built-in text',
      setup: () => undefined,
      env: () => ({ PLUGIN_SPEC_SHA256: '0'.repeat(64) }),
      expect: {
        error: /PLUGIN_SPEC_SHA256: the spec read \(the built-in spec\) has sha256 [0-9a-f]{64}; expected 0{64}/,
      },
    },
    {
      name: 'spec_sha256 that is not a sha256',
      setup: () => undefined,
      env: () => ({ PLUGIN_SPEC_SHA256: 'abc' }),
      expect: { error: /PLUGIN_SPEC_SHA256: got "abc"; expected 64 hexadecimal digits/ },
    },
    {
      name: '.nixenv-verify.yml a symlink to a file outside the repository: exit 2 naming it',
      setup: () => {
        writeFileSync(path.join(outside, 'weak.yml'), readFileSync(OTHER_SPEC));
        symlinkSync(path.join(outside, 'weak.yml'), path.join(repo, '.nixenv-verify.yml'));
      },
      env: () => ({}),
      expect: {
        error:
          /the default spec \(no spec setting given\): \.nixenv-verify\.yml is read through the symlink "\.nixenv-verify\.yml", which leads out of the repository \(to .*outside\/weak\.yml\)/,
      },
    },
    {
      name: 'a spec setting whose directory component is a symlink out of the repository: exit 2 naming the component',
      setup: () => {
        writeFileSync(path.join(outside, 'claim.yml'), readFileSync(OTHER_SPEC));
        symlinkSync(outside, path.join(repo, 'ci'));
      },
      env: () => ({ PLUGIN_SPEC: 'ci/claim.yml' }),
      expect: {
        error: /PLUGIN_SPEC: "ci\/claim\.yml" is read through the symlink "ci", which leads out of the repository/,
      },
    },
    {
      name: 'a relative symlink climbing out (../../) is refused too',
      setup: () => {
        writeFileSync(path.join(outside, 'claim.yml'), readFileSync(OTHER_SPEC));
        symlinkSync('../outside/claim.yml', path.join(repo, '.nixenv-verify.yml'));
      },
      env: () => ({}),
      expect: { error: /leads out of the repository/ },
    },
    {
      name: 'a dangling .nixenv-verify.yml symlink is not silently the built-in claim',
      setup: () => symlinkSync(path.join(outside, 'gone.yml'), path.join(repo, '.nixenv-verify.yml')),
      env: () => ({}),
      expect: {
        error:
          /\.nixenv-verify\.yml is read through the symlink ".nixenv-verify.yml", which leads out of the repository \(to \(a dangling or looping symlink\)\)/,
      },
    },
    {
      name: 'a symlink inside the repository is fine',
      setup: () => {
        plant('dup-expected-tool.yml', 'real-spec.yml');
        symlinkSync('real-spec.yml', path.join(repo, '.nixenv-verify.yml'));
      },
      env: () => ({}),
      expect: { toolsWithout: 'openssl-3.3.3' },
    },
    {
      name: 'a FIFO as the spec: exit 2, no hang',
      setup: () => {
        require_mkfifo(path.join(repo, '.nixenv-verify.yml'));
      },
      env: () => ({}),
      expect: {
        error: /the default spec \(no spec setting given\): \.nixenv-verify\.yml is a FIFO; expected a spec file/,
      },
    },
    {
      name: 'a spec over 1 MiB: exit 2 naming the file and the limit',
      setup: () =>
        writeFileSync(path.join(repo, '.nixenv-verify.yml'), `${BUILTIN_SPEC_YAML}${'#'.repeat(1024 * 1024)}\n`),
      env: () => ({}),
      expect: {
        error:
          /the default spec \(no spec setting given\): \.nixenv-verify\.yml is \d+ bytes; a spec is at most 1048576 bytes \(1 MiB\)/,
      },
    },
  ];
  test.each(cases)('$name', ({ setup, env, expect: want }) => {
    setup();
    if ('error' in want) {
      expect(() => parse(env())).toThrow(want.error);
      return;
    }
    const s = parse(env());
    if ('builtin' in want) {
      expect(s.claim).toEqual({ ...builtinClaim(), spec: s.claim.spec });
      expect(s.spec).toBe(want.spec === undefined ? undefined : path.join(root, want.spec));
      expect(settingsDeviations(s)).toEqual([]);
    } else {
      expect(s.claim.expectedTools.entries).not.toContain(want.toolsWithout);
    }
  });
});

/** A FIFO at `file` (mkfifo(1)). */
function require_mkfifo(file: string): void {
  execFileSync('mkfifo', [file]);
}

describe('every difference from the built-in claim is a deviation, duplicates in place of a dropped entry included', () => {
  interface DevCase {
    name: string;
    fixture?: string;
    env?: NodeJS.ProcessEnv;
    /** The deviation label expected, or the exit-2 message (a duplicate the spec refuses). */
    label?: string;
    error?: RegExp;
  }
  const cases: DevCase[] = [
    {
      name: 'expected_tools: openssl dropped, git listed twice',
      fixture: 'dup-expected-tool.yml',
      label: 'expected_tools (15 of 15: without openssl-3.3.3, with git-2.47.2 (again))',
    },
    {
      name: 'required_programs: openssl dropped, git-lfs twice',
      fixture: 'dup-required-program.yml',
      label: 'required_bins without openssl, with git-lfs (again)',
    },
    {
      name: "one host's required_programs with a duplicate",
      fixture: 'dup-host-required.yml',
      label: 'required_bins per host: cc-ci=git-lfs,openssl; cc-ci-hetzner=git-lfs,git-lfs',
    },
    {
      name: 'the drone consumer replaced by a copy of the sweep',
      fixture: 'consumer-twice.yml',
      label: 'consumers without drone, with drone (systemd-service)',
    },
    {
      name: 'checks listed twice in a spec: refused',
      fixture: 'checks-twice.yml',
      error: /checks: a check is listed twice/,
    },
    {
      name: 'hosts listed twice in a spec: refused',
      fixture: 'hosts-twice.yml',
      error: /host "cc-ci" is listed twice/,
    },
    {
      name: 'PLUGIN_EXPECTED_TOOLS with a duplicate in place of a dropped one',
      env: {
        PLUGIN_EXPECTED_TOOLS: BUILTIN_SPEC_YAML.match(/^ {4}- (\S+)$/gm)!
          .map((l) => l.slice(6))
          .map((t) => (t === 'openssl-3.3.3' ? 'jq-1.7.1' : t))
          .join(','),
      },
      label: 'expected_tools (15 of 15: without openssl-3.3.3, with jq-1.7.1 (again))',
    },
    {
      name: 'PLUGIN_REQUIRED_BINS with a duplicate',
      env: { PLUGIN_REQUIRED_BINS: 'openssl,openssl' },
      label: 'required_bins without git-lfs, with openssl (again)',
    },
    { name: 'PLUGIN_HOSTS with a duplicate', env: { PLUGIN_HOSTS: 'cc-ci,cc-ci' }, label: 'hosts=cc-ci,cc-ci' },
    {
      name: 'PLUGIN_CHECKS with a duplicate in place of propagation',
      env: { PLUGIN_CHECKS: 'build,single-source,path-superset,entrypoint-parity,host-parity,host-parity' },
      label: 'checks (6 of 7: without propagation, no-drop, with host-parity (again))',
    },
  ];
  const passing: Verdict = {
    verdict: 'pass',
    mode: 'build',
    flake: '/repo',
    flakeRef: '/repo',
    hosts: ['cc-ci'],
    nix: { version: '2.8.0' },
    checks: [{ id: 'build', title: 'Builds', status: 'pass', summary: 'ok', evidence: [], durationMs: 1 }],
    durationMs: 1,
    tool: { name: 'nixenv-verify', version: '0.1.0' },
  };
  test.each(cases)('$name', ({ fixture, env, label, error }) => {
    if (fixture) plant(fixture);
    if (error) {
      expect(() => parse(env ?? {})).toThrow(error);
      return;
    }
    const deviations = settingsDeviations(parse(env ?? {}));
    expect(deviations.map((d) => d.label)).toContain(label);
    // In every output.
    const v: Verdict = { ...passing, deviations };
    const outputs = {
      console: renderConsole(v, { color: false }),
      json: JSON.parse(renderJson(v))
        .deviations.map((d: { label: string }) => d.label)
        .join('\n'),
      junit: renderJunit(v),
      markdown: renderMarkdown(v),
      card: renderCard(v).data.deviations,
      droneOutput: renderDroneOutput(v),
    };
    const unescaped = (text: string): string => text.replace(/\\([\\`*_[\]!~()&<>#|])/g, '$1');
    for (const [name, text] of Object.entries(outputs))
      expect([name, unescaped(text).includes(label!)]).toEqual([name, true]);
  });
});
