// Shell semantics for the checks: what a wrapper script or a CI step really runs, with which PATH and cwd.
//
// Layout: nixString.ts (Nix `'' … ''` bodies to shell text), parse.ts (mvdan-sh, the mvdan/sh parser, loaded on first
// use; its
// tree adapted to ast.ts), value.ts (symbolic strings with the caller's PATH as a token), expand.ts (word expansion),
// analyze.ts (the walk), types.ts.
//
// Decisions on the ambiguous cases:
// - The caller's PATH is one opaque token, assumed set, non-empty and made of non-empty entries; so
//   `${PATH:+':'$PATH':'}` takes its `+` branch. makeWrapper's `${PATH/':'dir':'/':'}` is modelled exactly as
//   "the caller's PATH without its first `dir`" ({inherited, without}); resolvePath applies it.
// - Variables the script did not assign (and not in knownVars) come from the caller's environment: unknown.
// - Assignments on only some paths (if/elif/else, case arms, loop bodies taken 0 or 1 times, right side of
//   && / ||, a function that may return early) make the variable unknown afterwards, reason "assigned
//   conditionally at line N"; for PATH also an `unfollowable` entry. Equal values on all paths stay known.
// - Commands are assumed to succeed for their effects (`cd dir` changes cwd); `conditional` marks commands the
//   shell may skip while going on: inside if bodies (not the first condition), elif conditions, case arms,
//   loop bodies, after `&&` whose left side may fail (anything but `true`, `:` or a plain assignment), after
//   `||`, and after a branch that may exec/exit/return. Plain sequencing under `set -e` is not conditional.
// - Functions: the body is analysed where the function is called (inlined, recursion reported); its
//   commands inherit the call's conditionality; `local`/`declare` in the body and `X=1 f` prefixes are
//   restored afterwards. A function never called contributes nothing.
// - Subshells `( )`, pipeline elements, `&` jobs, `coproc` and `$( )` / backquotes (also inside unquoted
//   here-documents and inside `[[ ]]` / `(( ))`) run on a copy of the state (their commands are recorded, their
//   assignments, cd and exec do not reach the parent). Process substitution `<( )` bodies are not analysed.
// - `exec PROG` ends the shell: later statements are dropped from `invocations` and listed in `unreachable`
//   (unconditional exec) or become conditional (exec in a branch). `exec` with only redirections goes on.
// - `eval`, `source`/`.`: unfollowable; afterwards every variable (PATH too) and the cwd are unknown until
//   reassigned. `trap` handlers and aliases: see the contract below.
// - `env -i`, `exec -c`, `env -u PATH`, `unset PATH`: PathValue unknown (lookup falls back to a built-in
//   default path we do not guess). `command -p` and `sudo` likewise. `set -a` exports later assignments
//   (`allexportLines`, `exportedVars`); PATH is always exported.
// - A run-time PATH (command substitution, unknown variable) is reported once, where it enters PATH.
//
// Contract with bash(1) around the final run of the program (SHELL GRAMMAR, ALIASES, FUNCTIONS, COMMAND
// EXECUTION, SHELL BUILTIN COMMANDS, SIGNALS; bash's POSIX-mode list). Implemented:
// - Which shell: `shell: 'sh'` is bash as /bin/sh (POSIX mode; Drone exec steps run `/bin/sh -e SCRIPT`,
//   runner-go shell/bash; a `#!…/sh` script): aliases expanded, special builtins (break : . continue eval exec
//   exit export readonly return set shift times trap unset) found before functions. `'bash'` (scripts, unit
//   scripts, wrappers): aliases not expanded unless `shopt -s expand_aliases`; functions before builtins.
// - ALIASES: bash reads a whole line (and a whole compound command) before running it, so an alias applies
//   from the next line on; a function body gets the aliases in effect when its definition was read. Only the
//   first word of a simple command, unquoted, is replaced (so never the word after `exec`, `command`,
//   `env`); `unalias NAME`/`-a` removes. An alias value of plain words is expanded; a value with quoting,
//   expansions or operators, one ending in a blank, one chaining to another alias, an alias defined on some
//   paths only, or a conditional `shopt -s expand_aliases` is unfollowable at the command it would change.
// - trap: an EXIT (0) handler runs when the shell ends; after a successful `exec` it never runs, so it is
//   unfollowable only when the script can end without exec; `trap - EXIT` / `trap '' EXIT` drop it. Handlers
//   for any other condition (ERR, DEBUG, RETURN, signals) are unfollowable.
// - exec, exit, return, functions (inlined at the call, `command NAME` and `builtin` skip them; a function
//   named like the program is reported by the caller as "cannot follow"), subshells and pipelines (copies),
//   `&&`/`||`/if/case/loops (conditional), `set -a`, `set -e` with an unconditional `false` (execChain),
//   `cd`, `export`/`declare -x`/`local`, `unset`, `read`/`printf -v` (unknown values), `env`, `exec -a/-c`.
// Unfollowable (the callers turn them into "cannot follow … at file:line"): eval, source/. (the file's
// code), `hash -p`, `command -p`, traps as above, recursion, PATH assigned on some paths only or computed at
// run time, a program word computed at run time, aliases as above, a script that does not parse.

