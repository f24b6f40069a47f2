// How a flake attribute's derivation uses the shared package (spec `kind: derivation`, `reference:`), judged with
// Nix's own notions, the same facts in both modes where they exist:
// - the derivation judged: `attr`, or the attribute at `through` under it (`stream` of a nixpkgs
//   buildLayeredImage: the image is `${stream} | gzip > $out`, a compressed tarball whose bytes hide every store
//   path, so its runtime closure is itself alone; the stream script's closure holds the image's contents through its
//   `conf` json — nixpkgs pkgs/build-support/docker/default.nix);
// - input closure: `nix path-info -r --derivation` (every .drv it is built from), an evaluation fact;
// - runtime closure: `nix path-info -r` of the built output, a build fact (references Nix found in the output);
// - build script: nixpkgs' runCommand/stdenv runs `buildCommand` (genericBuild evaluates it instead of the phases);
//   a derivation whose builder is a shell given `-c SCRIPT` runs SCRIPT. Any other builder is not readable.
// References:
// - `runtime`: build mode builds it and requires the package in the runtime closure. Eval mode cannot know a
//   runtime closure: a derivation not built from the package cannot reference it (fail); one built from it is
//   "cannot follow: the runtime closure needs a build" (an error, never a pass).
// - `build-input`: the package is in the input closure and the build script runs the program from it, itself or
//   through a script it runs by store path (a writeShellScript helper: its `text` read from the input derivation
//   that outputs it, up to 4 scripts deep; a built program is not followed; a store file no input derivation
//   outputs cannot be read: cannot follow): a simple
//   command, not only on some branches, not in the background, whose word is `<package>/bin/<program>` (a bare
//   name is looked up in a PATH stdenv makes at build time from its inputs: cannot follow). A reference that is
//   present but not run (`echo ${pkg}`) fails. Commands after it may write the output, but never redo its job
//   without it (src/afterProgram.ts). Nothing is built: the same facts in both modes.
// - absent: the runtime closure after a build (build mode), the input closure (eval mode), as before `reference`.
import { afterProblem } from './afterProgram.js';
import { judgeImage } from './imageUse.js';
import type { DerivationConsumer } from './claim/types.js';
import type { NixClient } from './nix/client.js';
import { parseStorePath } from './parse/storePath.js';
import { analyzeScript, finalRunOf, programName, type Invocation, type ShellAnalysis } from './shell/index.js';

interface EvaluatedDrv {
  drvPath: string;
  out: string;
  buildCommand: string | null;
  builder: string | null;
  args: string[] | null;
}

// No `outPath` key in the answer: toJSON would collapse the set to that string. The builder's script is asked for
// only when it is judged (build-input): nothing else of a derivation is forced.
const exprFor = (script: boolean): string =>
  'd: if builtins.isAttrs d && d ? drvPath then { drvPath = d.drvPath; out = d.outPath; ' +
  (script
    ? 'buildCommand = if builtins.isString (d.buildCommand or null) then d.buildCommand else null; ' +
      'builder = if d ? builder then toString d.builder else null; ' +
      'args = if builtins.isList (d.args or null) then map (a: if builtins.isString a || builtins.isPath a || (builtins.isAttrs a && a ? outPath) then toString a else "<not a string>") d.args else null; '
    : 'buildCommand = null; builder = null; args = null; ') +
  '} else null';

export interface DerivationFinding {
  problems: string[];
  evidence: string[];
  unknowns: string[];
}

/** The attribute path judged: `attr`, or `attr.through`. */
export const judgedAttr = (c: Pick<DerivationConsumer, 'attr' | 'through'>): string =>
  c.through ? `${c.attr}.${c.through}` : c.attr;

/** The script a derivation's builder runs, when it can be read. */
function buildScript(d: EvaluatedDrv): { text: string; source: string } | { unreadable: string } {
  if (d.buildCommand !== null) return { text: d.buildCommand, source: `${d.drvPath} buildCommand` };
  const shell = d.builder !== null && /(^|\/)(ba|da)?sh$/.test(d.builder);
  if (shell && d.args?.[0] === '-c' && d.args[1] !== undefined)
    return { text: d.args[1], source: `${d.drvPath} (${programName(d.builder!)} -c)` };
  return {
    unreadable: `its builder script is not readable (no buildCommand; builder ${d.builder ?? 'none'}${d.args ? ` with ${d.args.length} args` : ''})`,
  };
}

const MAX_DEPTH = 4;
const isShellScript = (text: string): boolean => /^#!\s*\S*\/(ba|da)?sh\b/.test(text);

interface Level {
  text: string;
  source: string;
  /** Derivations the script's store paths are looked up among (its derivation's inputs). */
  inputs: readonly string[];
}
interface Caller {
  run: Invocation;
  analysis: ShellAnalysis;
  source: string;
}
type Located =
  { found: Caller; callers: Caller[] } | { unknown: string } | { notFound: { unread: string[]; mentioned: boolean } };

