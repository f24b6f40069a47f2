// The PATH `nix develop` gives a dev shell (a stdenv derivation, usually pkgs.mkShell). The contract: what Nix
// and nixpkgs' stdenv read, in their order, and what this module implements.
//
// Sources: nixpkgs pkgs/build-support/mkshell/default.nix (mkShell: `packages ++ nativeBuildInputs`, inputsFrom
// merged, every shellHook joined, built by stdenv.mkDerivation), pkgs/stdenv/generic/make-derivation.nix (inputs
// become derivation attributes, each through lib.getDev), pkgs/stdenv/generic/setup.sh (findInputs,
// _activatePkgs, activatePackage, addToSearchPath) and Nix's src/nix/develop.cc (makeRcScript).
//
// `nix develop` does not build the shell: it realises its inputs, runs stdenv's setup, and starts bash with
//  1. the derivation's attributes as variables — READ from the derivation (`nix derivation show`), in both modes.
//     A derivation with `__structuredAttrs` (its attributes in `__json`) — NOT IMPLEMENTED: cannot follow.
//  2. setup.sh's PATH: every activated input's `bin/`, in this order (_activatePkgs: host offset -1 before 0):
//     a. build→host inputs (findInputs, in order, first occurrence kept): `nativeBuildInputs`, then
//        `propagatedNativeBuildInputs`, each followed at once by what it propagates in
//        `nix-support/propagated-build-inputs` (mapOffset keeps those beside it), then stdenv's
//        `defaultNativeBuildInputs` — IMPLEMENTED;
//     b. host→target inputs: `buildInputs`, `propagatedBuildInputs`, their propagated build inputs, stdenv's
//        `defaultBuildInputs` — IMPLEMENTED; left out of PATH under `strictDeps` (activatePackage adds `bin/` only
//        for host offset -1 then) — IMPLEMENTED;
//     c. the other dependency kinds (`depsBuildBuild`, `depsBuildTarget`, `depsHostHost`, `depsTargetTarget` and
//        their propagated forms) and an input propagating anything but build inputs — NOT IMPLEMENTED: cannot
//        follow;
//     d. after them stdenv's `initialPath` (`bin/` of each) — IMPLEMENTED (the stdenv derivation's attributes,
//        which its builder writes into $stdenv/setup); a derivation without `stdenv` is not a stdenv shell:
//        cannot follow.
//     What an input propagates: build mode reads its realised `nix-support/propagated-build-inputs` (and refuses
//     the other propagated-* files); eval mode reads the attributes of the derivation that outputs it (stdenv's
//     fixupPhase writes those files from them).
//  3. develop.cc: `PATH="$PATH${nix_saved_PATH:+:$nix_saved_PATH}"` — the caller's PATH AFTER the shell's
//     (host state: a program found only there is not provided by the shell) — IMPLEMENTED (OUTER_PATH).
//  4. then `shellHook`, read as bash by src/shell/ (PATH assignments in order); anything it cannot follow (an
//     `eval`, a `source`, a PATH computed at run time), an alias, or a function definition (either can
//     shadow a program in an interactive shell) — cannot follow.
// Not read: the caller's PATH contents, `nix develop --command` arguments, direnv/nix-direnv layers.
import { analyzeScript, renderPath, resolvePath, type PathEntry } from './shell/index.js';
import { parseStorePath } from './parse/storePath.js';

/** Stands for the caller's PATH, which develop.cc appends after the shell's own. */
export const OUTER_PATH = "$nix_saved_PATH (the caller's PATH)";

/** What the two modes supply: the shell's derivation attributes and readers for its inputs. */
export interface DevShellFacts {
  /** The shell derivation's attributes. */
  env: Record<string, string>;
  /** Where the attributes come from (for evidence). */
  source: string;
  /** What a realised input propagates (its build inputs), or why that cannot be read. */
  propagated(storePath: string): Promise<{ buildInputs: string[]; other: string[] } | { unknown: string }>;
  /** The stdenv derivation's attributes (initialPath, defaultNativeBuildInputs, defaultBuildInputs). */
  stdenv(storePath: string): Promise<Record<string, string> | { unknown: string }>;
}

export interface DevShellPath {
  /** PATH where the shellHook ends, in lookup order; OUTER_PATH marks the caller's PATH. */
  dirs: string[];
  /** How it was made, in order (evidence). */
  steps: string[];
}

export type DevShellOutcome = ({ ok: true } & DevShellPath) | { ok: false; cannotFollow: string; steps: string[] };

const words = (v: string | undefined): string[] => (v ?? '').split(/\s+/).filter((w) => w !== '');

