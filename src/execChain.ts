// What a systemd unit really runs: its ExecStart program, followed through shell
// scripts (a NixOS `script` unit-script, a writeShellApplication wrapper) to the
// place where `target` is finally run, with the PATH in force there. Anything the
// verifier cannot follow (eval, source, a computed PATH, a non-script program)
// ends the chain with a reason; it never guesses.
import { analyzeScript, finalRunOf, renderPath, resolvePath, Unknown, type PathEntry, type PathValue } from './shell/index.js';
import { parseStorePath } from './parse/storePath.js';
import { programName, resolveProgram, type HostView } from './resolve.js';

export interface ScriptSource {
  /** The text of the script at a store path, and the derivations to look the next one up in. */
  scriptAt(storePath: string, drvs: readonly string[]): Promise<{ text: string; source: string; inputs: string[] } | { missing: string }>;
}

export interface ChainStart {
  /** The program systemd starts (ExecStart's first word), or inline script text. */
  program?: string;
  inlineScript?: { text: string; source: string };
  /** The unit's PATH (its last Environment=PATH); undefined when the unit sets none. */
  pathDirs: string[] | undefined;
  /** Derivations the unit refers to (eval mode looks scripts up there). */
  drvs: string[];
}

export type ChainResult =
  | { ok: true; root: string; via: string; pathShown: string; chain: string[] }
  | { ok: false; reason: string; chain: string[] };

const MAX_DEPTH = 6;
const isScriptText = (text: string): boolean => /^#!\s*\S*\/(ba|da|z|k)?sh\b/.test(text) || /^#!\s*\S*\/env\s+(ba)?sh\b/.test(text);
const dirsOf = (v: PathValue): string[] | undefined => ('entries' in v ? v.entries.map((e) => ('dir' in e ? e.dir : '')).filter((d) => d !== '') : undefined);

/** Follows `start` until `target` is run; returns the store path it resolves to. */
export async function followToTarget(start: ChainStart, target: string, view: HostView, source: ScriptSource): Promise<ChainResult> {
  const chain: string[] = [];
  let program = start.program;
  let inline = start.inlineScript;
  let dirs = start.pathDirs ?? [];
  let drvs = start.drvs;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    let text: string;
    let where: string;
    if (inline) {
      ({ text, source: where } = inline);
      inline = undefined;
    } else {
      if (!program) return { ok: false, reason: 'the unit has no ExecStart', chain };
      if (programName(program) === target) {
        const r = resolveProgram(program, dirs, view);
        if (!r.root) return { ok: false, reason: `${program} cannot be resolved (${r.notes.join('; ') || 'not on PATH'})`, chain };
        chain.push(`runs ${program} → ${r.root} via ${r.via}`);
        return { ok: true, root: r.root, via: r.via!, pathShown: dirs.join(':'), chain };
      }
      const r = resolveProgram(program, dirs, view);
      if (!r.root) return { ok: false, reason: `${program} cannot be resolved (${r.notes.join('; ') || 'not on PATH'})`, chain };
      const fileInStore = r.file && parseStorePath(r.file) ? r.file : undefined;
      if (!fileInStore) return { ok: false, reason: `${program} is outside the store; what it runs cannot be followed`, chain };
      const script = await source.scriptAt(fileInStore, drvs);
      if ('missing' in script) return { ok: false, reason: script.missing, chain };
      if (!isScriptText(script.text)) return { ok: false, reason: `${fileInStore} is not a shell script, and it is not ${target}: what it runs cannot be followed`, chain };
      text = script.text;
      where = script.source;
      if (script.inputs.length) drvs = script.inputs;
    }
    const inherited: PathEntry[] = dirs.map((d) => ({ dir: d }));
    const analysis = await analyzeScript(text, { inheritedPath: inherited });
    if (analysis.parseError) {
      return { ok: false, reason: `${where}:${analysis.parseError.line}:${analysis.parseError.column}: not valid shell (${analysis.parseError.message})`, chain };
    }
    const run = finalRunOf(analysis, target);
    const lastRun = run ?? [...analysis.invocations].reverse().find((i) => i.exec && !i.conditional) ?? analysis.invocations[analysis.invocations.length - 1];
    // Constructs that change what runs in ways the verifier cannot compute, before the decisive command.
    const blocking = analysis.unfollowable.filter((u) => !lastRun || u.line <= lastRun.line);
    if (blocking.length) {
      const u = blocking[0]!;
      return { ok: false, reason: `${where}:${u.line}: \`${u.text}\`: ${u.reason}; the verifier cannot follow it`, chain };
    }
    if (!lastRun) return { ok: false, reason: `${where} runs nothing`, chain };
    if (lastRun.program === '<unknown>' || lastRun.program.includes('<unknown')) {
      return { ok: false, reason: `${where}:${lastRun.line}: \`${lastRun.text}\` runs a program the verifier cannot compute`, chain };
    }
    // `cd dir && exec target` runs nothing else when the guard fails: still the one program it runs.
    const guardOnly = run !== undefined && /^runs only if/.test(lastRun.conditionalReason ?? '');
    if (lastRun.conditional && !guardOnly) {
      return { ok: false, reason: `${where}:${lastRun.line}: \`${lastRun.text}\` runs only on some branches (${lastRun.conditionalReason ?? 'conditional'})`, chain };
    }
    const pathHere = resolvePath(lastRun.path, inherited);
    const nextDirs = dirsOf(pathHere);
    if (!nextDirs) return { ok: false, reason: `${where}:${lastRun.line}: the PATH of \`${lastRun.text}\` cannot be computed (${'unknown' in pathHere ? pathHere.unknown : ''})`, chain };
    chain.push(`${where}:${lastRun.line}: ${lastRun.text}  [PATH=${renderPath(pathHere)}]${lastRun.cwd instanceof Unknown ? '' : ''}`);
    if (!run && programName(lastRun.program) !== target && depth === MAX_DEPTH - 1) break;
    program = lastRun.program;
    dirs = nextDirs;
  }
  return { ok: false, reason: `no ${target} within ${MAX_DEPTH} scripts`, chain };
}
