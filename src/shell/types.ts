// Public shapes of the shell semantics module (see index.ts for the entry points).

/** A value the verifier cannot compute statically; `reason` says why (shown in evidence). */
export class Unknown {
  readonly unknown = true;
  constructor(readonly reason: string) {}
  toString(): string {
    return `<unknown: ${this.reason}>`;
  }
}

export function isUnknown(v: unknown): v is Unknown {
  return v instanceof Unknown;
}

export interface ShellEnv {
  /**
   * Variables the script assigned (or that were given as knownVars). Values holding the caller's PATH or unknown parts
   * are Unknown.
   */
  vars: Map<string, string | Unknown>;
  /** Names exported to children. PATH is always in it: it was inherited from the caller's environment. */
  exported: Set<string>;
  /** `set -a` / `set -o allexport` is in force: every later assignment is exported. */
  allexport: boolean;
  /** PATH as the shell holds it. */
  path: PathValue;
}

/**
 * One PATH entry. `{inherited: true}` stands for the caller's whole PATH (written `$PATH`); `without` lists
 * directories whose first occurrence was removed from it (makeWrapper's `${PATH/':'dir':'/':'}` de-duplication).
 * `{dir: ''}` is an empty entry, which POSIX lookup treats as the current directory.
 */
export type PathEntry = { dir: string } | { inherited: true; without?: string[] };

export type PathValue = { entries: PathEntry[] } | { unknown: string };

export interface Invocation {
  /** The program word after expansion (`cc-ci-run`, `/nix/store/…/bin/x`), or `<unknown>` when computed at run time. */
  program: string;
  /** Expanded arguments; unknown parts are rendered `<unknown:$X>` (`"$@"` stays one `<unknown:$@>` argument). */
  args: string[];
  /** 1-based line where the simple command starts, and its source text (trimmed). */
  line: number;
  text: string;
  /** The program replaces the shell (`exec`). */
  exec: boolean;
  /** PATH the program is looked up in and runs with. */
  path: PathValue;
  /** Working directory relative to where the script started ('.'), following `cd`. */
  cwd: string | Unknown;
  /** The shell may go on without running this command (see conditionalReason). */
  conditional: boolean;
  conditionalReason?: string;
  /** Runs at the same time as other commands: `in the pipeline at line N`, `in the background (line N)`. */
  alongside?: string;
  /** Wrapper commands that were peeled off to find the program, outermost first (`exec`, `env`, `nice`, …). */
  via: string[];
  /** Lines of the function calls this command was reached through, outermost first. */
  calledFrom: number[];
  /** Names of the variables exported to the program, after prefix assignments, `env NAME=…`, `env -u`, `env -i`. */
  exportedVars: string[];
  /**
   * What the shell runs: a shell builtin, a function defined in the script (its body follows), or an external program.
   */
  kind: 'builtin' | 'function' | 'external';
}

export interface ShellIssue {
  line: number;
  text: string;
  reason: string;
}

export interface ShellAnalysis {
  /** Every simple command that can run, in static execution order (function bodies where they are called). */
  invocations: Invocation[];
  /** Places whose effect on PATH (or on what runs) the analysis cannot follow. */
  unfollowable: ShellIssue[];
  /**
   * Statements never reached because an earlier unconditional `exec`/`exit` ended the shell (dropped from invocations).
   */
  unreachable: ShellIssue[];
  /** Shell state at the end of the script (when it can end without exec), else at the point it exec'd. */
  finalEnv: ShellEnv;
  /** `set -a` / `set -o allexport` lines. */
  allexportLines: number[];
  /**
   * The script is not valid shell (mvdan-sh's verdict and position, bash dialect), or mvdan-sh's tree holds a
   * node the adapter in parse.ts does not model (`unsupported: true`). Either way there are no invocations.
   */
  parseError?: { line: number; column: number; message: string; unsupported?: boolean };
}

export interface AnalyzeOptions {
  /** PATH the script starts with. Default 'inherited': the caller's PATH, kept symbolic as `{inherited: true}`. */
  inheritedPath?: PathEntry[] | 'inherited';
  /**
   * Variables whose values are known (e.g. from the caller's environment). Others not assigned by the script are
   * Unknown.
   */
  knownVars?: Record<string, string>;
  /**
   * Which shell runs the text. 'bash' (default): a bash script (`#!…/bash`, unit scripts, wrappers): aliases are
   * not expanded unless `shopt -s expand_aliases`. 'sh': bash as /bin/sh (POSIX mode; a Drone exec step runs its
   * commands as `/bin/sh -e SCRIPT`): aliases are expanded, special builtins are found before functions.
   */
  shell?: 'bash' | 'sh';
}
