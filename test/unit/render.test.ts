import { collapsePresent, foldPath, renderConsole } from '../../src/render/console.js';
import { orderedEvidence } from '../../src/render/common.js';
import { overallVerdict, type Verdict } from '../../src/verdict.js';

const verdict = (statuses: ('pass' | 'fail' | 'error' | 'skip')[]): Verdict => {
  const checks = statuses.map((status, i) => ({
    id: (['build', 'single-source', 'path-superset'] as const)[i],
    title: 't',
    status,
    summary: `summary ${i}`,
    evidence:
      status === 'pass' ? ['cc-ci: built /nix/store/aaaa-nixos-system', 'not shown'] : ['MISSING git-lfs-3.6.1'],
    durationMs: 1500,
  }));
  return {
    verdict: overallVerdict(checks),
    mode: 'build',
    flake: '/r',
    flakeRef: '/r?submodules=1',
    hosts: ['a', 'b'],
    nix: { version: '2.8.0' },
    checks,
    durationMs: 3000,
    tool: { name: 'nixenv-verify', version: '0.1.0' },
  };
};

describe('verdict', () => {
  test.each([
    [['pass', 'pass'], 'pass'],
    [['pass', 'fail'], 'fail'],
    [['pass', 'error'], 'fail'],
    [['pass', 'skip'], 'pass'],
    [['skip'], 'fail'],
  ] as const)('%j -> %s', (statuses, want) => expect(verdict([...statuses]).verdict).toBe(want));
});

describe('console', () => {
  // Issue 19: a passing check is one line; the verdict line carries the first failing reason.
  test('a failing run: one line per passing check, evidence under the failure, the reason on the verdict line', () => {
    const text = renderConsole(verdict(['pass', 'fail']), { color: false });
    expect(text.split('\n')).toEqual([
      'nixenv-verify 0.1.0 · build mode · nix 2.8.0',
      'flake: /r?submodules=1  hosts: a, b',
      '',
      '  PASS   build          summary 0  (1.5s)',
      '  FAIL   single-source  summary 1  (1.5s)',
      '                        MISSING git-lfs-3.6.1',
      '',
      'verdict: FAIL: summary 1 (1 of 2 checks did not pass: single-source fail)',
      '',
    ]);
  });
  test('verbose: a passing check shows its key evidence', () => {
    const text = renderConsole(verdict(['pass', 'fail']), { color: false, verbose: true });
    expect(text).toContain(
      '  PASS   build          summary 0  (1.5s)\n                        cc-ci: built /nix/store/aaaa-nixos-system\n',
    );
    expect(text).not.toContain('not shown');
  });
  test('the verdict line: the first clause of each failing summary, in check order', () => {
    const v = verdict(['fail', 'pass', 'error']);
    v.checks[0].summary = "cc-ci-run's PATH lacks git-lfs-3.6.1 (14/15 expected entries)";
    v.checks[2].summary = 'cc-ci: sw/bin/git-lfs is missing; cc-ci-hetzner: sw/bin/git-lfs is missing';
    expect(renderConsole(v, { color: false })).toContain(
      "verdict: FAIL: cc-ci-run's PATH lacks git-lfs-3.6.1 (14/15 expected entries); cc-ci: sw/bin/git-lfs is missing (2 of 3 checks did not pass: build fail, path-superset error)",
    );
  });
  test('a failing check: the decisive lines first, present entries last, a long PATH folded', () => {
    const v = verdict(['fail']);
    const dirs = [
      '/nix/store/vlrd6bnp9a6s7x6564rxrlr2r9gjgz5y-python3-3.12.8-env/bin',
      '/nix/store/78zrv4xibw61ikfhi2q92znf6gqqycwl-git-2.47.2/bin',
      '$PATH',
    ];
    v.checks[0].evidence = [
      'read /nix/store/x/bin/cc-ci-run',
      `line 9: \`exec python3 "$@"\` runs with PATH=${dirs.join(':')} (2 directories)`,
      `ok      python3-3.12.8-env: ${dirs[0]}`,
      `ok      git-2.47.2: ${dirs[1]}`,
      'MISSING git-lfs-3.6.1',
    ];
    const lines = renderConsole(v, { color: false, width: 80 })
      .split('\n')
      .slice(4, 12)
      .map((l) => l.trim());
    expect(lines).toEqual([
      'MISSING git-lfs-3.6.1',
      'read /nix/store/x/bin/cc-ci-run',
      'line 9: `exec python3 "$@"` runs with PATH=… (2 directories)',
      '/nix/store/…-python3-3.12.8-env/bin:/nix/store/…-git-2.47.2/bin:$PATH',
      `ok      python3-3.12.8-env: ${dirs[0]}`,
      `ok      git-2.47.2: ${dirs[1]}`,
      '',
      'verdict: FAIL: summary 0 (1 of 1 checks did not pass: build fail)',
    ]);
  });
  test('more than three present entries in a row become one wrapped list', () => {
    const oks = ['a-1', 'b-2', 'c-3', 'd-4', 'e-5'].map((n) => `ok      ${n}: /nix/store/h-${n}/bin`);
    expect(collapsePresent(['MISSING z-9', ...oks, 'extra'], 30)).toEqual([
      'MISSING z-9',
      'ok      5 present: a-1, b-2, c-3, d-4,',
      '        e-5',
      'extra',
    ]);
    expect(collapsePresent(oks.slice(0, 3), 40)).toEqual(oks.slice(0, 3));
  });
  test.each([
    ['short: unchanged', 'runs with PATH=/a:/b', ['runs with PATH=/a:/b']],
    ['no PATH: unchanged', 'x'.repeat(50), ['x'.repeat(50)]],
  ])('foldPath %s', (_n, line, want) => expect(foldPath(line, 30)).toEqual(want));
});

describe('orderedEvidence (console, Markdown and card order)', () => {
  const check = (status: 'pass' | 'fail', evidence: string[]) => ({
    id: 'build' as const,
    title: 't',
    status,
    summary: 's',
    evidence,
    durationMs: 0,
  });
  test.each([
    [
      'missing before present',
      ['ok      a-1: /x', 'read /w', 'MISSING b-2'],
      ['MISSING b-2', 'read /w', 'ok      a-1: /x'],
    ],
    [
      'a differing consumer first',
      ['sweep: /nix/store/a-run', 'drone step: /nix/store/b-run (differ)'],
      ['drone step: /nix/store/b-run (differ)', 'sweep: /nix/store/a-run'],
    ],
    [
      'a collision line first',
      ['cc-ci: built /nix/store/x', "cc-ci: warning: collision between `/a' and `/b'"],
      ["cc-ci: warning: collision between `/a' and `/b'", 'cc-ci: built /nix/store/x'],
    ],
    [
      '"not built" is not decisive',
      ['cc-ci: openssl from openssl-3 (evaluated, not built)', 'cc-ci: git-lfs MISSING'],
      ['cc-ci: git-lfs MISSING', 'cc-ci: openssl from openssl-3 (evaluated, not built)'],
    ],
  ])('%s', (_n, evidence, want) => expect(orderedEvidence(check('fail', evidence))).toEqual(want));
  test('a passing check keeps its order', () =>
    expect(orderedEvidence(check('pass', ['ok      a-1: /x', 'MISSING b']))).toEqual(['ok      a-1: /x', 'MISSING b']));
});
