// The shared package as nixpkgs' builders make it: which program `bin/<program>` finally runs, and the PATH
// in force when it does. One model, two sources of facts: build mode reads the built files, eval mode the
// derivations (`nix derivation show`); both hand the same script texts to the shell analyzer (src/shell).
//
// Contract (nixpkgs: pkgs/build-support/setup-hooks/make-wrapper.sh, pkgs/build-support/trivial-builders/
// default.nix, pkgs/build-support/buildenv/{default.nix,builder.pl}):
//
// Inputs, in the order the builders read them:
// - writeTextFile (writeShellApplication, writeShellScriptBin, writeScriptBin): the derivation's `text` is
//   written to `$out$destination`, executable when `executable`. writeShellApplication's `runtimeInputs`,
//   `runtimeEnv`, `inheritPath` are lines of that text. IMPLEMENTED (eval: `text` + `destination` of the drv).
// - runCommand: `buildCommand` run by bash. IMPLEMENTED, statement by statement, on the src/shell parser:
//   `mkdir`, `chmod`, `echo`/`printf` (no redirection), `:`/`true`, assignments of known values;
//   `ln -s[f][n] TARGET $out/FILE`; `lndir -silent P $out`; `eval "$VAR"` of a derivation variable (its text
//   is walked in place); makeWrapper/wrapProgram below. Anything else (another program, a redirection, a
//   pipeline, `if`, a loop other than the link farm, a word computed at build time) is "cannot follow".
// - symlinkJoin: runCommand with `paths` (passAsFile: `$(cat $pathsPath)`, or `$paths`) and the loop
//   `for i in …; do lndir -silent $i $out; done`, then `postBuild`. lndir never replaces a file: the FIRST
//   path that has `bin/<x>` provides it. IMPLEMENTED (also `cp -rsn "$i"/. "$out"/`, which keeps the first too).
// - buildEnv: builder.pl links `pkgs` (JSON `[{paths, priority}]`; the test fixture's `manifest` lines) under
//   `pathsToLink`; the LOWEST meta.priority number wins, equal ones keep the first (a collision: the build
//   check reports it). IMPLEMENTED. Eval mode knows members built by other builders (stdenv, a package's own
//   script) only by their package names: such a member provides `bin/<x>` iff its pname is `x`; the evidence
//   says so.
// - make-wrapper.sh `makeWrapper ORIGINAL WRAPPER FLAGS…` (makeShellWrapper), in flag order: `--set V X`,
//   `--set-default V X`, `--unset V`, `--chdir D`, `--run CMD`, `--prefix`/`--suffix V SEP VAL` (addValue:
//   each SEP-separated item once; prefix keeps the written order), `--prefix-each`/`--suffix-each`,
//   `--prefix-contents`/`--suffix-contents` (files read at build time), `--add-flags`/`--append-flags`,
//   `--argv0 N`, `--inherit-argv0`, `--resolve-argv0`; then `exec [-a ARGV0] "ORIGINAL" FLAGS "$@"`.
//   Other flags make the build fail. IMPLEMENTED by rendering the same script text (./makeWrapper.ts).
//   In eval mode `--run` and `--*-contents` are "cannot follow" (their effect is decided at build or run
//   time; build mode reads the built file). `wrapProgram PROG FLAGS…`: PROG moves to `.<name>-wrapped`
//   (`_` appended while taken), then makeWrapper with `--inherit-argv0`. IMPLEMENTED.
//   makeBinaryWrapper/wrapProgramBinary (a compiled wrapper): "cannot follow" in eval mode.
// - stdenv.mkDerivation phases (`installPhase`, `postInstall`, `postFixup`, …) and any other builder:
//   NOT IMPLEMENTED in eval mode; as the shared package they are "cannot follow" (build mode reads the file);
//   as the program a wrapper execs they are known only by name (the PATH it starts with is final).
//
// The follow: from `bin/<program>` of the shared package, each shell script is analysed (src/shell) with
// the PATH the previous one gave it; when its final run is an absolute store path that is itself a shell
// script (makeWrapper's `exec -a "$0" …/.x-wrapped`, a wrapper around a writeShellApplication), that script
// is read next, up to 6 deep. The final run of the last script is the program and its PATH is the answer.
// make-wrapper.sh's `--suffix` block is read as "the item is on PATH after the caller's entries"
// (./makeWrapper.ts readSuffixBlocks).
import { readFileSync } from 'node:fs';
import { realpath } from '../storeFs.js';
import { analyzeScript, renderPath, resolvePath, type Invocation, type PathEntry } from '../shell/index.js';
import { readSuffixBlocks } from './makeWrapper.js';
import type { FileFact, WrapperFiles } from './types.js';

