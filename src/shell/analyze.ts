// Abstract interpretation of a parsed script: walks commands in execution order, keeping variables, exports,
// the working directory and PATH as symbolic values, and records what each simple command runs with.
//
// Decisions (the full list is at the top of index.ts):
// - Branches (if/elif/else, case arms, loop bodies, the right side of && and ||) run on copies of the state that
//   are merged afterwards; a variable that differs between the paths becomes unknown ("assigned conditionally").
//   Loops are taken zero or one time.
// - Functions are analysed where they are called (inlined; recursion is reported, not followed). Their commands
//   inherit the call site's conditionality.
// - Subshells, pipeline elements, background jobs and command substitutions run on copies that are discarded.
// - After an unconditional `exec PROGRAM` or `exit`, later statements are dropped into `unreachable`.
// - `eval`, `source`/`.` are unfollowable and make every variable (PATH included) and the cwd unknown afterwards.

import { literalOf, type Cmd, type List, type Redir, type Word } from './ast.js';
import { expandFields, expandJoined, type Scope } from './expand.js';
import { joinCwd } from './dirs.js';
import { peelWrappers } from './launch.js';
import {
  Unknown,
  type AnalyzeOptions,
  type Invocation,
  type PathValue,
  type ShellAnalysis,
  type ShellEnv,
  type ShellIssue,
} from './types.js';
import {
  concrete,
  firstUnknown,
  firstUnknownSeg,
  fromPathEntries,
  inherited,
  norm,
  renderVal,
  sameVal,
  str,
  toPathValue,
  unk,
  type Val,
} from './value.js';

interface State {
  /** null: unset by the script. Names absent from the map come from the caller's environment (unknown). */
  vars: Map<string, Val | null>;
  assignedAt: Map<string, number>;
  exported: Set<string>;
  allexport: boolean;
  cwd: string | Unknown;
  funcs: Map<string, Cmd>;
  /** Set after eval/source: why a variable the script did not assign since is unknown. */
  taint?: string;
  dead?: { kind: 'exec' | 'exit' | 'return'; line: number };
  /** Later commands run only if an earlier branch did not exec/exit. */
  skipReason?: string;
  /** Aliases by name: their text (undefined: not known), the top-level command that defined them, the line. */
  aliases: Map<string, { value?: string; top: number; line: number; why?: string }>;
  /**
   * expand_aliases: on in POSIX mode, off in a bash script until `shopt -s expand_aliases`; 'unknown' after a
   * conditional shopt.
   */
  expandAliases: boolean | 'unknown';
  /** A pending `trap … EXIT` handler: it runs when the shell exits, never after a successful exec. */
  exitTrap?: { line: number; text: string };
  /** Same for a `return` in a branch: holds only until the function ends. */
  returnSkip?: string;
  /**
   * Names `hash -p FILE NAME` bound to a file (the line): bash runs FILE for NAME until `hash -r`/`-d` or a PATH
   * assignment.
   */
  hashed: Map<string, number>;
}

interface Ctx {
  cond?: string;
  /** The command runs at the same time as others: a pipeline element, a background job. */
  alongside?: string;
  calledFrom: number[];
  fnStack: string[];
  locals?: Map<string, Val | null | undefined>;
  returns?: State[];
  /**
   * First line of the top-level command being parsed (bash reads whole lines first: aliases defined on them apply
   * after).
   */
  top?: number;
  /** Last line of the top-level command being executed (a function body runs within its caller's). */
  runTop?: number;
}

/** POSIX special builtins: in POSIX mode bash finds them before functions of the same name. */
const SPECIAL_BUILTINS = new Set([
  'break',
  ':',
  '.',
  'continue',
  'eval',
  'exec',
  'exit',
  'export',
  'readonly',
  'return',
  'set',
  'shift',
  'times',
  'trap',
  'unset',
]);

/** An alias value the analysis can expand: plain words, no quoting, expansion or operators, not ending in a blank. */
const PLAIN_ALIAS = /^[A-Za-z0-9_/.=:+@%,-]+(?: +[A-Za-z0-9_/.=:+@%,-]+)*$/;

const SHELL_BUILTINS = new Set([
  ':',
  '.',
  'alias',
  'bg',
  'builtin',
  'cd',
  'command',
  'declare',
  'dirs',
  'disown',
  'echo',
  'eval',
  'exec',
  'exit',
  'export',
  'false',
  'fg',
  'getopts',
  'hash',
  'jobs',
  'kill',
  'let',
  'local',
  'mapfile',
  'popd',
  'printf',
  'pushd',
  'pwd',
  'read',
  'readarray',
  'readonly',
  'return',
  'set',
  'shift',
  'shopt',
  'source',
  'test',
  '[',
  'times',
  'trap',
  'true',
  'type',
  'typeset',
  'ulimit',
  'umask',
  'unalias',
  'unset',
  'wait',
]);

