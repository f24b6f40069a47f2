// Eval mode: the files a derivation will output, read from its environment (`nix derivation show`), for the
// builders listed in ./index.ts. Nothing is built; what the model does not know is "cannot follow".
import type { DerivationInfo } from '../nix/client.js';
import { packageOf, parseStorePath } from '../parse/storePath.js';
import type { Stmt, Word } from '../shell/ast.js';
import { parseScript } from '../shell/parse.js';
import { hiddenName, renderMakeWrapper } from './makeWrapper.js';
import type { FileFact, WrapperFiles } from './types.js';

/** What a derivation writes at one path of its output. */
type Node =
  | { t: 'text'; text: string; source: string; executable: boolean }
  | { t: 'link'; target: string }
  | { t: 'wrapper'; text: string; source: string };

/** A derivation's output as far as the model knows it. */
type Tree =
  | { t: 'files'; nodes: Map<string, Node>; farms: Farm[] }
  /** A package built by a builder the model does not read: known only by its name. */
  | { t: 'opaque'; name: string; drv: string; why: string }
  | { t: 'cannot'; reason: string };

/** Trees linked in: symlinkJoin/lndir (first one wins), buildEnv (lowest priority number wins, then first). */
interface Farm {
  kind: 'lndir' | 'buildEnv';
  members: { path: string; priority: number }[];
  where: string;
}

const SHELL_SCRIPT = /^#!\s*\S*\/(ba|da)?sh\b/;
const HARMLESS = new Set(['mkdir', 'chmod', 'echo', 'printf', 'true', ':', 'set', 'shopt', 'runHook']);
const MAKE_WRAPPER = new Set(['makeWrapper', 'makeShellWrapper']);
const WRAP_PROGRAM = new Set(['wrapProgram', 'wrapProgramShell']);
const BINARY_WRAPPER = new Set(['makeBinaryWrapper', 'wrapProgramBinary']);

type DrvSource = (drvPath: string) => Promise<DerivationInfo>;

/** Reads files of store paths from the derivations reachable from `roots` (their outputs and inputs). */
export class DerivationFiles implements WrapperFiles {
  readonly notes: string[] = [];
  private readonly byOut = new Map<string, { drv: string; output: string }>();
  private readonly seen = new Set<string>();
  private readonly pending: string[];
  private readonly trees = new Map<string, Promise<Tree>>();

  constructor(
    private readonly derivation: DrvSource,
    roots: readonly string[],
  ) {
    this.pending = [...roots];
  }

  /** The derivation and output name that produce a store root, searching inputs breadth-first. */
  private async producer(root: string): Promise<{ drv: string; output: string } | undefined> {
    while (!this.byOut.has(root) && this.pending.length) {
      const drv = this.pending.shift()!;
      if (this.seen.has(drv)) continue;
      this.seen.add(drv);
      const d = await this.derivation(drv);
      for (const [output, out] of Object.entries(d.outputs)) this.byOut.set(out, { drv, output });
      this.pending.push(...d.inputDrvs);
    }
    return this.byOut.get(root);
  }

  private tree(root: string): Promise<Tree> {
    let t = this.trees.get(root);
    if (!t) {
      t = this.buildTree(root);
      this.trees.set(root, t);
    }
    return t;
  }

  private async buildTree(root: string): Promise<Tree> {
    const p = await this.producer(root);
    if (!p) return { t: 'cannot', reason: `no derivation reachable from the shared package outputs ${root}` };
    const d = await this.derivation(p.drv);
    const env = d.env;
    const name = parseStorePath(root)?.name ?? root;
    // writeTextFile (writeShellApplication, writeShellScriptBin, writeScriptBin): `text` at `$out$destination`.
    if (env.text !== undefined && env.destination !== undefined && p.output === 'out') {
      const nodes = new Map<string, Node>();
      const executable = env.executable === '1' || env.executable === 'true';
      nodes.set(env.destination === '' ? '' : env.destination, {
        t: 'text',
        text: env.text,
        source: `${p.drv} (text attribute → $out${env.destination})`,
        executable,
      });
      return { t: 'files', nodes, farms: [] };
    }
    // buildEnv: nixpkgs' builder.pl reads `pkgs` (JSON: paths and priority); the fixture's reads `manifest`.
    if (env.pathsToLink !== undefined && (env.pkgs !== undefined || env.manifest !== undefined)) {
      const members = buildEnvMembers(env);
      if ('error' in members) return { t: 'cannot', reason: `${p.drv}: ${members.error}` };
      const toLink = env.pathsToLink.split(/\s+/).filter(Boolean);
      if (!toLink.some((x) => x === '/' || x === '/bin')) return { t: 'files', nodes: new Map(), farms: [] };
      return { t: 'files', nodes: new Map(), farms: [{ kind: 'buildEnv', members, where: `${p.drv} (buildEnv)` }] };
    }
    if (env.buildCommand !== undefined) return this.runBuildCommand(p.drv, root, env);
    const phases = ['installPhase', 'postInstall', 'postBuild', 'postFixup'].filter(
      (k) => env[k] !== undefined && env[k] !== '',
    );
    const why = phases.length
      ? `built by stdenv phases (${phases.join(', ')}), which eval mode does not run`
      : `built by ${env.builder ?? 'its builder'}${env.args ? ' with its own script' : ''}, which eval mode does not read`;
    return { t: 'opaque', name, drv: p.drv, why };
  }

