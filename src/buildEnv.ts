// NixOS's system-path is a buildEnv: for a file such as bin/<name> provided by
// several packages, the one with the LOWER meta.priority wins silently (lib.hiPrio
// is -10, the default 5, lib.lowPrio 10); at equal priority the first in list
// order is kept and the build warns of a collision (ignoreCollisions = true).
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
  let winner = candidates[0]!;
  for (const c of candidates) if (priority(c) < priority(winner)) winner = c;
  const tiedWith = candidates.filter((c) => c !== winner && priority(c) === priority(winner) && c.installed[0] !== winner.installed[0]);
  return { winner, candidates, tiedWith };
}

export const describePriority = (p: SystemPackage): string => `${p.name} (meta.priority ${p.priority ?? 5})`;