function clone(s: State): State {
  return {
    ...s,
    vars: new Map(s.vars),
    assignedAt: new Map(s.assignedAt),
    exported: new Set(s.exported),
    funcs: new Map(s.funcs),
    aliases: new Map(s.aliases),
    hashed: new Map(s.hashed),
    ...(s.dead ? { dead: { ...s.dead } } : {}),
  };
}

function adopt(target: State, src: State): void {
  delete target.dead;
  delete target.skipReason;
  delete target.returnSkip;
  delete target.taint;
  Object.assign(target, src);
}

type Field = { val: Val; decl?: { name: string; append: boolean; value?: Val } };

export class Analyzer {
  private readonly lineStarts: number[] = [0];
  private readonly out: ShellAnalysis;
  private readonly seenIssues = new Set<string>();
  /** The top-level command that defined each function body (its aliases were expanded when it was parsed). */
  private readonly definedAt = new WeakMap<Cmd, number>();

  constructor(
    private readonly src: string,
    private readonly options: AnalyzeOptions = {},
  ) {
    for (let i = 0; i < src.length; i++) if (src[i] === '\n') this.lineStarts.push(i + 1);
    this.out = {
      invocations: [],
      unfollowable: [],
      unreachable: [],
      allexportLines: [],
      finalEnv: undefined as unknown as ShellEnv,
    };
  }

  run(list: List): ShellAnalysis {
    const state: State = {
      vars: new Map(),
      assignedAt: new Map(),
      exported: new Set(['PATH']),
      allexport: false,
      cwd: '.',
      funcs: new Map(),
      aliases: new Map(),
      expandAliases: this.options.shell === 'sh',
      hashed: new Map(),
    };
    const start = this.options.inheritedPath;
    state.vars.set('PATH', start === undefined || start === 'inherited' ? inherited() : fromPathEntries(start));
    for (const [k, v] of Object.entries(this.options.knownVars ?? {})) {
      state.vars.set(k, str(v));
      state.exported.add(k);
    }
    this.runList(list, state, { calledFrom: [], fnStack: [] }, true);
    // bash(1) SIGNALS/trap: the EXIT handler runs when the shell exits; a successful exec replaces the shell first.
    if (state.exitTrap && state.dead?.kind !== 'exec') {
      this.issue(
        this.out.unfollowable,
        state.exitTrap.line,
        state.exitTrap.text,
        'the EXIT trap handler runs when the script ends (no exec replaces the shell before) and is not analysed',
      );
    }
    this.out.finalEnv = this.envOf(state);
    return this.out;
  }

  // ---- positions and reporting ----

  lineOf(offset: number): number {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }

  private textOf(node: { pos: number; end: number }): string {
    return this.src.slice(node.pos, node.end).trim();
  }

  private lineText(line: number): string {
    const start = this.lineStarts[line - 1] ?? 0;
    const end = this.src.indexOf('\n', start);
    return this.src.slice(start, end < 0 ? undefined : end).trim();
  }

  private issue(list: ShellIssue[], line: number, text: string, reason: string): void {
    const key = `${list === this.out.unreachable ? 'u' : 'f'}:${line}:${reason}`;
    if (this.seenIssues.has(key)) return;
    this.seenIssues.add(key);
    list.push({ line, text, reason });
  }

  // ---- state helpers ----

  private lookup(state: State, name: string): Val | null {
    if (state.vars.has(name)) return state.vars.get(name)!;
    if (state.taint) return unk(`$${name}`, `${name} may have been changed by ${state.taint}`);
    return unk(`$${name}`, `${name} comes from the caller's environment`);
  }

  private setVar(state: State, name: string, val: Val | null, line: number, text: string): void {
    const before = state.vars.get(name);
    state.vars.set(name, val);
    state.assignedAt.set(name, line);
    if (state.allexport && val !== null) state.exported.add(name);
    // bash clears its command hash table when PATH is assigned (`hash -p` bindings included).
    if (name === 'PATH') state.hashed.clear();
    if (name === 'PATH' && val !== null) {
      // Report a run-time PATH once, where its unknown piece enters (not again for `PATH=${PATH%':'}` after it).
      const u = firstUnknownSeg(val);
      const key = (x: { why: string; reason?: string }) => x.reason ?? x.why;
      const inherited = u !== undefined && before?.some((s) => s.t === 'unk' && key(s) === key(u));
      if (u && !inherited)
        this.issue(this.out.unfollowable, line, text, `PATH is assigned a value computed at run time (${u.why})`);
    }
  }

