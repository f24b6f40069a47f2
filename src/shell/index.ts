// Shell semantics for the checks: what a wrapper script or a CI step really runs, with which PATH and cwd.

import { Analyzer } from './analyze.js';
import { parseScript } from './parse.js';
import type { AnalyzeOptions, Invocation, PathEntry, PathValue, ShellAnalysis } from './types.js';

export { Unknown, isUnknown } from './types.js';
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
      finalEnv: { vars: new Map(), exported: new Set(['PATH']), allexport: false, path: { unknown: 'the script does not parse' } },
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
  const runs = analysis.invocations.filter((inv) => inv.kind === 'external' && (inv.program === program || programName(inv.program) === program));
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

/** The directory entries of a PathValue (no caller's PATH, no unknown), e.g. to compare tool sets. */
export function pathDirs(value: PathValue): string[] | undefined {
  if ('unknown' in value) return undefined;
  return value.entries.flatMap((e) => ('dir' in e ? [e.dir] : []));
}
