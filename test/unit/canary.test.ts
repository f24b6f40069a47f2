// An unguessable canary (issue 16, route 7): drawn from crypto per run, nothing fixed in its
// name, version or derivation; masked in outputs so reports stay byte-identical. The real-Nix
// proof is the mutation row canary-shaped-passthrough (a wrapper that lets through entries shaped
// like the old canary fails propagation) and test/integration/determinism.test.ts (two runs, one report).
import { lexNix } from '../../src/nixSyntax/lexer.js';
import {
  CANARY_EXPR_LENGTH,
  CANARY_MASK,
  CANARY_PATH_MASK,
  makeCanary,
  maskCanary,
} from '../../src/checks/propagation.js';

const many = Array.from({ length: 200 }, () => makeCanary());

describe('the canary is unpredictable', () => {
  test.each([
    ['names differ from run to run', () => new Set(many.map((c) => c.name)).size === many.length],
    [
      'no name shares the old prefix or a common prefix of 4',
      () =>
        !many.some((c) => c.name.startsWith('nixenv-verify')) &&
        new Set(many.map((c) => c.name.slice(0, 4))).size > 100,
    ],
    [
      'versions vary (not 1.0)',
      () => new Set(many.map((c) => c.version)).size > 50 && many.filter((c) => c.version === '1.0').length < 5,
    ],
    [
      'builders vary and are store paths, not /bin/sh',
      () =>
        new Set(many.map((c) => c.words[0])).size === many.length &&
        many.every((c) => c.words[0].startsWith('/nix/store/') && !c.expr.includes('"/bin/sh"')),
    ],
    ['no `exit 1` script', () => many.every((c) => !c.expr.includes('exit 1'))],
    [
      'pname is letters and hyphens, at least 8 letters',
      () => many.every((c) => /^[a-z]+(-[a-z]+)*$/.test(c.pname) && c.pname.replace(/-/g, '').length >= 8),
    ],
  ])('%s', (_name, holds) => expect(holds()).toBe(true));

  test('every expression has the same length (source positions after it do not move) and lexes as Nix', () => {
    for (const c of many) {
      expect(c.expr).toHaveLength(CANARY_EXPR_LENGTH);
      expect(lexNix(`[ ${c.expr} ]`).errors).toEqual([]);
    }
  });

  test('two canaries from the same random bytes are the same (the randomness is the only input)', () => {
    const fixed = (n: number) => Buffer.alloc(n, 7);
    expect(makeCanary(fixed)).toEqual(makeCanary(fixed));
  });
});

describe('masking keeps reports byte-identical across runs', () => {
  const report = (c: ReturnType<typeof makeCanary>, hash: string) =>
    [
      `appended canary ${c.name} to ccciRuntimeTools`,
      `cc-ci: cc-ci-run wrapper PATH: has the canary (/nix/store/${hash}-cc-ci-run)`,
      `error: at ${c.expr.trim()} version = "${c.version}"; builder ${c.words[0]}`,
      `pname ${c.pname}`,
    ].map((l) => maskCanary(l, c, [`/nix/store/${hash}-cc-ci-run`]));
  test('two different canaries (and canary-dependent store paths) give the same text', () => {
    const [a, b] = [makeCanary(), makeCanary()];
    expect(report(a, 'a'.repeat(32))).toEqual(report(b, 'b'.repeat(32)));
    expect(report(a, 'a'.repeat(32))).toEqual([
      `appended canary ${CANARY_MASK} to ccciRuntimeTools`,
      `cc-ci: cc-ci-run wrapper PATH: has the canary (/nix/store/${CANARY_PATH_MASK}-cc-ci-run)`,
      `error: at ${CANARY_MASK} version = "${CANARY_MASK}"; builder ${CANARY_MASK}`,
      `pname ${CANARY_MASK}`,
    ]);
  });
  test('text without the canary is left alone', () => {
    const c = makeCanary();
    const text =
      'cc-ci: cc-ci-run wrapper PATH: MISSING the canary (/nix/store/0123456789abcdfghijklmnpqrsvwxyz-cc-ci-run) version "1.0"';
    expect(maskCanary(text, c)).toBe(text);
  });
});