  private pathOf(state: State): PathValue {
    // (Unknown pieces whose reason starts with "PATH " describe PATH itself and are reported as they are.)
    const line = state.assignedAt.get('PATH');
    return toPathValue(
      this.lookup(state, 'PATH'),
      `PATH is unset${line ? ` (line ${line})` : ''}: lookup falls back to the shell's built-in default and children get no PATH`,
    );
  }

  private scope(state: State, ctx: Ctx, line: number, text: string): Scope {
    return {
      lookup: (name) => this.lookup(state, name),
      assign: (name, val) => this.setVar(state, name, val, line, text),
      onCommandSubst: (body) =>
        this.runList(body, clone(state), { ...ctx, cond: ctx.cond ?? state.skipReason ?? state.returnSkip }),
    };
  }

  private envOf(state: State): ShellEnv {
    const vars = new Map<string, string | Unknown>();
    for (const [k, v] of state.vars) {
      if (v === null) continue;
      const c = concrete(v);
      vars.set(
        k,
        c ??
          new Unknown(
            firstUnknown(v) ? `computed at run time: ${renderVal(v)}` : `holds the caller's PATH: ${renderVal(v)}`,
          ),
      );
    }
    return { vars, exported: new Set(state.exported), allexport: state.allexport, path: this.pathOf(state) };
  }

  /** Joins the states of the paths through a construct. */
  private merge(states: State[], where: string): State {
    const live = states.filter((s) => !s.dead);
    if (live.length === 0) return states[0];
    const base = clone(live[0]);
    const deadOne = states.find((s) => s.dead);
    if (deadOne) {
      const reason = `reached only if the ${deadOne.dead!.kind} at line ${deadOne.dead!.line} did not run`;
      if (deadOne.dead!.kind === 'return') base.returnSkip ??= reason;
      else base.skipReason ??= reason;
    }
    const names = new Set(live.flatMap((s) => [...s.vars.keys()]));
    for (const name of names) {
      const vals = live.map((s) => (s.vars.has(name) ? s.vars.get(name) : undefined));
      if (vals.every((v) => sameVal(v, vals[0]))) continue;
      const line = Math.max(...live.map((s) => s.assignedAt.get(name) ?? 0));
      const reason = `${name} is assigned conditionally at line ${line} (${where}); its value afterwards depends on the path taken`;
      base.vars.set(name, unk(`$${name}`, reason));
      base.assignedAt.set(name, line);
      if (name === 'PATH')
        this.issue(
          this.out.unfollowable,
          line,
          this.lineText(line),
          `PATH assigned ${where}: PATH after it depends on which path ran`,
        );
    }
    for (const s of live) for (const e of s.exported) base.exported.add(e);
    base.allexport = live.some((s) => s.allexport);
    if (!live.every((s) => s.cwd === live[0].cwd)) base.cwd = new Unknown(`cd ${where}`);
    for (const s of live) for (const [k, v] of s.funcs) base.funcs.set(k, v);
    // A name bound by `hash -p` on any path that ran stays bound for what follows.
    for (const s of live) for (const [k, v] of s.hashed) base.hashed.set(k, v);
    const aliasNames = new Set(live.flatMap((s) => [...s.aliases.keys()]));
    for (const n of aliasNames) {
      const defs = live.map((s) => s.aliases.get(n));
      if (defs.every((d) => d && d.value === defs[0]!.value)) continue;
      const any = defs.find((d) => d)!;
      base.aliases.set(n, {
        top: Math.max(...defs.map((d) => d?.top ?? 0)),
        line: any.line,
        why: `alias ${n} is defined or removed ${where}`,
      });
    }
    if (live.some((s) => s.expandAliases !== live[0].expandAliases)) base.expandAliases = 'unknown';
    if (live.some((s) => s.exitTrap?.line !== live[0].exitTrap?.line))
      base.exitTrap = live.find((s) => s.exitTrap)!.exitTrap!;
    base.taint = live.find((s) => s.taint)?.taint;
    if (!base.taint) delete base.taint;
    const skip = live.find((s) => s.skipReason)?.skipReason;
    if (skip) base.skipReason = skip;
    const rskip = live.find((s) => s.returnSkip)?.returnSkip;
    if (rskip) base.returnSkip = rskip;
    return base;
  }

  // ---- walking ----

  runList(list: List, state: State, ctx: Ctx, top = false): void {
    for (const stmt of list) {
      // bash reads whole lines (and whole compound commands) before running any of them.
      if (top) ctx = { ...ctx, top: this.lineOf(stmt.pos), runTop: this.lineOf(Math.max(stmt.pos, stmt.end - 1)) };
      if (state.dead) {
        const line = this.lineOf(stmt.pos);
        this.issue(
          this.out.unreachable,
          line,
          this.textOf(stmt),
          `after the ${state.dead.kind} at line ${state.dead.line}`,
        );
        continue;
      }
      if (stmt.background)
        this.runCmd(stmt.cmd, clone(state), {
          ...ctx,
          alongside: ctx.alongside ?? `in the background (line ${this.lineOf(stmt.pos)})`,
        });
      else this.runCmd(stmt.cmd, state, ctx);
    }
  }

