import { swBinWinner } from '../../src/buildEnv.js';
import type { SystemPackage } from '../../src/context.js';

const pkg = (name: string, priority?: number, pname?: string): SystemPackage => ({
  name,
  installed: [`/nix/store/${'a'.repeat(31)}${name.length % 10}-${name}`],
  ...(priority !== undefined ? { priority } : {}),
  ...(pname ? { pname } : {}),
});

describe('sw/bin winner by buildEnv rules', () => {
  const wrapper = pkg('cc-ci-run', undefined, 'cc-ci-run');
  const legacyHi = {
    ...pkg('cc-ci-run', -10, 'cc-ci-run'),
    installed: ['/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-cc-ci-run'],
  };
  const legacyLo = { ...legacyHi, priority: 10 };
  test.each([
    ['one provider', [wrapper], wrapper, 0],
    ['a hiPrio rival wins whatever the order', [wrapper, legacyHi], legacyHi, 0],
    ['a lowPrio rival loses', [legacyLo, wrapper], wrapper, 0],
    ['equal priority: the first in list order, with a tie noted', [wrapper, { ...legacyHi, priority: 5 }], wrapper, 1],
  ])('%s', (_, list, winner, ties) => {
    const w = swBinWinner(list, 'cc-ci-run')!;
    expect(w.winner).toBe(winner);
    expect(w.tiedWith).toHaveLength(ties);
  });
  test('a package providing the program by mainProgram', () => {
    const p = { ...pkg('git-lfs-3.6.1'), mainProgram: 'git-lfs' };
    expect(swBinWinner([pkg('git-2.47.2'), p], 'git-lfs')?.winner).toBe(p);
  });
  test('no provider', () => expect(swBinWinner([pkg('git-2.47.2')], 'openssl')).toBeUndefined());
});
