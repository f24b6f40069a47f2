// Eval mode's host-parity sees a required program in a system package's output already in the store
// (src/checks/hostParity.ts storedProvider): only real store paths, only a plain program name.
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { HostFacts } from '../../src/context.js';
import { storedProvider } from '../../src/checks/hostParity.js';

// A store path with a bin/ on this machine (the fixtures' builds leave many), or none on a fresh store.
const storeWithBin = (() => {
  for (const name of existsSync('/nix/store') ? readdirSync('/nix/store') : []) {
    const bin = path.join('/nix/store', name, 'bin');
    if (/^[0-9a-df-np-sv-z]{32}-/.test(name) && !name.endsWith('.drv') && existsSync(bin)) {
      const [program] = readdirSync(bin).filter((p) => !p.startsWith('.'));
      if (program) return { out: path.join('/nix/store', name), program };
    }
  }
  return undefined;
})();

const facts = (installed: string[]): HostFacts =>
  ({ systemPackages: [{ name: 'pkg-1.0', installed }] }) as unknown as HostFacts;

(storeWithBin ? describe : describe.skip)('storedProvider', () => {
  const { out, program } = storeWithBin!;
  test('a system package output in the store with bin/<program>: found, with the file', () => {
    expect(storedProvider(facts([out]), program)).toEqual({ name: 'pkg-1.0', file: `${out}/bin/${program}` });
  });
  test.each([
    ['a program the output does not have', [out], 'no-such-program-here'],
    ['an output that is a path inside a store path', [`${out}/bin/..`], program],
    ['an output outside the store', ['/usr'], 'ls'],
    ['a program name with a slash', [out], `../bin/${program}`],
    ['a program name ..', [out], '..'],
  ])('%s: not seen', (_name, installed, bin) => {
    expect(storedProvider(facts(installed), bin)).toBeUndefined();
  });
});