  private condCtx(ctx: Ctx, reason: string): Ctx {
    return { ...ctx, cond: ctx.cond ?? reason };
  }

  private runCmd(cmd: Cmd, state: State, ctx: Ctx): void {
    const line = this.lineOf(cmd.pos);
    switch (cmd.k) {
      case 'simple': {
        this.runSimple(cmd, state, ctx);
        return;
      }
      case 'not': {
        this.runCmd(cmd.cmd, state, ctx);
        return;
      }
      case 'pipe':
        // Every element of a pipeline runs in its own subshell (bash without lastpipe).
        for (const c of cmd.cmds)
          this.runCmd(
            c,
            clone(state),
            cmd.cmds.length > 1 ? { ...ctx, alongside: ctx.alongside ?? `in the pipeline at line ${line}` } : ctx,
          );
        return;
      case 'andor': {
        this.runCmd(cmd.left, state, ctx);
        if (state.dead) return;
        const safe = cannotFail(cmd.left);
        if (safe && cmd.op === '||') return; // never runs
        if (safe) {
          this.runCmd(cmd.right, state, ctx);
          return;
        }
        const leftText = this.textOf(cmd.left);
        const reason = `runs only if \`${leftText}\` (line ${this.lineOf(cmd.left.pos)}) ${cmd.op === '&&' ? 'succeeds' : 'fails'}`;
        const branch = clone(state);
        this.runCmd(cmd.right, branch, this.condCtx(ctx, reason));
        adopt(state, this.merge([state, branch], `after \`${cmd.op}\` at line ${line}`));
        return;
      }
      case 'if': {
        const where = `inside the \`if\` at line ${line}`;
        const inner = this.condCtx(ctx, where);
        const outcomes: State[] = [];
        let cur = state;
        cmd.clauses.forEach((clause, k) => {
          if (k > 0) cur = clone(cur);
          // The first condition always runs; later ones only when earlier ones failed.
          this.runList(clause.cond, cur, k === 0 ? ctx : inner);
          const body = clone(cur);
          this.runList(clause.body, body, inner);
          outcomes.push(body);
        });
        const rest = clone(cur);
        if (cmd.elseBody) this.runList(cmd.elseBody, rest, inner);
        outcomes.push(rest);
        adopt(state, this.merge(outcomes, where));
        return;
      }
      case 'while': {
        const where = `inside the \`${cmd.until ? 'until' : 'while'}\` loop at line ${line}`;
        this.runList(cmd.cond, state, ctx);
        const body = clone(state);
        this.runList(cmd.body, body, this.condCtx(ctx, where));
        adopt(state, this.merge([state, body], where));
        return;
      }
      case 'for': {
        const where = `inside the \`${cmd.select ? 'select' : 'for'}\` loop at line ${line}`;
        const sc = this.scope(state, ctx, line, this.textOf(cmd));
        for (const w of cmd.items ?? []) expandFields(w, sc);
        const body = clone(state);
        if (cmd.name) body.vars.set(cmd.name, unk(`$${cmd.name}`, `${cmd.name} is a loop variable`));
        this.runList(cmd.body, body, this.condCtx(ctx, where));
        adopt(state, this.merge([state, body], where));
        return;
      }
      case 'case': {
        const where = `inside the \`case\` at line ${line}`;
        expandJoined(cmd.word, this.scope(state, ctx, line, this.textOf(cmd)));
        const outcomes = cmd.arms.map((arm) => {
          const s = clone(state);
          this.runList(arm.body, s, this.condCtx(ctx, where));
          return s;
        });
        const catchAll = cmd.arms.some((arm) => arm.patterns.some((p) => literalOf(p) === '*'));
        if (!catchAll) outcomes.push(clone(state));
        adopt(state, this.merge(outcomes, where));
        return;
      }
      case 'group': {
        this.runList(cmd.body, state, ctx);
        return;
      }
      case 'subshell': {
        this.runList(cmd.body, clone(state), ctx);
        return;
      }
      case 'func':
        // POSIX mode (bash as /bin/sh): a function name that is not a valid shell name (`cc-ci-run`) is a fatal
        // error of a non-interactive shell ("not a valid identifier"): the script stops there (bash manual,
        // "Bash POSIX Mode").
        if (this.options.shell === 'sh' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(cmd.name)) {
          if (ctx.cond === undefined && ctx.alongside === undefined && state.skipReason === undefined) {
            state.dead = { kind: 'exit', line };
            return;
          }
          this.issue(
            this.out.unfollowable,
            line,
            this.textOf(cmd),
            `a function named ${cmd.name}, which POSIX sh refuses (a fatal error), on some paths only`,
          );
          return;
        }
        state.funcs.set(cmd.name, cmd.body);
        if (ctx.top !== undefined) this.definedAt.set(cmd.body, ctx.top);
        return;
      case 'test':
        for (const body of cmd.substs ?? [])
          this.runList(body, clone(state), { ...ctx, cond: ctx.cond ?? state.skipReason ?? state.returnSkip });
        return;
      case 'redir':
        // Redirections are set up before the command runs: `done < "$(mktemp)"` runs mktemp first.
        this.expandRedirs(cmd.redirs, this.scope(state, ctx, line, this.textOf(cmd)));
        {
          this.runCmd(cmd.cmd, state, ctx);
          return;
        }
    }
  }

