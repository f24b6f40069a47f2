// What a systemd unit really runs: its ExecStart command, followed through shell
// scripts (a NixOS `script` unit-script, a writeShellApplication wrapper, `sh -c`)
// to the place where `target` is finally run (or, without a target, to the first
// program that is not a shell script), with the PATH in force there. Anything the
// verifier cannot follow (eval, source, a computed PATH, a non-script program)
// ends the chain with a reason; it never guesses.
import {
  analyzeScript,
  finalRunOf,
  renderPath,
  resolvePath,
  type Invocation,
  type PathEntry,
  type PathValue,
} from './shell/index.js';
import { parseStorePath } from './parse/storePath.js';
import { programName, resolveProgram, type HostView } from './resolve.js';
import { afterProblem } from './afterProgram.js';

export interface ScriptSource {
  /** The text of the script at a store path, and the derivations to look the next one up in. */
  scriptAt(
    storePath: string,
    drvs: readonly string[],
  ): Promise<{ text: string; source: string; inputs: string[] } | { missing: string; opaque?: boolean }>;
}

export interface ChainStart {
  /** The command systemd starts (ExecStart's words, prefixes removed), or inline script text. */
  argv?: string[];
  inlineScript?: { text: string; source: string };
  /** Where the command comes from (the unit file and line), for evidence. */
  where?: string;
  /** The unit's PATH (its effective Environment=PATH); undefined when the unit sets none. */
  pathDirs: string[] | undefined;
  /** Derivations the unit refers to (eval mode looks scripts up there). */
  drvs: string[];
}

export type ChainResult =
  | { ok: true; root: string; via: string; file?: string; pathDirs: string[]; chain: string[] }
  | { ok: false; reason: string; chain: string[] };

const MAX_DEPTH = 6;
const SHELLS = new Set(['sh', 'bash', 'dash']);
const isScriptText = (text: string): boolean =>
  /^#!\s*\S*\/(ba|da|z|k)?sh\b/.test(text) || /^#!\s*\S*\/env\s+(ba)?sh\b/.test(text);
const dirsOf = (v: PathValue): string[] | undefined =>
  'entries' in v ? v.entries.map((e) => ('dir' in e ? e.dir : '')).filter((d) => d !== '') : undefined;
