// A dev shell consumer (spec `kind: dev-shell`): in the PATH `nix develop` gives it (src/devShell.ts), the program
// resolves first to the shared package, and every expected tool to the directory the wrapper's own PATH has for it.
// Build mode realises the shell's inputs (what `nix develop` does; the shell itself is not built) and looks into
// their bin/; eval mode reads the same derivation attributes and knows a store directory's bin/ by its package
// name only: an earlier entry it cannot look into, other than the wrapper's own directories, is "cannot follow".
import path from 'node:path';
import type { RunContext } from '../context.js';
import { devShellPath, OUTER_PATH, type DevShellFacts, type DevShellPath } from '../devShell.js';
import type { DerivationInfo } from '../nix/client.js';
import { packageOf, parseStorePath } from '../parse/storePath.js';
import { resolveProgram, type HostView } from '../resolve.js';
import { exists, isDir, listDir, readText, realpath, storeRootOf } from '../storeFs.js';
import type { DevShellConsumer } from '../claim/types.js';
import { compareTools } from './pathSuperset.js';

export interface DevShellFinding {
  problems: string[];
  evidence: string[];
  unknowns: string[];
}

const PROPAGATED_FILES = [
  'propagated-build-build-deps',
  'propagated-native-build-inputs',
  'propagated-build-target-deps',
  'propagated-host-host-deps',
  'propagated-target-target-deps',
];
const PROPAGATED_ATTRS = [
  'depsBuildBuildPropagated',
  'propagatedNativeBuildInputs',
  'depsBuildTargetPropagated',
  'depsHostHostPropagated',
  'depsTargetTargetPropagated',
];
const words = (v: string | undefined): string[] => (v ?? '').split(/\s+/).filter((w) => w !== '');

/**
 * The facts of a shell derivation for src/devShell.ts. Derivations are found by the store paths they output, among
 * the shell's input derivations and (breadth first) theirs.
 */
export function shellFacts(
  mode: 'build' | 'eval',
  drvPath: string,
  shell: DerivationInfo,
  derivation: (drv: string) => Promise<DerivationInfo>,
): DevShellFacts {
  const byOutput = new Map<string, DerivationInfo>();
  const queue = [...shell.inputDrvs];
  const seen = new Set<string>(queue);
  const drvOf = async (p: string): Promise<DerivationInfo | undefined> => {
    const root = parseStorePath(p)?.root ?? p;
    for (let read = 0; !byOutput.has(root) && queue.length && read < 400; read++) {
      const d = await derivation(queue.shift()!);
      for (const o of Object.values(d.outputs)) byOutput.set(o, d);
      for (const i of d.inputDrvs.filter((x) => !seen.has(x))) {
        seen.add(i);
        queue.push(i);
      }
    }
    return byOutput.get(root);
  };
  return {
    env: shell.env,
    source: `${drvPath} (derivation attributes)`,
    async propagated(p) {
      if (mode === 'build') {
        if (!exists(p)) return { unknown: `${p} is not realised` };
        // Only files inside the store are read: a link out of it would show a host file's words.
        const inStore = (f: string): boolean => realpath(f)?.startsWith('/nix/store/') ?? false;
        const dir = path.join(p, 'nix-support');
        const present = ['propagated-build-inputs', ...PROPAGATED_FILES].filter((f) => exists(path.join(dir, f)));
        const outside = present.find((f) => !inStore(path.join(dir, f)));
        if (outside) return { unknown: `${path.join(dir, outside)} links outside the store` };
        const read = (f: string): string[] => (present.includes(f) ? words(readText(path.join(dir, f))) : []);
        return {
          buildInputs: read('propagated-build-inputs'),
          other: PROPAGATED_FILES.filter((f) => read(f).length),
        };
      }
      const d = await drvOf(p);
      if (!d) return { unknown: 'no derivation among the shell inputs outputs it' };
      return {
        buildInputs: words(d.env.propagatedBuildInputs),
        other: PROPAGATED_ATTRS.filter((a) => words(d.env[a]).length),
      };
    },
    async stdenv(p) {
      const d = await drvOf(p);
      return d ? d.env : { unknown: 'no derivation among the shell inputs outputs it' };
    },
  };
}

type Lookup =
  | { dir: string; root: string; notes: string[] }
  | { missing: string; notes: string[] }
  | { unknown: string; notes: string[] };

/**
 * The first directory of the shell's PATH that holds `word`, the way bash looks it up. A directory that is not a
 * store path (before the caller's PATH) may hold anything: cannot follow. `known`: directories eval mode may pass
 * without looking into them (the wrapper's own).
 */