  /** runCommand / symlinkJoin: `buildCommand` walked statement by statement. */
  private async runBuildCommand(drv: string, root: string, env: Record<string, string>): Promise<Tree> {
    const outputs = (await this.derivation(drv)).outputs;
    const vars: Record<string, string> = { ...env, ...outputs };
    const out = outputs.out;
    if (root !== out)
      return { t: 'cannot', reason: `${drv}: output ${root} is not \`out\`; eval mode models only \`$out\`` };
    const nodes = new Map<string, Node>();
    const farms: Farm[] = [];
    const tree: Tree = { t: 'files', nodes, farms };
    const where = (label: string, text: string, pos: number): string =>
      `${drv} (${label}, line ${text.slice(0, pos).split('\n').length})`;
    const walk = async (text: string, label: string): Promise<string | undefined> => {
      const parsed = await parseScript(text);
      if ('error' in parsed) return `${label} is not valid shell at line ${parsed.error.line}`;
      for (const stmt of parsed.list) {
        const problem = await step(stmt, text, label);
        if (problem) return problem;
      }
      return undefined;
    };
    const rel = (p: string): string | undefined =>
      p === out ? '' : p.startsWith(`${out}/`) ? p.slice(out.length) : undefined;
    const lookupRel = async (r: string): Promise<FileFact> => this.lookup(tree, r, `${out}${r}`);
    const step = async (stmt: Stmt, text: string, label: string): Promise<string | undefined> => {
      const at = where(label, text, stmt.pos);
      const src = text.slice(stmt.pos, stmt.end).trim();
      const cannot = (why: string): string => `\`${src.split('\n')[0]}\` at ${at}: ${why}`;
      if (stmt.background) return cannot('a background job');
      const cmd = stmt.cmd;
      if (cmd.k === 'for') {
        const farm = linkFarmLoop(cmd, vars);
        if (!farm) return cannot('a loop eval mode does not model (it models the symlinkJoin link-farm loop)');
        farms.push({ kind: 'lndir', members: farm.map((path) => ({ path, priority: 0 })), where: at });
        return undefined;
      }
      if (cmd.k !== 'simple') return cannot('a compound command eval mode does not model');
      if (cmd.redirs.length) return cannot('a redirection: eval mode does not know what it writes');
      const words: string[] = [];
      for (const w of cmd.words) {
        const fields = expandWord(w, vars);
        if (fields === undefined) return cannot('a word computed at build time');
        words.push(...fields);
      }
      for (const a of cmd.assigns) {
        const v = a.value ? expandWord(a.value, vars, false) : [''];
        if (v === undefined || a.array) return cannot(`${a.name} is computed at build time`);
        if (words.length === 0) vars[a.name] = (a.append ? (vars[a.name] ?? '') : '') + v.join('');
      }
      if (words.length === 0) return undefined;
      const program = words[0].slice(words[0].lastIndexOf('/') + 1);
      const args = words.slice(1);
      if (HARMLESS.has(program)) return undefined;
      if (program === 'eval' && cmd.words.length === 2) {
        // `eval "$postBuild"`: the variable's text, run here.
        const name = /^"?\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?"?$/.exec(text.slice(cmd.words[1].pos, cmd.words[1].end))?.[1];
        if (name && env[name] !== undefined) return walk(env[name], `${label} → $${name}`);
        return cannot('eval of text eval mode does not know');
      }
      if (program === 'lndir' && args.length === 3 && args[0] === '-silent' && args[2] === out) {
        farms.push({ kind: 'lndir', members: [{ path: args[1], priority: 0 }], where: at });
        return undefined;
      }
      if (program === 'ln' && (args[0] === '-s' || args[0] === '-sf' || args[0] === '-sfn') && args.length === 3) {
        const r = rel(args[2]);
        if (r === undefined || args[2].endsWith('/')) return cannot('a link outside $out/<file>');
        if (args[0] === '-s' && (await lookupRel(r)).kind !== 'missing')
          return cannot(`${args[2]} exists already (ln fails or links inside it)`);
        nodes.set(r, { t: 'link', target: args[1] });
        return undefined;
      }
      if (BINARY_WRAPPER.has(program))
        return cannot(
          'a compiled wrapper (makeBinaryWrapper): its environment is in a binary; build mode reads the built file',
        );
      if (MAKE_WRAPPER.has(program) || WRAP_PROGRAM.has(program)) {
        const wrapProgram = WRAP_PROGRAM.has(program);
        const target = wrapProgram ? args[0] : args[1];
        if (target === undefined || (!wrapProgram && args[0] === undefined))
          return cannot(`${program} without its arguments (the build fails)`);
        const r = rel(target);
        if (r === undefined) return cannot(`${program} writes ${target}, outside $out`);
        let original: string;
        let flags: string[];
        if (wrapProgram) {
          const prog = await lookupRel(r);
          if (prog.kind === 'missing') return cannot(`${target} does not exist (assertExecutable fails the build)`);
          if (prog.kind === 'cannot-follow') return `${prog.reason} (wrapProgram at ${at})`;
          const hiddenRel = rel(hiddenName(target, (h) => nodes.has(rel(h)!)))!;
          // `mv "$prog" "$hidden"`: a link moves as a link, a file as the file.
          nodes.set(hiddenRel, nodeOf(prog, `${out}${r}`));
          original = `${out}${hiddenRel}`;
          flags = ['--inherit-argv0', ...args.slice(1)];
        } else {
          original = args[0]!;
          flags = args.slice(2);
        }
        const rendered = renderMakeWrapper(original, flags, env.SHELL ?? env.shell ?? '/bin/bash');
        if (!rendered.ok) return cannot(rendered.reason);
        // `--run` text is written into the wrapper verbatim: the shell model reads it like the rest of the script.
        if (rendered.buildTimeFiles.length)
          return cannot(
            `--prefix/--suffix-contents read ${rendered.buildTimeFiles.join(' ')} at build time; build mode reads the built file`,
          );
        nodes.set(r, { t: 'wrapper', text: rendered.text, source: `${out}${r} as ${program} at ${at} writes it` });
        return undefined;
      }
      return cannot(`\`${program}\` is outside what eval mode models in a builder; build mode reads the built file`);
    };
    const problem = await walk(env.buildCommand, 'buildCommand');
    return problem ? { t: 'cannot', reason: problem } : tree;
  }