export { DerivationFiles } from './derivation.js';
export { bashQuote, hiddenName, readSuffixBlocks, renderMakeWrapper } from './makeWrapper.js';
export type { FileFact, WrapperFiles } from './types.js';

const SHELL_SCRIPT = /^#!\s*\S*\/(ba|da)?sh\b/;
const MAX_DEPTH = 6;

/** Build mode: files of the built store, symlinks followed. */
export class BuiltFiles implements WrapperFiles {
  readonly notes: string[] = [];
  async file(path: string): Promise<FileFact> {
    const real = realpath(path);
    if (!real) return { kind: 'missing', path, reason: `${path} does not exist after the build` };
    let head: Buffer;
    try {
      head = readFileSync(real);
    } catch (err) {
      return { kind: 'cannot-follow', reason: `${path} cannot be read: ${(err as Error).message}` };
    }
    const text = head.toString('utf8');
    const source = real === path ? path : `${path} → ${real}`;
    return SHELL_SCRIPT.test(text) && !head.includes(0)
      ? { kind: 'script', path, text, source }
      : { kind: 'program', path, source };
  }
}

export interface WrapperRun {
  /** The final run: the program and the line of the last script that runs it. */
  run: Invocation;
  /** Store and other directories on PATH there (the caller's PATH left out), and PATH as text. */
  entries: string[];
  shown: string;
  /** The last script read (where `run` is). */
  source: string;
  /** What was read, in order (evidence). */
  chain: string[];
}

export type WrapperOutcome =
  | ({ ok: true } & WrapperRun)
  /** Outside the contract: the check gives `error`. */
  | { ok: false; cannotFollow: string; chain: string[] }
  /** Read and understood: the wrapper does not give its program a known PATH (a proven defect). */
  | { ok: false; problem: string; source: string; chain: string[] };

/**
 * The final run of a script's analysis (its last unconditional exec, else its last unconditional command) and what
 * blocks reading it: shared by the wrapper model and pathSuperset's finalPath.
 */
export function finalRun(
  analysis: Awaited<ReturnType<typeof analyzeScript>>,
): { run: Invocation } | { problem: string } {
  if (analysis.parseError)
    return {
      problem: `not valid shell at line ${analysis.parseError.line}:${analysis.parseError.column}: ${analysis.parseError.message}`,
    };
  const run =
    [...analysis.invocations].reverse().find((i) => i.exec && !i.conditional) ??
    [...analysis.invocations].reverse().find((i) => !i.conditional);
  if (!run) return { problem: 'the script runs no program unconditionally' };
  // A wrapper that runs its arguments (`exec "$@"`) has a computed program word on its last line; the PATH
  // in force there is still known. Anything else unfollowable up to that line blocks.
  const runsItsArguments = (u: { line: number; reason: string }): boolean =>
    u.line === run.line && run.program === '<unknown>' && u.reason.startsWith('the program word');
  const blocking = analysis.unfollowable.find((u) => u.line <= run.line && !runsItsArguments(u));
  if (blocking)
    return { problem: `line ${blocking.line} \`${blocking.text}\`: ${blocking.reason}; the verifier cannot follow it` };
  return { run };
}

/**
 * From `start` (the shared package's `bin/<program>`), the program finally run and the PATH it runs with.
 * `inherited` is the PATH the first script starts with (default: the caller's, symbolic).
 */