/** A word for a shell script that stands for itself (systemd's ExecStart words are already split). */
const shellQuote = (w: string): string => `'${w.replace(/'/g, `'\\''`)}'`;

/** The command a script finally runs: `target` if it runs it, else its last external program. */
function decisiveRun(invocations: Invocation[], run: Invocation | undefined): Invocation | undefined {
  if (run) return run;
  const external = invocations.filter((i) => i.kind === 'external');
  return [...external].reverse().find((i) => i.exec && !i.conditional) ?? external[external.length - 1];
}

/**
 * Why a script's run of `target` is not where its work happens, or undefined: another program runs after it
 * (its final `exec`, a fallback after `||`), beside it (an earlier pipeline stage, a background job), or the
 * shell stops before it (`false` under `set -e`). Programs run in order before it (`mkdir -p`) are not judged.
 */
function bypassOf(
  invocations: Invocation[],
  run: Invocation,
  target: string,
  text: string,
  allowAfter?: true | readonly string[],
): string | undefined {
  const at = invocations.indexOf(run);
  const isTarget = (i: Invocation): boolean => programName(i.program) === target;
  const later = invocations
    .slice(at + 1)
    .filter(
      (i) => i.kind === 'external' && !isTarget(i) && (run.alongside === undefined || i.alongside !== run.alongside),
    );
  // A spec's allow_after: the commands after it are judged one by one (src/afterProgram.ts).
  if (later.length && allowAfter !== undefined) {
    const after = afterProblem(run, later, allowAfter);
    if (after) return after;
  } else if (later.length)
    return `\`${later[later.length - 1].text}\` (line ${later[later.length - 1].line}) runs after it${later[later.length - 1].conditional ? ` (${later[later.length - 1].conditionalReason})` : ''}`;
  // A pipeline stage before the target's feeds it (`rsync … | wrapper cat`): that stage does the work. Stages
  // after it (`| tee log`) only take its output. A background job runs beside everything.
  const beside = invocations.filter(
    (i, k) =>
      i.kind === 'external' &&
      !isTarget(i) &&
      i.alongside !== undefined &&
      ((i.alongside === run.alongside && k < at) || i.alongside.startsWith('in the background')),
  );
  if (beside.length) return `\`${beside[0].text}\` runs ${beside[0].alongside}`;
  if (run.alongside?.startsWith('in the background'))
    return `it runs ${run.alongside} and the script does not wait for it`;
  // `set -e` (a unit-script's first line) and an unconditional `false` before the run: the shell exits there.
  // NixOS writes a unit-script as `#!…/bash -e`; a script may also say `set -e` itself.
  const shebangE = /^#!\S+(\s+-[a-zA-Z]*e[a-zA-Z]*)\b/.test(text.split('\n')[0] ?? '');
  const errexit = invocations
    .slice(0, at)
    .find(
      (i) =>
        i.kind === 'builtin' &&
        i.program === 'set' &&
        i.args.some((a) => /^-[a-zA-Z]*e[a-zA-Z]*$/.test(a) || a === 'errexit'),
    );
  const from = shebangE ? 0 : errexit ? invocations.indexOf(errexit) + 1 : at;
  const stop = invocations
    .slice(from, at)
    .find((i) => !i.conditional && i.alongside === undefined && i.program === 'false');
  if (stop)
    return `\`${stop.text}\` (line ${stop.line}) fails under ${shebangE ? 'the `-e` of its #! line' : `\`set -e\` (line ${errexit!.line})`} before it, so it never runs`;
  return undefined;
}

/** Follows `start` until `target` is run (or, with no target, until a program that is not a shell script). */
export async function followToTarget(
  start: ChainStart,
  target: string | undefined,
  view: HostView,
  source: ScriptSource,
  options: { allowAfter?: true | readonly string[] } = {},
): Promise<ChainResult> {
  const chain: string[] = [];
  // ExecStart is an argv, not shell; as a one-line script it gets env/exec prefixes applied the same way.
  let text: string | undefined =
    start.inlineScript?.text ?? (start.argv?.length ? start.argv.map(shellQuote).join(' ') : undefined);
  let where = start.inlineScript?.source ?? start.where ?? 'ExecStart';
  let dirs = start.pathDirs ?? [];
  let drvs = start.drvs;
  if (text === undefined) return { ok: false, reason: 'the unit has no ExecStart', chain };
  let previous: { root: string; via: string; file?: string } | undefined;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const inherited: PathEntry[] = dirs.map((d) => ({ dir: d }));
    // A `#!…/sh` script runs in bash's POSIX mode on NixOS (aliases expanded); anything else as bash does.
    const analysis = await analyzeScript(text, {
      inheritedPath: inherited,
      shell: /^#!\s*\S*\/sh(\s|$)/.test(text) ? 'sh' : 'bash',
    });
    if (analysis.parseError) {
      return {
        ok: false,
        reason: `${where}:${analysis.parseError.line}:${analysis.parseError.column}: not valid shell (${analysis.parseError.message})`,
        chain,
      };
    }
    const run = target ? finalRunOf(analysis, target) : undefined;
    const bypass = run ? bypassOf(analysis.invocations, run, target!, text, options.allowAfter) : undefined;
    if (run && bypass) {
      chain.push(`${where}:${run.line}: ${run.text}`);
      return {
        ok: false,
        reason: `${where}:${run.line} runs ${target} (\`${run.text}\`), but ${bypass}: the work does not go through ${target}`,
        chain,
      };
    }
    const last = decisiveRun(analysis.invocations, run);
    // Constructs that change what runs in ways the verifier cannot compute, before the decisive command.
    const blocking = analysis.unfollowable.find((u) => !last || u.line <= last.line);
    if (blocking)
      return {
        ok: false,
        reason: `${where}:${blocking.line}: \`${blocking.text}\`: ${blocking.reason}; the verifier cannot follow it`,
        chain,
      };
    if (!last) {
      // Without a target, a script that starts no other program is itself the end of the chain.
      if (!target && previous) return { ok: true, ...previous, pathDirs: dirs, chain };
      return { ok: false, reason: `${where} runs no program`, chain };
    }
    if (last.program.includes('<unknown'))
      return {
        ok: false,
        reason: `${where}:${last.line}: \`${last.text}\` runs a program the verifier cannot compute`,
        chain,
      };
    // `cd dir && exec target` runs nothing else when the guard fails: still the one program it runs.
    const guardOnly = /^runs only if/.test(last.conditionalReason ?? '');
    if (last.conditional && !guardOnly) {
      return {
        ok: false,
        reason: `${where}:${last.line}: \`${last.text}\` runs only on some branches (${last.conditionalReason ?? 'conditional'})`,
        chain,
      };
    }
    const pathHere = resolvePath(last.path, inherited);
    const lookupDirs = dirsOf(pathHere);
    if (!lookupDirs)
      return {
        ok: false,
        reason: `${where}:${last.line}: the PATH of \`${last.text}\` cannot be computed (${'unknown' in pathHere ? pathHere.unknown : ''})`,
        chain,
      };
    // `export -n PATH`: the shell still looks the program up, but the program gets no PATH.
    const childDirs = last.exportedVars.includes('PATH') ? lookupDirs : [];
    chain.push(
      `${where}:${last.line}: ${last.text}  [PATH=${renderPath(pathHere)}${childDirs.length ? '' : ', not exported'}]`,
    );
    const r = resolveProgram(last.program, lookupDirs, view);
    if (!r.root)
      return {
        ok: false,
        reason: `${last.program} cannot be resolved (${r.notes.join('; ') || 'not on PATH'})`,
        chain,
      };
    chain.push(...r.notes);
    if (target && programName(last.program) === target) {
      chain.push(`runs ${last.program} → ${r.root} via ${r.via}`);
      return { ok: true, root: r.root, via: r.via!, ...(r.file ? { file: r.file } : {}), pathDirs: childDirs, chain };
    }
    const file = r.file && parseStorePath(r.file) ? r.file : undefined;
    // `bash -c 'script'`: the script is the next text, with the same PATH.
    if (SHELLS.has(programName(last.program)) && last.args[0] === '-c' && last.args[1] !== undefined) {
      text = last.args[1];
      where = `${where}:${last.line} (${programName(last.program)} -c)`;
      dirs = childDirs;
      continue;
    }
    if (!file)
      return {
        ok: false,
        reason: `${last.program} (${r.via}) is outside the store; what it runs cannot be followed`,
        chain,
      };
    const script = await source.scriptAt(file, drvs);
    if ('missing' in script) {
      // Eval mode: a package built by its own builder (not a text file) is taken as the program itself.
      if (!target && script.opaque) {
        chain.push(`${file}: a built program (eval mode: its contents are only known after a build)`);
        return { ok: true, root: r.root, via: r.via!, file, pathDirs: childDirs, chain };
      }
      return { ok: false, reason: script.missing, chain };
    }
    if (!isScriptText(script.text)) {
      if (!target) return { ok: true, root: r.root, via: r.via!, file, pathDirs: childDirs, chain };
      return {
        ok: false,
        reason: `${file} is not a shell script, and it is not ${target}: what it runs cannot be followed`,
        chain,
      };
    }
    text = script.text;
    where = script.source;
    if (script.inputs.length) drvs = script.inputs;
    dirs = childDirs;
    previous = { root: r.root, via: r.via!, file };
  }
  return { ok: false, reason: `no ${target ?? 'program'} within ${MAX_DEPTH} scripts`, chain };
}