/** The input derivation that outputs `root`, if any. */
async function producer(nix: NixClient, inputs: readonly string[], root: string): Promise<string | undefined> {
  for (const i of inputs) if (Object.values((await nix.derivation(i)).outputs).includes(root)) return i;
  return undefined;
}

/**
 * Where a build script runs the program: in its own text, or in a script it runs by store path (a writeShellScript
 * helper: its text read from the derivation that outputs it, as eval mode reads scripts). A built program (no text)
 * is not the program and is not followed; a store file no input derivation outputs (a source) cannot be read.
 */
async function locate(
  nix: NixClient,
  level: Level,
  program: string,
  expectedOut: string,
  callers: Caller[],
): Promise<Located> {
  const analysis = await analyzeScript(level.text, {
    shell: isShellScript(level.text) && /^#!\S*\/sh\b/.test(level.text) ? 'sh' : 'bash',
  });
  if (analysis.parseError)
    return {
      unknown: `${level.source}:${analysis.parseError.line}:${analysis.parseError.column}: not valid shell (${analysis.parseError.message})`,
    };
  const run = finalRunOf(analysis, program);
  if (run) return { found: { run, analysis, source: level.source }, callers };
  const unread: string[] = [];
  let mentioned = level.text.includes(expectedOut);
  if (callers.length + 1 >= MAX_DEPTH) return { notFound: { unread, mentioned } };
  for (const inv of analysis.invocations) {
    const root = inv.kind === 'external' ? parseStorePath(inv.program)?.root : undefined;
    if (!root || root === expectedOut) continue;
    const drv = await producer(nix, level.inputs, root);
    if (!drv) {
      unread.push(`${inv.program} (${level.source}:${inv.line}; no input derivation outputs it)`);
      continue;
    }
    const info = await nix.derivation(drv);
    const text = info.env.text;
    if (text === undefined || !isShellScript(text)) continue; // a built program: not the program
    const inner = await locate(nix, { text, source: `${drv} text`, inputs: info.inputDrvs }, program, expectedOut, [
      ...callers,
      { run: inv, analysis, source: level.source },
    ]);
    if (!('notFound' in inner)) return inner;
    unread.push(...inner.notFound.unread);
    mentioned ||= inner.notFound.mentioned;
  }
  return { notFound: { unread, mentioned } };
}

/**
 * Why a run (of the program, or of the helper that runs it) does not surely run in the build, or undefined. Any
 * condition counts, a guard too (`cd dir && …`): bash's errexit ignores a failing left side of `&&`, so the build
 * goes on to write its output without the run.
 */
function notSurelyRun(c: Caller): string | undefined {
  const at = `${c.source}:${c.run.line}`;
  if (c.run.conditional)
    return `${at}: \`${c.run.text}\` runs only on some branches (${c.run.conditionalReason ?? 'conditional'})`;
  if (c.run.alongside?.startsWith('in the background'))
    return `${at}: \`${c.run.text}\` runs ${c.run.alongside}; the build does not wait for it`;
  return undefined;
}

/** Does the build script run `<package>/bin/<program>`? A problem, an unknown (cannot follow), or evidence. */
async function scriptRunsProgram(
  nix: NixClient,
  name: string,
  d: EvaluatedDrv,
  expectedOut: string,
  program: string,
): Promise<{ problem?: string; unknown?: string; evidence?: string }> {
  const script = buildScript(d);
  if ('unreadable' in script) return { unknown: `${name}: cannot follow: ${script.unreadable}` };
  const inputs = (await nix.derivation(d.drvPath)).inputDrvs;
  const located = await locate(nix, { ...script, inputs }, program, expectedOut, []);
  if ('unknown' in located) return { unknown: `${name}: cannot follow: ${located.unknown}` };
  if ('notFound' in located) {
    const { unread, mentioned } = located.notFound;
    if (unread.length)
      return {
        unknown: `${name}: cannot follow: its build script (${script.source}) does not run ${program} itself, and runs ${unread.join(', ')}`,
      };
    return {
      problem: `${name}: its build script (${script.source}) never runs ${program}${mentioned ? ` (it names ${expectedOut} without running it)` : ''}`,
    };
  }
  const { found, callers } = located;
  const run = found.run;
  const at = `${found.source}:${run.line}`;
  for (const level of [...callers, found]) {
    const blocking = level.analysis.unfollowable.find((u) => u.line <= level.run.line);
    if (blocking)
      return {
        unknown: `${name}: cannot follow: ${level.source}:${blocking.line}: \`${blocking.text}\`: ${blocking.reason}`,
      };
    const why = notSurelyRun(level);
    if (why) return { problem: `${name}: ${why}` };
  }
  if (!run.program.startsWith('/'))
    return {
      unknown: `${name}: cannot follow: ${at}: \`${run.text}\` finds ${program} through the PATH stdenv makes at build time from its inputs; name it as \${pkgs.<package>}/bin/${program}`,
    };
  if (run.program !== `${expectedOut}/bin/${program}`)
    return { problem: `${name}: ${at}: \`${run.text}\` runs ${run.program}, not ${expectedOut}/bin/${program}` };
  // What runs after it, at its own level and after each helper call that led to it, must not redo its job.
  for (const level of [found, ...callers]) {
    const later = level.analysis.invocations
      .slice(level.analysis.invocations.indexOf(level.run) + 1)
      .filter((i) => i.kind === 'external');
    const after = afterProblem(run, later, true);
    if (after)
      return {
        problem: `${name}: ${at} runs ${program}, but ${after.replace('runs after it', `runs after it (${level.source})`)}`,
      };
  }
  const via = callers.map((c) => `${c.source}:${c.run.line} \`${c.run.text}\``).join(' → ');
  return { evidence: `${name}: ${at}: its build runs ${run.program} (\`${run.text}\`)${via ? ` via ${via}` : ''}` };
}

