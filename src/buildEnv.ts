// buildEnv, as NixOS builds system-path (`/run/current-system/sw`) from environment.systemPackages.
//
// Contract, from nixpkgs pkgs/build-support/buildenv/{default.nix,builder.pl} and
// nixos/modules/config/system-path.nix. What buildEnv reads, in its order, and what this module does with it:
//  - `paths` in list order, each with `meta.priority` (default 5; lib.hiPrio -10, lib.lowPrio 10): implemented.
//    For a file such as bin/<name> in several packages the LOWER number wins silently; at equal priority the
//    first in list order is kept and, with `ignoreCollisions = true` (NixOS), the build only warns
//    (`collision between A and B`); `checkCollisionContents` makes identical files no collision.
//  - `meta.outputsToInstall` / `extraOutputsToInstall`: which outputs are linked (the `installed` paths the
//    evaluation returns): implemented.
//  - `pathsToLink` (NixOS: environment.pathsToLink, always holds /bin): assumed to hold /bin.
//  - nix-support/propagated-user-env-packages of each package (linked after every direct package, so they
//    never win over one): only a build sees them; eval mode judges by the direct packages.
//  - `postBuild` (NixOS: environment.extraSetup) may change sw/bin after linking: only a build sees it.
// Eval mode cannot list a package's bin/: it judges by names (mainProgram, pname, name), and the resolver
// (src/resolve.ts) names what it could not look into. Build mode reads the built sw/bin itself.
import type { SystemPackage } from './context.js';
import { packageOf, parseStorePath } from './parse/storePath.js';

export interface SwBinWinner {
  winner: SystemPackage;
  /** Every package that (by name) provides the program, in list order. */
  candidates: SystemPackage[];
  /** Equal-priority rivals: only a build can tell whether their files differ (a collision warning). */
  tiedWith: SystemPackage[];
}

/** Does a package provide `bin/<program>`, judged from its evaluated names (eval mode cannot list bin/)? */
export function providesByName(pkg: SystemPackage, program: string): boolean {
  if (pkg.mainProgram === program || pkg.pname === program || pkg.name === program) return true;
  if (packageOf(pkg.name).pname === program) return true;
  const sp = pkg.installed[0] ? parseStorePath(pkg.installed[0]) : undefined;
  return sp ? packageOf(sp.name).pname === program : false;
}

/** The package whose bin/<program> ends up in sw/bin, by buildEnv's rules. */
export function swBinWinner(packages: readonly SystemPackage[], program: string): SwBinWinner | undefined {
  const candidates = packages.filter((p) => providesByName(p, program));
  if (candidates.length === 0) return undefined;
  const priority = (p: SystemPackage): number => p.priority ?? 5;
  let winner = candidates[0];
  for (const c of candidates) if (priority(c) < priority(winner)) winner = c;
  const tiedWith = candidates.filter(
    (c) => c !== winner && priority(c) === priority(winner) && c.installed[0] !== winner.installed[0],
  );
  return { winner, candidates, tiedWith };
}

export const describePriority = (p: SystemPackage): string => `${p.name} (meta.priority ${p.priority ?? 5})`;