export async function followWrapper(
  files: WrapperFiles,
  start: string,
  inherited: PathEntry[] | 'inherited' = 'inherited',
): Promise<WrapperOutcome> {
  const chain: string[] = [];
  let fact = await files.file(start);
  let pathIn = inherited;
  let last: { run: Invocation; source: string } | undefined;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (fact.kind === 'cannot-follow') return { ok: false, cannotFollow: fact.reason, chain };
    if (fact.kind === 'missing' || fact.kind === 'unlisted') {
      if (!last)
        return depth === 0 && fact.kind === 'unlisted'
          ? { ok: false, cannotFollow: fact.reason, chain }
          : { ok: false, problem: fact.reason, source: fact.path, chain };
      return {
        ok: false,
        problem: `line ${last.run.line} \`${last.run.text}\` runs ${fact.path}: ${fact.reason}`,
        source: last.source,
        chain,
      };
    }
    if (fact.kind === 'opaque' || fact.kind === 'program') {
      if (!last)
        return fact.kind === 'opaque'
          ? { ok: false, cannotFollow: `${fact.reason}; build mode reads the built file`, chain }
          : {
              ok: false,
              problem: `${fact.source} is not a shell script the verifier can read`,
              source: fact.path,
              chain,
            };
      chain.push(
        `${fact.path}: ${fact.kind === 'opaque' ? fact.reason : 'a program (not a shell script)'}; it starts with that PATH`,
      );
      return done(last, chain);
    }
    const { text, lines } = readSuffixBlocks(fact.text);
    chain.push(`read ${fact.source}${lines.length ? ` (make-wrapper.sh --suffix at line ${lines.join(', ')})` : ''}`);
    const analysis = await analyzeScript(text, { inheritedPath: pathIn });
    // A script the wrapper execs that runs no other program (a tool's own script) is the program itself.
    if (last && !analysis.parseError && !analysis.invocations.some((i) => i.kind === 'external')) {
      chain.push(`${fact.path} runs no other program: it is the program, and starts with that PATH`);
      return done(last, chain);
    }
    const r = finalRun(analysis);
    if ('problem' in r) return { ok: false, problem: r.problem, source: fact.source, chain };
    last = { run: r.run, source: fact.source };
    // Follow an absolute store path the script finally runs when it is a script itself.
    if (!r.run.program.startsWith('/nix/store/')) return done(last, chain);
    const next = await files.file(r.run.program);
    if (
      next.kind === 'program' ||
      next.kind === 'opaque' ||
      next.kind === 'unlisted' ||
      next.kind === 'missing' ||
      next.kind === 'cannot-follow'
    ) {
      if (next.kind === 'program') return done(last, chain);
      fact = next;
      continue;
    }
    const p = r.run.path;
    if ('unknown' in p)
      return {
        ok: false,
        problem: `the PATH at line ${r.run.line} (\`${r.run.text}\`) cannot be computed: ${p.unknown}`,
        source: fact.source,
        chain,
      };
    if (!r.run.exportedVars.includes('PATH'))
      return {
        ok: false,
        problem: `PATH is not exported to \`${r.run.text}\` (line ${r.run.line}): the program starts without it`,
        source: fact.source,
        chain,
      };
    chain.push(`line ${r.run.line} \`${r.run.text}\` runs ${r.run.program} with PATH=${renderPath(p)}`);
    pathIn = p.entries;
    fact = next;
  }
  return { ok: false, cannotFollow: `more than ${MAX_DEPTH} scripts exec one another from ${start}`, chain };
}

function done(last: { run: Invocation; source: string }, chain: string[]): WrapperOutcome {
  const { run, source } = last;
  const p = resolvePath(run.path, undefined);
  if ('unknown' in p)
    return {
      ok: false,
      problem: `the PATH at line ${run.line} (\`${run.text}\`) cannot be computed: ${p.unknown}`,
      source,
      chain,
    };
  // `export -n PATH`: the shell finds the program, but the program itself starts without PATH.
  if (!run.exportedVars.includes('PATH'))
    return {
      ok: false,
      problem: `PATH is not exported to \`${run.text}\` (line ${run.line}): the program starts without it`,
      source,
      chain,
    };
  return {
    ok: true,
    run,
    entries: p.entries.flatMap((e) => ('dir' in e ? [e.dir] : [])),
    shown: renderPath(p),
    source,
    chain,
  };
}