  private callFunction(
    name: string,
    body: Cmd,
    state: State,
    ctx: Ctx,
    line: number,
    temp: Map<string, Val | null>,
  ): void {
    if (ctx.fnStack.includes(name)) {
      this.issue(
        this.out.unfollowable,
        line,
        this.lineText(line),
        `recursive call of function ${name} is not followed`,
      );
      return;
    }
    // Prefix assignments (`X=1 f`) last for the call only; so do `local` variables.
    const saved = new Map<string, Val | null | undefined>();
    for (const [k, v] of temp) {
      saved.set(k, state.vars.has(k) ? state.vars.get(k) : undefined);
      state.vars.set(k, v);
    }
    const locals = new Map<string, Val | null | undefined>();
    const returns: State[] = [];
    const returnSkipBefore = state.returnSkip;
    const top = this.definedAt.get(body) ?? ctx.top;
    this.runCmd(body, state, {
      ...ctx,
      fnStack: [...ctx.fnStack, name],
      calledFrom: [...ctx.calledFrom, line],
      locals,
      returns,
      ...(top !== undefined ? { top } : {}),
    });
    if (returns.length > 0) {
      for (const r of returns) delete r.dead;
      adopt(state, this.merge([state, ...returns], `in function ${name}, which may return early`));
    }
    if (state.dead) return;
    if (returnSkipBefore) state.returnSkip = returnSkipBefore;
    else delete state.returnSkip;
    for (const m of [locals, saved]) {
      for (const [k, v] of m) {
        if (v === undefined) state.vars.delete(k);
        else state.vars.set(k, v);
      }
    }
  }

