// Nix's error about a spec attribute (a derivation consumer's attr that does not
// exist) reaches the console, not only the JSON report: evidence past the
// console's limit is cut, Nix's error lines never are (a failing check's decisive lines come first).
import { renderConsole } from '../../src/render/console.js';
import type { Verdict } from '../../src/verdict.js';

const ERROR =
  "bundle: error: flake 'git+file:///r' does not provide attribute 'packages.x86_64-linux.devShells.default', 'legacyPackages.x86_64-linux.devShells.default' or 'devShells.default'";

const verdictWith = (evidence: string[], status: 'fail' | 'error' | 'pass' = 'fail'): Verdict => ({
  verdict: status === 'pass' ? 'pass' : 'fail',
  mode: 'eval',
  flake: '/r',
  flakeRef: '/r?submodules=1',
  hosts: ['a'],
  nix: { version: '2.8.0' },
  checks: [
    {
      id: 'entrypoint-parity',
      title: 't',
      status,
      summary: 'bundle: nix eval … failed (exit 1)',
      evidence,
      durationMs: 10,
    },
  ],
  durationMs: 10,
  tool: { name: 'nixenv-verify', version: '0.1.0' },
});
const filler = (n: number) => Array.from({ length: n }, (_, i) => `a: consumer line ${i}`);

describe('Nix errors on the console', () => {
  test.each([
    ['within the limit', [...filler(3), ERROR], 0],
    ['past the limit (the JSON-only case before)', [...filler(30), ERROR], 31 - 20],
    [
      'two errors past the limit, in their order',
      [...filler(25), ERROR, "x: error: attribute 'default' missing"],
      27 - 20,
    ],
  ])('%s', (_name, evidence, more) => {
    const text = renderConsole(verdictWith(evidence), { color: false });
    const lines = text.split('\n').map((l) => l.trim());
    for (const e of evidence.filter((l) => /error: /.test(l))) expect(lines).toContain(e);
    if (more) expect(text).toContain(`… ${more} more (see the JSON report)`);
    else expect(text).not.toContain('more (see the JSON report)');
  });
  test('other lines past the limit are still cut', () => {
    const text = renderConsole(verdictWith([...filler(30), ERROR]), { color: false });
    expect(text).toContain('a: consumer line 18');
    expect(text).not.toContain('a: consumer line 19');
  });
  test('a passing check shows its key evidence only', () => {
    expect(renderConsole(verdictWith([...filler(2), ERROR], 'pass'), { color: false })).not.toContain(
      'does not provide',
    );
  });
});