  /** A file of a tree, following what is linked in. */
  private async lookup(tree: Tree, r: string, full: string): Promise<FileFact> {
    if (tree.t === 'cannot') return { kind: 'cannot-follow', reason: tree.reason };
    if (tree.t === 'opaque') {
      const base = r.startsWith('/bin/') ? r.slice(5) : undefined;
      if (base !== undefined && !base.includes('/') && packageOf(tree.name).pname === base) {
        return {
          kind: 'opaque',
          path: full,
          reason: `${tree.drv} is ${tree.why}; eval mode knows ${tree.name} only by its package name`,
        };
      }
      return {
        kind: 'unlisted',
        path: full,
        reason: `${tree.drv} is ${tree.why}: eval mode knows ${tree.name} only by its package name, which is not ${base ?? r}`,
      };
    }
    const node = tree.nodes.get(r);
    if (node) {
      if (node.t === 'link')
        return this.file(
          node.target.startsWith('/') ? node.target : `${full.slice(0, full.lastIndexOf('/'))}/${node.target}`,
        );
      if (node.t === 'wrapper') return { kind: 'script', path: full, text: node.text, source: node.source };
      return SHELL_SCRIPT.test(node.text) && node.executable
        ? { kind: 'script', path: full, text: node.text, source: node.source }
        : { kind: 'program', path: full, source: node.source };
    }
    for (const farm of tree.farms) {
      const found: { fact: FileFact; priority: number }[] = [];
      for (const m of farm.members) {
        const fact = await this.file(`${m.path}${r}`);
        if (fact.kind === 'missing') continue;
        if (fact.kind === 'cannot-follow') return fact;
        if (fact.kind === 'unlisted') {
          this.note(`${farm.where}: ${fact.reason} (taken as not providing ${r})`);
          continue;
        }
        found.push({ fact, priority: m.priority });
      }
      if (!found.length) continue;
      // builder.pl: the lowest priority number wins; lndir and equal priorities keep the first.
      const best = found.reduce((a, b) => (b.priority < a.priority ? b : a));
      return best.fact;
    }
    return { kind: 'missing', path: full, reason: `${full} is not among what its derivation writes` };
  }

