import { renderConsole } from '../../src/render/console.js';
import { overallVerdict, type Verdict } from '../../src/verdict.js';

const verdict = (statuses: ('pass' | 'fail' | 'error' | 'skip')[]): Verdict => {
  const checks = statuses.map((status, i) => ({
    id: (['build', 'single-source', 'path-superset'] as const)[i]!,
    title: 't',
    status,
    summary: `summary ${i}`,
    evidence: status === 'pass' ? ['cc-ci: built /nix/store/aaaa-nixos-system', 'not shown'] : ['MISSING git-lfs-3.6.1'],
    durationMs: 1500,
  }));
  return { verdict: overallVerdict(checks), mode: 'build', flake: '/r', flakeRef: '/r?submodules=1', hosts: ['a', 'b'], nix: { version: '2.8.0' }, checks, durationMs: 3000, tool: { name: 'nixenv-verify', version: '0.1.0' } };
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
  test('a failing run: one line per check, evidence under the failure, the verdict line last', () => {
    const text = renderConsole(verdict(['pass', 'fail']), { color: false });
    expect(text.split('\n')).toEqual([
      'nixenv-verify 0.1.0 · build mode · nix 2.8.0',
      'flake: /r?submodules=1  hosts: a, b',
      '',
      '  PASS   build          summary 0  (1.5s)',
      '                        cc-ci: built /nix/store/aaaa-nixos-system',
      '  FAIL   single-source  summary 1  (1.5s)',
      '                        MISSING git-lfs-3.6.1',
      '',
      'verdict: FAIL (1 of 2 checks did not pass: single-source fail)',
      '',
    ]);
  });
  test('colour only when asked', () => {
    expect(renderConsole(verdict(['pass']), { color: true })).toContain('\x1b[32m');
    expect(renderConsole(verdict(['pass']), { color: false })).not.toContain('\x1b[');
  });
});
