// Which Drone steps run the claimed script, and through what: a step's commands
// are one shell script (the exec runner writes them into a file run by one
// shell), so `cd runner && cc-ci-run run_recipe_ci.py` runs runner/run_recipe_ci.py
// through the wrapper, and `export PATH=…` in an earlier command changes a later one.
import path from 'node:path';
import { analyzeScript, programName, Unknown, type PathValue } from '../shell/index.js';
import { describeMarkers, MARK_OPEN, markersIn, type Substituted } from './envsubst.js';
import type { DroneStep } from './pipeline.js';

export interface DroneUse {
  step: DroneStep;
  /** The command as written, and its line within the step's commands. */
  command: string;
  line: number;
  program: string;
  /** True when the program run is the wrapper itself (by name; its store path is resolved by the check). */
  viaWrapper: boolean;
  /** PATH for the command, relative to the step's (its `$PATH` entries are the step's PATH). */
  path: PathValue;
  /** Something before the command the verifier cannot follow (eval, source, …). */
  unfollowable?: string;
  /** Why the command does not run in a normal build (a branch not taken, an earlier command that ends the step). */
  notRun?: string;
}

/** Does a word, taken relative to cwd, name the script (a repository-relative path)? */
function namesScript(word: string, cwd: string, script: string): boolean {
  if (word.startsWith('/') || word.startsWith('<unknown')) return false;
  return path.posix.normalize(path.posix.join(cwd, word)) === path.posix.normalize(script);
}

/** Every command of every step that runs `script`, with the program that runs it. */
export async function scriptUses(steps: readonly DroneStep[], script: string, pkg: string): Promise<DroneUse[]> {
  const uses: DroneUse[] = [];
  for (const step of steps) {
    if (step.commands.length === 0) continue;
    // runner-go shell/bash: `/bin/sh -e SCRIPT`, whatever `shell:` says; on NixOS bash in POSIX mode.
    const analysis = await analyzeScript(step.commands.join('\n'), { inheritedPath: 'inherited', shell: 'sh' });
    // The runner writes the commands into a script run with `set -e`: a command that always fails ends the step.
    const stopsAt =
      step.commands.findIndex((c) =>
        /^\s*(false|\/bin\/false|\/usr\/bin\/false|exit(\s+[1-9]\d*)?)\s*(;\s*)?$/.test(c),
      ) + 1;
    for (const inv of analysis.invocations) {
      const cwd = inv.cwd instanceof Unknown ? undefined : inv.cwd;
      const words = [inv.program, ...inv.args];
      if (cwd === undefined) {
        // A `cd` the verifier cannot compute: only an exact repository-relative mention counts.
        if (!words.some((w) => path.posix.normalize(w) === path.posix.normalize(script))) continue;
      } else if (!words.some((w) => namesScript(w, cwd, script))) continue;
      const before = analysis.unfollowable.find((u) => u.line <= inv.line);
      const guardOnly = /^runs only if/.test(inv.conditionalReason ?? '');
      const notRun =
        stopsAt > 0 && stopsAt < inv.line
          ? `the step stops at command ${stopsAt} (\`${step.commands[stopsAt - 1].trim()}\` fails under set -e)`
          : inv.conditional && !guardOnly
            ? `\`${inv.text}\` runs only on some branches (${inv.conditionalReason ?? 'conditional'})`
            : undefined;
      // A shell function named like the program runs instead of it: what the body does is not the program's run.
      const shadow =
        inv.kind === 'function' && programName(inv.program) === pkg
          ? `cannot follow: a shell function named ${pkg} shadows the program at line ${inv.line} (the step runs the function, not ${pkg})`
          : undefined;
      const unfollowable =
        shadow ?? (before ? `cannot follow: line ${before.line} \`${before.text}\`: ${before.reason}` : undefined);
      uses.push({
        step,
        command: inv.text,
        line: inv.line,
        program: inv.program,
        // A shell function of the same name shadows the wrapper: only the external program counts.
        viaWrapper: programName(inv.program) === pkg && inv.kind === 'external',
        path: inv.path,
        ...(unfollowable ? { unfollowable } : {}),
        ...(notRun ? { notRun } : {}),
      });
    }
    if (analysis.parseError) {
      uses.push({
        step,
        command: step.commands.join('; '),
        line: analysis.parseError.line,
        program: '<unparsable>',
        viaWrapper: false,
        path: { unknown: 'not valid shell' },
        unfollowable: `not valid shell at line ${analysis.parseError.line}:${analysis.parseError.column}: ${analysis.parseError.message}`,
      });
    }
  }
  return uses;
}

/** A step the exec runner runs on the host itself (an exec pipeline, no image). */
export const runsOnHost = (step: DroneStep): boolean => step.pipelineType === 'exec' && step.image === undefined;

/**
 * Values Drone substitutes per build (envsubst.ts markers) decide what a step runs when they sit in its
 * commands up to the command that runs the script, or in what decides where and whether it runs (pipeline
 * type, node labels, conditions): those uses become "cannot follow". A step with such values that mentions
 * the script or the program (or starts a command with one) but has no use is added as one. Markers in later
 * commands, or in steps that do not mention the script, provably do not change its run: evidence only.
 */
export function perBuildValues(
  steps: readonly DroneStep[],
  uses: DroneUse[],
  sub: Pick<Substituted, 'unresolved'>,
  file: string,
  script: string,
  program: string,
): string[] {
  const evidence: string[] = [];
  if (sub.unresolved.length === 0) return evidence;
  const base = script.slice(script.lastIndexOf('/') + 1);
  const mentions = (c: string): boolean =>
    c.includes(base) || c.includes(program) || new RegExp(`^\\s*${MARK_OPEN}\\d`).test(c);
  const meta = (st: DroneStep): string =>
    [st.pipelineType, st.image ?? '', JSON.stringify(st.node ?? {}), st.neverRuns ?? ''].join(' ');
  for (const step of steps) {
    if (uses.some((u) => u.step === step) || markersIn(step.commands.join('\n')).length === 0) continue;
    if (!step.commands.some(mentions)) {
      evidence.push(
        `${file}:${step.position.line}: step "${step.name}" has values Drone substitutes per build but does not run ${script}`,
      );
      continue;
    }
    uses.push({
      step,
      command: step.commands.join('; '),
      line: 1,
      program: '<substituted>',
      viaWrapper: false,
      path: { unknown: 'substituted per build' },
      unfollowable: describeMarkers(step.commands.join('\n'), sub, file)!,
    });
  }
  for (const u of uses) {
    // The commands up to this one (a later command cannot change what it ran), and where/whether the step runs.
    const upTo = u.step.commands.join('\n').split('\n').slice(0, u.line).join('\n');
    const m = describeMarkers(`${upTo}\n${meta(u.step)}`, sub, file);
    if (m && !u.unfollowable) u.unfollowable = m;
    // A condition built from a per-build value is not known to exclude every build.
    if (m && u.step.neverRuns !== undefined && markersIn(meta(u.step)).length) delete u.step.neverRuns;
  }
  return evidence;
}