function firstInShell(word: string, dirs: readonly string[], view: HostView, known: ReadonlySet<string>): Lookup {
  const passed: string[] = [];
  for (const dir of dirs) {
    if (dir === OUTER_PATH)
      return { missing: `not on the shell's own PATH: only the caller's PATH (after it) could have it`, notes: [] };
    if (!dir.startsWith('/nix/store/') || path.posix.normalize(dir) !== dir.replace(/(.)\/+$/, '$1'))
      return {
        unknown: `PATH entry ${dir} (not a store path) comes before any bin/${word} of the shell: what it holds is state of the developer's machine`,
        notes: [],
      };
    const r = resolveProgram(word, [dir], view);
    if (r.root) {
      const unseen = view.mode === 'eval' ? passed.filter((d) => !known.has(d)) : [];
      if (unseen.length)
        return {
          unknown: `eval mode: earlier PATH entr${unseen.length === 1 ? 'y' : 'ies'} ${unseen.map((d) => parseStorePath(d)?.name ?? d).join(', ')} may hold bin/${word} (a build looks into them)`,
          notes: [],
        };
      return { dir, root: r.root, notes: r.notes };
    }
    passed.push(dir);
  }
  return { missing: 'not on the PATH', notes: [] };
}

/** Judges one dev shell. `expected`: the store path the program must come from (entrypoint-parity's). */
export async function devShellReaches(
  ctx: RunContext,
  consumer: DevShellConsumer,
  expected: string,
  pkgOut: string,
): Promise<DevShellFinding> {
  const out: DevShellFinding = { problems: [], evidence: [], unknowns: [] };
  const { program } = ctx.claim.shared;
  const mode = ctx.settings.mode;
  const got = await devShellRun(ctx, consumer);
  if ('problem' in got) return { ...out, problems: [got.problem] };
  out.evidence.push(...got.evidence);
  if ('cannotFollow' in got) return { ...out, unknowns: [`${consumer.name}: cannot follow: ${got.cannotFollow}`] };
  const shown = got.path.dirs.map((d) => (d === OUTER_PATH ? '$nix_saved_PATH' : d)).join(':');
  out.evidence.push(...got.path.steps.map((s) => `${consumer.name}: ${s}`), `${consumer.name}: PATH=${shown}`);
  const view: HostView = { mode, facts: await ctx.hostFacts(ctx.settings.hosts[0]) };
  // The wrapper's own PATH directories (path-superset's), which eval mode may pass over.
  const wrapper = (await ctx.wrapperRun()).outcome;
  const wrapperDirs = wrapper.ok ? wrapper.entries : [];
  const known = new Set([`${pkgOut}/bin`, ...wrapperDirs]);
  const judge = (word: string, want: string, what: string): void => {
    const r = firstInShell(word, got.path.dirs, view, known);
    if ('unknown' in r) out.unknowns.push(`${consumer.name}: ${what}: cannot follow: ${r.unknown}`);
    else if ('missing' in r) out.problems.push(`${consumer.name}: ${what} ${r.missing}`);
    else if (r.root !== want) out.problems.push(`${consumer.name}: ${what} resolves to ${r.dir}, not ${want}`);
    else out.evidence.push(`${consumer.name}: ${what} → ${r.dir}`, ...r.notes.map((n) => `${consumer.name}: ${n}`));
  };
  judge(program, expected, program);
  if (!consumer.toolsOnPath) return out;
  if (!wrapper.ok) {
    out.unknowns.push(`${consumer.name}: the tools: the wrapper's PATH is not known (see path-superset)`);
    return out;
  }
  for (const p of compareTools(ctx.claim.expectedTools.entries, wrapperDirs).present) {
    const root = parseStorePath(p.dir)?.root ?? p.dir;
    const bins =
      mode === 'build' ? (isDir(p.dir) ? listDir(p.dir) : []) : [packageOf(parseStorePath(p.dir)!.name).pname];
    for (const b of bins)
      judge(
        b,
        mode === 'build' ? (storeRootOf(path.join(p.dir, b)) ?? root) : root,
        `${b} (${p.expected}, the wrapper's ${p.dir})`,
      );
  }
  return out;
}

/** The shell's derivation and the PATH `nix develop` gives it (build mode realises its inputs first). */
export async function devShellRun(
  ctx: RunContext,
  consumer: DevShellConsumer,
): Promise<
  | { problem: string }
  | { cannotFollow: string; evidence: string[] }
  | { path: DevShellPath; drvPath: string; evidence: string[] }
> {
  const drv = await ctx.nix.evalJson<{ drvPath: string } | null>(
    consumer.attr,
    'd: if builtins.isAttrs d && d ? drvPath then { drvPath = d.drvPath; } else null',
  );
  if (!drv) return { problem: `${consumer.name}: ${consumer.attr} is not a derivation` };
  const evidence = [`${consumer.name}: ${consumer.attr} = ${drv.drvPath}`];
  const shell = await ctx.nix.derivation(drv.drvPath);
  if (ctx.settings.mode === 'build') {
    // What `nix develop` does first: realise every input (the shell itself is never built).
    const built = await ctx.nix.buildDrvs(shell.inputDrvs);
    if (!built.ok)
      return {
        problem: `${consumer.name}: the inputs of ${consumer.attr} do not build: ${built.error?.message.split('\n')[0] ?? 'failed'}`,
      };
    evidence.push(`${consumer.name}: realised its ${shell.inputDrvs.length} input derivations (as nix develop does)`);
  }
  const result = await devShellPath(shellFacts(ctx.settings.mode, drv.drvPath, shell, (d) => ctx.nix.derivation(d)));
  if (!result.ok) return { cannotFollow: result.cannotFollow, evidence: [...evidence, ...result.steps] };
  return { path: result, drvPath: drv.drvPath, evidence };
}