/** The consumer's finding: problems (fail), unknowns (cannot follow: error) and evidence. */
export async function judgeDerivation(
  nix: NixClient,
  mode: 'build' | 'eval',
  consumer: DerivationConsumer,
  expected: { outPath: string; drvPath: string },
  program: string,
): Promise<DerivationFinding> {
  // `image: true`: a dockerTools image judged as Docker runs it (src/imageUse.ts).
  if (consumer.image) return judgeImage(nix, mode, consumer, expected, program);
  const out: DerivationFinding = { problems: [], evidence: [], unknowns: [] };
  const attr = judgedAttr(consumer);
  const name = consumer.name;
  const d = await nix.evalJson<EvaluatedDrv | null>(attr, exprFor(consumer.reference === 'build-input'));
  if (!d) return { ...out, problems: [`${name}: ${attr} is not a derivation`] };
  out.evidence.push(
    `${name}: ${attr} = ${d.out}${consumer.through ? ` (the ${consumer.through} of ${consumer.attr})` : ''}; reference: ${consumer.reference ?? 'not given (build mode: runtime closure; eval mode: input closure)'}`,
  );
  const inputs = await nix.drvClosure(d.drvPath);
  const builtFrom = inputs.includes(expected.drvPath);
  const inputText = `${d.drvPath} ${builtFrom ? 'is built from' : 'is NOT built from'} ${expected.drvPath} (input closure, ${inputs.length} derivations)`;
  const runtime = async (): Promise<void> => {
    const built = await nix.buildDrvs([d.drvPath]);
    if (!built.ok) {
      out.problems.push(`${name}: ${attr} does not build: ${built.error?.message.split('\n')[0] ?? 'failed'}`);
      return;
    }
    const closure = await nix.closure(d.out);
    const has = closure.includes(expected.outPath);
    out.evidence.push(
      `${name}: runtime closure of ${d.out} (${closure.length} path${closure.length === 1 ? '' : 's'}) ${has ? 'holds' : 'LACKS'} ${expected.outPath}`,
    );
    if (has) return;
    out.problems.push(`${name}: ${attr} does not reference ${expected.outPath}`);
    if (builtFrom)
      out.evidence.push(
        `${name}: ${inputText}, but its output keeps no reference to it (a compressed image hides its contents: judge the attribute that holds them, e.g. through: stream)`,
      );
  };
  if (consumer.reference === undefined) {
    if (mode === 'build') await runtime();
    else {
      out.evidence.push(`${name}: ${inputText} (evaluated: a build input; only a build shows a runtime reference)`);
      if (!builtFrom) out.problems.push(`${name}: ${attr} is not built from ${expected.drvPath}`);
    }
    return out;
  }
  if (consumer.reference === 'runtime') {
    if (mode === 'build') {
      await runtime();
      return out;
    }
    out.evidence.push(`${name}: ${inputText}`);
    if (!builtFrom)
      out.problems.push(
        `${name}: ${attr} is not built from ${expected.drvPath}, so its runtime closure cannot hold ${expected.outPath}`,
      );
    else
      out.unknowns.push(
        `${name}: cannot follow: the runtime closure of ${attr} needs a build (eval mode builds nothing; it is built from ${expected.drvPath}, which proves no runtime reference)`,
      );
    return out;
  }
  // build-input: the input closure, then the build script.
  out.evidence.push(`${name}: ${inputText}`);
  if (!builtFrom) {
    out.problems.push(`${name}: ${attr} is not built from ${expected.drvPath}`);
    return out;
  }
  const r = await scriptRunsProgram(nix, name, d, expected.outPath, program);
  if (r.problem) out.problems.push(r.problem);
  if (r.unknown) out.unknowns.push(r.unknown);
  if (r.evidence) out.evidence.push(r.evidence);
  return out;
}