  private runSimple(cmd: Extract<Cmd, { k: 'simple' }>, state: State, ctx: Ctx): void {
    const line = this.lineOf(cmd.pos);
    const text = this.textOf(cmd);
    const sc = this.scope(state, ctx, line, text);
    // Prefix assignments are expanded left to right, each visible to the next.
    const temp = new Map<string, Val | null>();
    const tempScope: Scope = { ...sc, lookup: (n) => (temp.has(n) ? temp.get(n)! : sc.lookup(n)) };
    for (const a of cmd.assigns) {
      let v: Val = a.value ? expandJoined(a.value, tempScope) : unk(a.name, `${a.name} is an array`);
      if (a.append) v = norm([...(tempScope.lookup(a.name) ?? []), ...v]);
      temp.set(a.name, v);
    }
    const aliased = this.aliasOf(cmd.words[0], state, ctx, line, text);
    // An alias the analysis cannot expand is reported; the command is still recorded as written.
    const aliasWords = aliased === 'unfollowable' ? undefined : aliased;
    const fields: Field[] = cmd.words.flatMap((w: Word, k: number): Field[] => {
      if (k === 0 && aliasWords) return aliasWords.map((a) => ({ val: str(a) }));
      if (!w.decl) return expandFields(w, sc).map((val) => ({ val }));
      const value = w.decl.value ? expandJoined(w.decl.value, sc) : undefined;
      return [
        {
          val: str(w.decl.name + '='),
          decl: { name: w.decl.name, append: w.decl.append, ...(value ? { value } : {}) },
        },
      ];
    });
    this.expandRedirs(cmd.redirs, sc); // `> "$(mktemp)"` runs mktemp
    if (fields.length === 0) {
      for (const [k, v] of temp) this.setVar(state, k, v, line, text);
      return;
    }

    const launch = peelWrappers(
      fields.map((f) => f.val),
      temp,
      state.cwd,
    );
    if (launch === 'redirections-only') return; // `exec >file`: the shell goes on
    if (launch.issue) this.issue(this.out.unfollowable, line, text, launch.issue);
    const { env, exportedExtra, cleared, pathNote, cwd, exec, shellLevel, noFunctions, via } = launch;
    const ownPath = env.get('PATH');
    const ownPathUnknown = ownPath ? firstUnknownSeg(ownPath) : undefined;
    if (ownPathUnknown)
      this.issue(
        this.out.unfollowable,
        line,
        text,
        `PATH for this command is computed at run time (${ownPathUnknown.why})`,
      );
    const i = launch.programAt;
    const progVal = fields[i].val;
    const progText = concrete(progVal);
    const program = progText ?? '<unknown>';
    if (progText === undefined) {
      this.issue(
        this.out.unfollowable,
        line,
        text,
        `the program word \`${renderVal(progVal)}\` is computed at run time`,
      );
    }
    const args = fields
      .slice(i + 1)
      .map((f) => renderVal(f.decl ? norm([...f.val, ...(f.decl.value ?? unk('array'))]) : f.val));

    let path: PathValue;
    if (pathNote) path = { unknown: pathNote };
    else if (cleared && !env.has('PATH')) {
      path = {
        unknown:
          "the environment is cleared (env -i / exec -c): the program is looked up in execvp's default path and runs without PATH",
      };
    } else if (env.has('PATH') && env.get('PATH') === null) {
      path = {
        unknown:
          'PATH is removed for this command (env -u PATH): lookup falls back to the default path and the program runs without PATH',
      };
    } else path = env.has('PATH') ? toPathValue(env.get('PATH'), 'PATH is unset') : this.pathOf(state);

    // POSIX mode: a special builtin is found before a function of the same name.
    const special = this.options.shell === 'sh' && progText !== undefined && SPECIAL_BUILTINS.has(progText);
    const isFunction = shellLevel && !noFunctions && !special && progText !== undefined && state.funcs.has(progText);
    const kind: Invocation['kind'] = isFunction
      ? 'function'
      : shellLevel && !exec && progText !== undefined && SHELL_BUILTINS.has(progText)
        ? 'builtin'
        : 'external';
    if (kind === 'external' && progText !== undefined && !progText.includes('/') && state.hashed.has(progText))
      this.issue(
        this.out.unfollowable,
        line,
        text,
        `\`hash -p\` at line ${state.hashed.get(progText)} binds ${progText} to a file: bash runs it, not what PATH finds`,
      );
    const exported = cleared ? new Set<string>() : new Set(state.exported);
    for (const n of exportedExtra) exported.add(n);
    for (const [n, v] of env) if (v === null) exported.delete(n);
    const cond = ctx.cond ?? state.skipReason ?? state.returnSkip;
    this.out.invocations.push({
      program,
      args,
      line,
      text,
      exec,
      path,
      cwd,
      conditional: cond !== undefined,
      ...(cond !== undefined ? { conditionalReason: cond } : {}),
      ...(ctx.alongside !== undefined ? { alongside: ctx.alongside } : {}),
      via,
      calledFrom: ctx.calledFrom,
      exportedVars: [...exported].sort(),
      kind,
    });

    if (exec) {
      state.dead = { kind: 'exec', line };
      return;
    }
    if (isFunction) {
      this.callFunction(progText, state.funcs.get(progText)!, state, ctx, line, temp);
      return;
    }
    if (kind === 'builtin') this.runBuiltin(progText!, fields.slice(i + 1), state, ctx, line, text);
  }

  /**
   * bash(1) ALIASES: the first word of a simple command, unquoted, is replaced by an alias's text when alias
   * expansion is on and the alias was defined before bash parsed the command (an earlier top-level command).
   * Returns the replacement words, undefined (no alias applies), or 'unfollowable' (recorded).
   */
  private aliasOf(
    word: Word | undefined,
    state: State,
    ctx: Ctx,
    line: number,
    text: string,
  ): string[] | undefined | 'unfollowable' {
    const name = word ? literalOf(word) : undefined;
    if (name === undefined || state.expandAliases === false) return undefined;
    const a = state.aliases.get(name);
    if (!a || (ctx.top !== undefined && a.top >= ctx.top)) return undefined; // defined on a line bash had already read
    const stop = (why: string): 'unfollowable' => {
      this.issue(this.out.unfollowable, line, text, why);
      return 'unfollowable';
    };
    if (state.expandAliases === 'unknown')
      return stop(
        `alias ${name} (line ${a.line}) applies only if \`shopt -s expand_aliases\` ran, which is conditional`,
      );
    if (a.why || a.value === undefined)
      return stop(`${a.why ?? `alias ${name} has a value computed at run time`} and would replace \`${name}\` here`);
    if (!PLAIN_ALIAS.test(a.value))
      return stop(
        `alias ${name}='${a.value}' (line ${a.line}) replaces \`${name}\` here with text the analysis does not re-parse`,
      );
    const words = a.value.split(/ +/);
    if (words[0] !== name && state.aliases.has(words[0]))
      return stop(`alias ${name} (line ${a.line}) expands to another alias, ${words[0]}`);
    return words;
  }