import { Analyzer } from './analyze.js';
import { normalizeDir } from './dirs.js';
import { parseScript } from './parse.js';
import type { AnalyzeOptions, Invocation, PathEntry, PathValue, ShellAnalysis } from './types.js';

export { Unknown, isUnknown } from './types.js';
export { shellFromNixQuoted, shellFromNixString, type Antiquote } from './nixString.js';
export type { AnalyzeOptions, Invocation, PathEntry, PathValue, ShellAnalysis, ShellEnv, ShellIssue } from './types.js';

/**
 * Analyses a script (a wrapper's text, or Drone step `commands.join('\n')`, which one shell runs in sequence).
 * Never throws for bad input: invalid shell comes back as `parseError`.
 */
export async function analyzeScript(text: string, options: AnalyzeOptions = {}): Promise<ShellAnalysis> {
  const parsed = await parseScript(text);
  if ('error' in parsed) {
    return {
      invocations: [],
      unfollowable: [],
      unreachable: [],
      allexportLines: [],
      finalEnv: {
        vars: new Map(),
        exported: new Set(['PATH']),
        allexport: false,
        path: { unknown: 'the script does not parse' },
      },
      parseError: parsed.error,
    };
  }
  return new Analyzer(text, options).run(parsed.list);
}

/** Basename of a program word: `/run/current-system/sw/bin/cc-ci-run` names `cc-ci-run`. */
export function programName(program: string): string {
  return program.slice(program.lastIndexOf('/') + 1);
}

/**
 * Where `program` (bare name, or a path whose basename is program) is finally run: the last unconditional
 * run of it (an exec included), else the last run at all. Functions and builtins of that name do not count.
 */
export function finalRunOf(analysis: ShellAnalysis, program: string): Invocation | undefined {
  const runs = analysis.invocations.filter(
    (inv) => inv.kind === 'external' && (inv.program === program || programName(inv.program) === program),
  );
  return [...runs].reverse().find((inv) => !inv.conditional) ?? runs[runs.length - 1];
}

/** Substitutes the caller's PATH for `{inherited}` entries (honouring `without`); undefined keeps them symbolic. */
export function resolvePath(value: PathValue, inherited: PathEntry[] | undefined): PathValue {
  if ('unknown' in value || inherited === undefined) return value;
  const entries = value.entries.flatMap((e): PathEntry[] => {
    if ('dir' in e) return [e];
    const list = [...inherited];
    for (const dir of e.without ?? []) {
      const k = list.findIndex((x) => 'dir' in x && x.dir === dir);
      if (k >= 0) list.splice(k, 1);
    }
    return list;
  });
  return { entries };
}

/**
 * PATH for evidence: `/nix/store/a/bin:/nix/store/b/bin:$PATH`, or `<unknown: why>`. A `without` dir that is
 * already an earlier entry (makeWrapper's de-dup before prepending it) is left out: it cannot change lookups.
 */
export function renderPath(value: PathValue): string {
  if ('unknown' in value) return `<unknown: ${value.unknown}>`;
  const seen = new Set<string>();
  return value.entries
    .map((e) => {
      if ('dir' in e) {
        seen.add(e.dir);
        return e.dir;
      }
      const removed = (e.without ?? []).filter((d) => !seen.has(d));
      return removed.length ? `$PATH[without ${removed.join(',')}]` : '$PATH';
    })
    .join(':');
}

/**
 * How the program word is found: a word with a `/` is a file path (relative ones against the invocation's
 * cwd); a bare name is searched in `path`, first match wins.
 */
export function programLookup(
  inv: Invocation,
): { file: string } | { search: string; path: PathValue } | { unknown: string } {
  if (inv.program === '<unknown>') return { unknown: 'the program word is computed at run time' };
  if (!inv.program.includes('/')) return { search: inv.program, path: inv.path };
  if (inv.program.startsWith('/')) return { file: inv.program };
  if (typeof inv.cwd !== 'string')
    return { unknown: `relative program ${inv.program} in an unknown directory (${inv.cwd.reason})` };
  return { file: normalizeDir(`${inv.cwd}/${inv.program}`) };
}

/** The directory entries of a PathValue (no caller's PATH, no unknown), e.g. to compare tool sets. */
export function pathDirs(value: PathValue): string[] | undefined {
  if ('unknown' in value) return undefined;
  return value.entries.flatMap((e) => ('dir' in e ? [e.dir] : []));
}