  private note(line: string): void {
    if (!this.notes.includes(line)) this.notes.push(line);
  }

  async file(path: string): Promise<FileFact> {
    const sp = parseStorePath(path);
    if (!sp) return { kind: 'cannot-follow', reason: `${path} is not a store path` };
    return this.lookup(await this.tree(sp.root), sp.subPath.replace(/\/+$/, ''), path);
  }
}

/** A moved file keeps what it is: a link stays a link to the same file. */
function nodeOf(fact: FileFact, from: string): Node {
  if (fact.kind === 'script') return { t: 'wrapper', text: fact.text, source: `${fact.source}, moved from ${from}` };
  return { t: 'link', target: 'path' in fact ? fact.path : from };
}

/** buildEnv's members: nixpkgs' `pkgs` JSON ([{paths, priority}]) or the fixture's `manifest` lines. */
function buildEnvMembers(env: Record<string, string>): { path: string; priority: number }[] | { error: string } {
  if (env.pkgs !== undefined) {
    try {
      const pkgs = JSON.parse(env.pkgs) as { paths: string[]; priority?: number }[];
      return pkgs.flatMap((p) => p.paths.map((path) => ({ path, priority: p.priority ?? 5 })));
    } catch {
      return { error: 'buildEnv `pkgs` is not JSON' };
    }
  }
  return env.manifest
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [prio, path] = l.trim().split(/\s+/);
      return { path: path, priority: Number(prio) };
    });
}

/**
 * Word expansion with known variables only: literal text, `$NAME`/`${NAME}` of a known variable (unquoted
 * values split on blanks). Anything else (command substitution, operators, unknown names) is undefined.
 */
function expandWord(word: Word, vars: Record<string, string>, split = true): string[] | undefined {
  const fields: string[] = [];
  let cur = '';
  let started = false;
  for (const part of word.parts) {
    if (part.k === 'lit') {
      cur += part.v;
      started = true;
    } else if (part.k === 'param' && part.op === undefined && !part.unsupported && vars[part.name] !== undefined) {
      const v = vars[part.name];
      if (part.quoted || !split) {
        cur += v;
        started = true;
      } else {
        const pieces = v.split(/[ \t\n]+/);
        for (let i = 0; i < pieces.length; i++) {
          if (i > 0) {
            if (started || cur !== '') fields.push(cur);
            cur = '';
            started = false;
          }
          if (pieces[i] !== '') {
            cur += pieces[i];
            started = true;
          }
        }
      }
    } else {
      return undefined;
    }
  }
  if (started || cur !== '') fields.push(cur);
  return fields;
}

/**
 * symlinkJoin's loop: `for i in $paths` / `$(cat $pathsPath)` / `$pathsList`, whose body links `$i` into `$out`
 * (`lndir -silent $i $out`, or `cp -rsn "$i"/. "$out"/`, with `|| true` and `chmod -R u+w "$out"`). The members.
 */
function linkFarmLoop(cmd: Extract<Stmt['cmd'], { k: 'for' }>, vars: Record<string, string>): string[] | undefined {
  if (!cmd.items) return undefined;
  const items: string[] = [];
  for (const w of cmd.items) {
    const subst =
      w.parts.length === 1 && w.parts[0].k === 'cmdsubst'
        ? w.parts[0].text.replace(/^\$\(|\)$/g, '').trim()
        : undefined;
    if (subst !== undefined) {
      const m = /^cat "?\$\{?([A-Za-z_]+)Path\}?"?$/.exec(subst);
      if (!m || vars[m[1]] === undefined) return undefined;
      items.push(...vars[m[1]].split(/\s+/).filter(Boolean));
      continue;
    }
    const f = expandWord(w, vars);
    if (!f) return undefined;
    items.push(...f);
  }
  const i = cmd.name;
  const out = vars.out;
  const bodyOk = cmd.body.every((s) => {
    const c = s.cmd.k === 'andor' && s.cmd.op === '||' ? s.cmd.left : s.cmd;
    if (c.k !== 'simple') return false;
    const w = c.words.map((x) => expandWord(x, { ...vars, [i]: '\u0000I' }, false)?.join(''));
    const prog = w[0]?.slice(w[0].lastIndexOf('/') + 1);
    if (prog === 'lndir') return w.length === 4 && w[1] === '-silent' && w[2] === '\u0000I' && w[3] === out;
    if (prog === 'cp')
      return w.length === 4 && w[1] === '-rsn' && w[2] === '\u0000I/.' && (w[3] === `${out}/` || w[3] === out);
    if (prog === 'chmod') return true;
    return false;
  });
  if (!bodyOk || !items.every((x) => parseStorePath(x))) return undefined;
  return items;
}