const UNMODELLED_DEPS = [
  'depsBuildBuild',
  'depsBuildBuildPropagated',
  'depsBuildTarget',
  'depsBuildTargetPropagated',
  'depsHostHost',
  'depsHostHostPropagated',
  'depsTargetTarget',
  'depsTargetTargetPropagated',
];

/** The PATH `nix develop` gives the shell, after its shellHook. */
export async function devShellPath(facts: DevShellFacts): Promise<DevShellOutcome> {
  const { env } = facts;
  const steps: string[] = [];
  const stop = (why: string): DevShellOutcome => ({ ok: false, cannotFollow: why, steps });
  if (env.__json !== undefined)
    return stop(`${facts.source} uses __structuredAttrs: its inputs are in __json, which this model does not read`);
  if (!env.stdenv)
    return stop(`${facts.source} has no stdenv attribute: not a stdenv shell, its environment comes from its builder`);
  const unmodelled = UNMODELLED_DEPS.filter((k) => words(env[k]).length);
  if (unmodelled.length) return stop(`${facts.source} sets ${unmodelled.join(', ')}: dependency kinds not modelled`);
  const std = await facts.stdenv(env.stdenv);
  if ('unknown' in std) return stop(`stdenv ${env.stdenv}: ${std.unknown}`);

  /** findInputs: first occurrence kept, each input followed at once by the build inputs it propagates. */
  const collect = async (roots: string[], list: string[]): Promise<string | undefined> => {
    for (const p of roots) {
      if (list.includes(p)) continue;
      list.push(p);
      if (parseStorePath(p)?.root !== p) return `input ${JSON.stringify(p.slice(0, 200))} is not a store path`;
      const prop = await facts.propagated(p);
      if ('unknown' in prop) return `${p}: ${prop.unknown}`;
      if (prop.other.length) return `${p} propagates ${prop.other.join(', ')}: not modelled`;
      const why = await collect(prop.buildInputs, list);
      if (why) return why;
    }
    return undefined;
  };
  const buildHost: string[] = [];
  const hostTarget: string[] = [];
  const why =
    (await collect([...words(env.nativeBuildInputs), ...words(env.propagatedNativeBuildInputs)], buildHost)) ??
    (await collect(words(std.defaultNativeBuildInputs), buildHost)) ??
    (await collect([...words(env.buildInputs), ...words(env.propagatedBuildInputs)], hostTarget)) ??
    (await collect(words(std.defaultBuildInputs), hostTarget));
  if (why) return stop(why);
  const strict = env.strictDeps === '1';
  const inputs = [...buildHost, ...(strict ? [] : hostTarget)];
  const initial = words(std.initialPath);
  steps.push(
    `${facts.source}: setup.sh PATH = bin/ of ${inputs.length} input${inputs.length === 1 ? '' : 's'} (nativeBuildInputs first${strict ? '; strictDeps: buildInputs left out' : hostTarget.length ? ', then buildInputs' : ''}), then stdenv's initialPath (${initial.length}), then the caller's PATH (nix develop)`,
  );
  const setupDirs = [...new Set([...inputs, ...initial].map((p) => `${p}/bin`))];
  const hook = env.shellHook ?? '';
  if (hook.trim() === '') return { ok: true, dirs: [...setupDirs, OUTER_PATH], steps };
  const analysis = await analyzeScript(hook, { inheritedPath: 'inherited' });
  const where = `${facts.source} shellHook`;
  if (analysis.parseError)
    return stop(`${where}:${analysis.parseError.line}: not valid shell (${analysis.parseError.message})`);
  const blocking = analysis.unfollowable[0];
  if (blocking) return stop(`${where}:${blocking.line}: \`${blocking.text}\`: ${blocking.reason}`);
  const alias = analysis.invocations.find((i) => i.kind === 'builtin' && i.program === 'alias');
  if (alias) return stop(`${where}:${alias.line}: \`${alias.text}\`: an alias may shadow a program in the shell`);
  const fn = hook.split('\n').findIndex((l) => /^\s*(function\s+[\w.:-]+|[\w.:-]+\s*\(\s*\))/.test(l));
  if (fn >= 0) return stop(`${where}:${fn + 1}: a function definition may shadow a program in the shell`);
  const inherited: PathEntry[] = [...setupDirs, OUTER_PATH].map((dir) => ({ dir }));
  const final = resolvePath(analysis.finalEnv.path, inherited);
  if ('unknown' in final) return stop(`${where}: the PATH it leaves cannot be computed (${final.unknown})`);
  const dirs = final.entries.map((e) => ('dir' in e ? e.dir : OUTER_PATH));
  if (renderPath(analysis.finalEnv.path) !== '$PATH')
    steps.push(`${where} leaves PATH=${renderPath(analysis.finalEnv.path)}`);
  return { ok: true, dirs, steps };
}