  /** Expands redirection words and here-document bodies for the commands they run (`<<EOF` … `$(cmd)`). */
  private expandRedirs(redirs: Redir[], sc: Scope): void {
    for (const r of redirs) {
      if (r.word) expandJoined(r.word, sc);
      if (r.hdoc) expandJoined(r.hdoc, sc);
    }
  }

  private runBuiltin(name: string, args: Field[], state: State, ctx: Ctx, line: number, text: string): void {
    const words = args.map((a) => concrete(a.val));
    switch (name) {
      case 'export':
      case 'readonly':
      case 'declare':
      case 'typeset':
      case 'local': {
        const flags = words.filter((w) => w?.startsWith('-') || w?.startsWith('+')).join('');
        const unexport = name === 'export' && /n/.test(flags);
        const exportIt = name === 'export' ? !unexport : /-[a-zA-Z]*x/.test(flags);
        const isLocal =
          ctx.locals !== undefined &&
          (name === 'local' || ((name === 'declare' || name === 'typeset') && !/g/.test(flags)));
        if (/-[a-zA-Z]*f/.test(flags)) return; // functions, not variables
        for (const a of args) {
          const nm = a.decl ? a.decl.name : concrete(a.val);
          if (nm === undefined || (!a.decl && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(nm))) continue;
          if (isLocal && !ctx.locals!.has(nm)) ctx.locals!.set(nm, state.vars.has(nm) ? state.vars.get(nm) : undefined);
          if (a.decl) {
            let v: Val = a.decl.value ?? unk(nm, `${nm} is an array`);
            if (a.decl.append) v = norm([...(this.lookup(state, nm) ?? []), ...v]);
            this.setVar(state, nm, v, line, text);
          } else if (isLocal && !exportIt) {
            this.setVar(state, nm, [], line, text); // `local x` starts out empty (unset, strictly)
          }
          if (exportIt) state.exported.add(nm);
          if (unexport) state.exported.delete(nm);
        }
        return;
      }
      case 'unset': {
        const fn = words.includes('-f');
        for (const w of words) {
          if (w === undefined || w.startsWith('-')) continue;
          if (fn) state.funcs.delete(w);
          else this.setVar(state, w, null, line, text);
        }
        return;
      }
      case 'cd':
      case 'pushd': {
        const dirs = args.filter((_, k) => !(words[k]?.startsWith('-') && words[k] !== '-'));
        if (dirs.length === 0) state.cwd = new Unknown(`${name} with no directory goes to $HOME (line ${line})`);
        else if (words[args.indexOf(dirs[0])] === '-') state.cwd = new Unknown(`cd - (line ${line})`);
        else state.cwd = joinCwd(state.cwd, concrete(dirs[0].val), line);
        return;
      }
      case 'popd':
        state.cwd = new Unknown(`popd (line ${line})`);
        return;
      case 'set':
        for (let k = 0; k < words.length; k++) {
          const w = words[k];
          if (w === undefined || w === '--' || w === '-') break;
          if (/^-[a-zA-Z]*a/.test(w)) this.allexport(state, true, line);
          else if (/^\+[a-zA-Z]*a/.test(w)) state.allexport = false;
          else if ((w === '-o' || w === '+o') && words[k + 1] === 'allexport') {
            if (w === '-o') this.allexport(state, true, line);
            else state.allexport = false;
            k++;
          } else if (!/^[-+]/.test(w)) break;
        }
        return;
      case 'eval':
        this.issue(
          this.out.unfollowable,
          line,
          text,
          'eval runs code built at run time; PATH and variables after it are unknown',
        );
        this.taint(state, `the eval at line ${line}`, line);
        return;
      case 'source':
      case '.':
        this.issue(
          this.out.unfollowable,
          line,
          text,
          `${name} ${words[0] ?? renderVal(args[0]?.val ?? [])} runs another file in this shell; PATH and variables after it are unknown`,
        );
        this.taint(state, `the ${name} at line ${line}`, line);
        return;
      case 'trap': {
        const rest = words[0] === '--' ? words.slice(1) : words;
        if (rest.length < 2 || (rest[0]?.startsWith('-') && rest[0] !== '-')) return; // `trap`, `trap -p`, `trap -l`, `trap SIG` (reset)
        const handler = rest[0];
        const signals = rest.slice(1);
        const exitOnly = signals.every((g) => g !== undefined && /^(EXIT|SIGEXIT|0)$/i.test(g));
        if (handler === '-' || handler === '') {
          if (exitOnly) delete state.exitTrap;
          return;
        }
        // An EXIT handler matters only if the shell ends without exec (checked at the end of the script).
        if (exitOnly && handler !== undefined) state.exitTrap = { line, text };
        else
          this.issue(
            this.out.unfollowable,
            line,
            text,
            `trap handler for ${signals.map((g) => g ?? '<computed>').join(' ')} runs when that happens and is not analysed`,
          );
        return;
      }
      case 'read':
      case 'mapfile':
      case 'readarray':
      case 'getopts': {
        const withArg = new Set(['-p', '-d', '-n', '-N', '-t', '-u', '-a', '-O', '-s', '-C', '-c']);
        const names: string[] = [];
        for (let k = 0; k < words.length; k++) {
          const w = words[k];
          if (w === undefined) continue;
          if (w.startsWith('-')) {
            if (w === '-a' && k + 1 < words.length) names.push(words[k + 1] ?? '');
            if (withArg.has(w)) k++;
          } else names.push(w);
        }
        const targets =
          name === 'getopts' ? names.slice(1, 2) : names.length ? names : [name === 'read' ? 'REPLY' : 'MAPFILE'];
        for (const n of targets)
          if (n) this.setVar(state, n, unk(`$${n}`, `${n} is read at run time (line ${line})`), line, text);
        return;
      }
      case 'printf': {
        const k = words.indexOf('-v');
        const n = k >= 0 ? words[k + 1] : undefined;
        if (n) this.setVar(state, n, unk(`$${n}`, `${n} is formatted at run time (line ${line})`), line, text);
        return;
      }
      case 'exit':
        state.dead = { kind: 'exit', line };
        return;
      case 'return':
        if (ctx.returns) {
          ctx.returns.push(clone(state));
          state.dead = { kind: 'return', line };
        } else state.dead = { kind: 'exit', line };
        return;
      case 'alias': {
        // Defined now; used by commands bash parses later (the next top-level command on).
        const conditional = ctx.cond ?? state.skipReason ?? state.returnSkip;
        for (let k = 0; k < args.length; k++) {
          const w = words[k];
          const eq = w?.indexOf('=') ?? -1;
          if (w === undefined) {
            this.issue(this.out.unfollowable, line, text, 'an alias built at run time');
            continue;
          }
          if (w.startsWith('-') || eq <= 0) continue; // `alias -p`, `alias name` (prints)
          const n = w.slice(0, eq);
          const entry = { value: w.slice(eq + 1), top: ctx.runTop ?? -1, line };
          state.aliases.set(
            n,
            conditional ? { ...entry, why: `alias ${n} is defined conditionally (${conditional})` } : entry,
          );
        }
        return;
      }
      case 'unalias':
        for (const w of words) {
          if (w === '-a') state.aliases.clear();
          else if (w !== undefined) state.aliases.delete(w);
        }
        return;
      case 'shopt': {
        if (!words.includes('expand_aliases')) return;
        const on = words.includes('-s') ? true : words.includes('-u') ? false : undefined;
        if (on === undefined) return;
        state.expandAliases = (ctx.cond ?? state.skipReason ?? state.returnSkip) ? 'unknown' : on;
        return;
      }
      case 'hash': {
        // bash(1) `hash`: `-r` forgets every name, `-d NAME…` forgets those, `-p FILE NAME…` makes bash run FILE
        // for NAME, whatever PATH says. A bound name is judged where it is run (see invoke).
        const flags = words.filter((a): a is string => a !== undefined && a.startsWith('-'));
        const names = words.filter((a): a is string => a !== undefined && !a.startsWith('-'));
        if (flags.some((f) => f.includes('r'))) state.hashed.clear();
        else if (flags.some((f) => f.includes('d'))) for (const n of names) state.hashed.delete(n);
        else if (flags.some((f) => f.includes('p'))) for (const n of names.slice(1)) state.hashed.set(n, line);
        else if (words.some((a) => a === undefined))
          this.issue(this.out.unfollowable, line, text, '`hash` with arguments computed at run time');
        return;
      }
    }
  }

  private allexport(state: State, on: boolean, line: number): void {
    state.allexport = on;
    if (on && !this.out.allexportLines.includes(line)) this.out.allexportLines.push(line);
  }

  private taint(state: State, what: string, line: number): void {
    for (const k of state.vars.keys()) {
      state.vars.set(k, unk(`$${k}`, `${k} may have been changed by ${what}`));
      state.assignedAt.set(k, line);
    }
    state.taint = what;
    state.cwd = new Unknown(`the directory may have been changed by ${what}`);
  }
}

/** Commands that always succeed, so `a && b` runs b whenever a ran. */
function cannotFail(cmd: Cmd): boolean {
  if (cmd.k !== 'simple') return false;
  if (cmd.words.length === 0)
    return cmd.assigns.every((a) => !a.value || a.value.parts.every((p) => p.k !== 'cmdsubst'));
  const w = literalOf(cmd.words[0]);
  return w === 'true' || w === ':';
}
