// Derivations read from their .drv files (src/nix/drvFile.ts), against what nix itself answers.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { derivationClosure, parseDerivation, readDerivation } from '../../src/nix/drvFile.js';
import { startVersionProbe, takeVersionProbe } from '../../src/nix/versionProbe.js';
import { fakeRunner } from '../fakes/runner.js';

const H = (c: string): string => c.repeat(32);
const drv = (name: string, c: string): string => `/nix/store/${H(c)}-${name}.drv`;

describe('parseDerivation', () => {
  test('outputs, inputs, escapes in env; an output without a path is left out', () => {
    const text =
      `Derive([("dev","","r:sha256",""),("out","/nix/store/${H('a')}-x","","")],` +
      `[("${drv('y', 'b')}",["out","lib"])],["/nix/store/${H('c')}-src"],"x86_64-linux","/bin/sh",["-e","a\\"b"],` +
      `[("text","line1\\nline2\\t\\\\ \\"q\\" \\r"),("name","x")])`;
    expect(parseDerivation(text)).toEqual({
      outputs: { out: `/nix/store/${H('a')}-x` },
      inputDrvs: [drv('y', 'b')],
      inputSrcs: [`/nix/store/${H('c')}-src`],
      env: { text: 'line1\nline2\t\\ "q" \r', name: 'x' },
    });
  });

  test('anything not in the plain form is not read (nix answers)', () => {
    expect(parseDerivation('DrvWithVersion("xp-dyn-drv",[],[],[],"","",[],[])')).toBeUndefined();
    expect(parseDerivation('Derive([("out","/nix/store/x","","")]')).toBeUndefined();
    expect(parseDerivation('Derive([],[],[],"s","b",[],[]) trailing')).toBeUndefined();
  });

  test('a path that is not a .drv store path, or not there, is not read', () => {
    expect(readDerivation('/etc/passwd')).toBeUndefined();
    expect(readDerivation(drv('absent', 'z'))).toBeUndefined();
  });

  test('the closure follows inputDrvs, keeps sources, and gives up on a derivation it cannot read', () => {
    const table: Record<string, { inputDrvs: string[]; inputSrcs: string[] }> = {
      [drv('top', 'a')]: { inputDrvs: [drv('mid', 'b'), drv('leaf', 'c')], inputSrcs: [`/nix/store/${H('s')}-src`] },
      [drv('mid', 'b')]: { inputDrvs: [drv('leaf', 'c')], inputSrcs: [] },
      [drv('leaf', 'c')]: { inputDrvs: [], inputSrcs: [] },
    };
    expect(derivationClosure(drv('top', 'a'), (p) => table[p])).toEqual(
      [drv('top', 'a'), drv('mid', 'b'), drv('leaf', 'c'), `/nix/store/${H('s')}-src`].sort(),
    );
    table[drv('mid', 'b')].inputDrvs.push(drv('gone', 'd'));
    expect(derivationClosure(drv('top', 'a'), (p) => table[p])).toBeUndefined();
  });
});

// Real derivations of this machine's store (the fixtures' evaluations write many): the same as nix answers.
const F = ['--extra-experimental-features', 'nix-command flakes'];
const storeDrvs = (): string[] => {
  try {
    return readdirSync('/nix/store')
      .filter((f) => f.endsWith('.drv'))
      .map((f) => `/nix/store/${f}`);
  } catch {
    return [];
  }
};
const some = storeDrvs();
const withNix = some.length > 0 ? test : test.skip;

describe('against nix on the store of this machine', () => {
  withNix('show-derivation: env, outputs and inputs are those nix shows', () => {
    const sample = some.filter((_, i) => i % Math.max(1, Math.floor(some.length / 40)) === 0).slice(0, 40);
    const shown = JSON.parse(
      execFileSync('nix', [...F, 'show-derivation', ...sample], { maxBuffer: 1 << 28 }).toString(),
    ) as Record<
      string,
      {
        env: Record<string, string>;
        outputs: Record<string, { path?: string }>;
        inputDrvs: object;
        inputSrcs: string[];
      }
    >;
    for (const p of sample) {
      const mine = readDerivation(p);
      const theirs = shown[p];
      expect(mine?.env).toEqual(theirs.env);
      expect(mine?.outputs).toEqual(
        Object.fromEntries(Object.entries(theirs.outputs).flatMap(([n, o]) => (o.path ? [[n, o.path]] : []))),
      );
      expect([...(mine?.inputDrvs ?? [])].sort()).toEqual(Object.keys(theirs.inputDrvs).sort());
      expect([...(mine?.inputSrcs ?? [])].sort()).toEqual([...theirs.inputSrcs].sort());
    }
  });

  withNix('path-info -r --derivation: the same closure', () => {
    const big = some.filter((p) => /nixos-system|system-path|cc-ci-run/.test(p)).slice(0, 4);
    for (const p of big.length ? big : some.slice(0, 4)) {
      const nix = execFileSync('nix', [...F, 'path-info', '-r', '--derivation', p], { maxBuffer: 1 << 28 })
        .toString()
        .split('\n')
        .filter(Boolean)
        .sort();
      expect(derivationClosure(p)).toEqual(nix);
    }
  });
});

describe('the early nix --version', () => {
  test('taken once, by the same runner with the same PATH; our settings do not reach it', async () => {
    const fake = fakeRunner(() => ({ stdout: 'nix (Nix) 2.8.0\n' }));
    startVersionProbe(fake.runner, { PATH: '/bin', PLUGIN_TOKEN: 'secret' });
    expect(takeVersionProbe(fakeRunner(() => ({})).runner, { PATH: '/bin' })).toBeUndefined();
    expect(takeVersionProbe(fake.runner, { PATH: '/other' })).toBeUndefined();
    expect((await takeVersionProbe(fake.runner, { PATH: '/bin' }))?.stdout).toBe('nix (Nix) 2.8.0\n');
    expect(takeVersionProbe(fake.runner, { PATH: '/bin' })).toBeUndefined();
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0].args).toEqual(['--version']);
    expect(fake.calls[0].env).toEqual({ PATH: '/bin' });
  });
});
