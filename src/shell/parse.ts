// Parsing: mvdan-sh (the mvdan/sh v3 parser compiled to JavaScript with GopherJS) parses the script, in bash
// mode; this file adapts its syntax tree to ours (ast.ts). mvdan-sh is loaded on the first parse: it is 1.5 MB
// of JavaScript and costs about 100 ms to load, which commands that analyse no shell should not pay.
//
// What the adapter does beyond renaming:
// - Positions: mvdan reports byte offsets; ast.ts holds string indices (analyze.ts slices the text with them).
// - Literals: mvdan keeps backslashes in Lit values; they are resolved here by the quoting context (unquoted,
//   "…", here-document body), and escaped characters become `quoted` parts like '…'. `$'…'` escapes likewise.
// - `~`/`~user` at the start of a word becomes a tilde part (mvdan leaves it in the literal).
// - `declare`/`export`/`local`/`readonly`/`typeset` (mvdan's DeclClause) become simple commands whose
//   NAME=value arguments carry `decl`; so does `X=1 export Y=2`, which mvdan reads as a plain call.
// - `time [-p] cmd` becomes the command with a `time` word in front (launch.ts peels it); `let` a simple
//   command with its expressions as literal words; `coproc cmd` a subshell; `select` a `for` loop.
// - Redirections of compound commands wrap them ({k: 'redir'}); a simple command keeps its own.
// A node type the adapter does not know is an `unsupported` parse error, never a guess.

import { createRequire } from 'node:module';
import { MAX_NESTING, MAX_PARSED_BYTES } from '../bounded.js';
import {
  literalOf,
  type Assign,
  type Cmd,
  type List,
  type ParamPart,
  type Redir,
  type Stmt,
  type Word,
  type WordPart,
} from './ast.js';

export type ParseResult =
  { list: List } | { error: { line: number; column: number; message: string; unsupported?: boolean } };

/** A node of mvdan-sh's tree (GopherJS objects: fields are properties, positions have Line/Col/Offset methods). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type MvNode = any;

interface MvSyntax {
  NewParser(...options: unknown[]): { Parse(src: string, name: string): MvNode };
  NodeType(node: MvNode): string;
  Walk(node: MvNode, visit: (node: MvNode) => boolean): void;
}

let syntaxModule: MvSyntax | undefined;

function mvdan(): MvSyntax {
  if (!syntaxModule) {
    const require = createRequire(import.meta.url);
    syntaxModule = (require('mvdan-sh') as { syntax: MvSyntax }).syntax;
  }
  return syntaxModule;
}

// Operator codes of mvdan/sh v3's token enum (as mvdan-sh 0.10.1 numbers them); test/unit/shellSyntax.test.ts
// checks them against the parser.
export const REDIR_OPS: Record<number, string> = {
  54: '>',
  55: '>>',
  56: '<',
  57: '<>',
  58: '<&',
  59: '>&',
  60: '>|',
  61: '<<',
  62: '<<-',
  63: '<<<',
  64: '&>',
  65: '&>>',
};
export const EXP_OPS: Record<number, string> = {
  68: '+',
  69: ':+',
  70: '-',
  71: ':-',
  72: '?',
  73: ':?',
  74: '=',
  75: ':=',
  76: '%',
  77: '%%',
  78: '#',
  79: '##',
  80: '^',
  81: '^^',
  82: ',',
  83: ',,',
  84: '@',
};
const AND = 10;
const OR = 11;
const PIPE = 12;
const PIPE_ALL = 13;

const DECL_BUILTINS = new Set(['export', 'readonly', 'declare', 'typeset', 'local']);

class UnsupportedSyntax extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

class Adapter {
  /** Byte offset → string index; undefined for ASCII text, where they agree. */
  private readonly charAt: Uint32Array | undefined;

  constructor(
    private readonly src: string,
    private readonly sx: MvSyntax,
  ) {
    if (/[^\x00-\x7f]/.test(src)) {
      const map = new Uint32Array(Buffer.byteLength(src) + 1);
      let b = 0;
      for (let i = 0; i < src.length; i++) {
        const cp = src.codePointAt(i)!;
        const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        for (let k = 0; k < n; k++) map[b + k] = i;
        b += n;
        if (cp >= 0x10000) i++;
      }
      map[b] = src.length;
      this.charAt = map;
    }
  }

  private off(p: MvNode): number {
    const o = p.Offset() as number;
    return this.charAt ? this.charAt[o] : o;
  }
  private pos(n: MvNode): number {
    return this.off(n.Pos());
  }
  private end(n: MvNode): number {
    return this.off(n.End());
  }
  private text(n: MvNode): string {
    return this.src.slice(this.pos(n), this.end(n));
  }
  private type(n: MvNode): string {
    return this.sx.NodeType(n);
  }
  private unsupported(n: MvNode, what: string): never {
    throw new UnsupportedSyntax(what, this.pos(n));
  }

  // ---- statements ----

  list(stmts: MvNode[] | null): List {
    return (stmts ?? []).map((s) => this.stmt(s));
  }

  stmt(s: MvNode): Stmt {
    const cmd = this.stmtCmd(s);
    return { cmd, background: Boolean(s.Background || s.Coprocess), pos: cmd.pos, end: cmd.end };
  }

  /** The command of a statement, with its negation and redirections. */
  private stmtCmd(s: MvNode): Cmd {
    const redirs: MvNode[] = s.Redirs ?? [];
    let cmd: Cmd;
    if (!s.Cmd) cmd = this.simple(s, [], [], redirs);
    else if (this.type(s.Cmd) === 'CallExpr') cmd = this.simple(s, s.Cmd.Assigns ?? [], s.Cmd.Args ?? [], redirs);
    else {
      cmd = this.compound(s.Cmd);
      if (redirs.length > 0 && cmd.k === 'simple') {
        // declare/let/time read as simple commands keep their redirections, as a call does.
        cmd.redirs.push(...redirs.map((r) => this.redir(r)));
        cmd.end = Math.max(cmd.end, ...redirs.map((r) => this.redirEnd(r)));
      } else if (redirs.length > 0) {
        const rs = redirs.map((r) => this.redir(r));
        cmd = {
          k: 'redir',
          cmd,
          redirs: rs,
          pos: cmd.pos,
          end: Math.max(cmd.end, ...redirs.map((r) => this.redirEnd(r))),
        };
      }
    }
    if (s.Negated) cmd = { k: 'not', cmd, pos: this.pos(s), end: cmd.end };
    return cmd;
  }

  /** End of a redirection without its here-document body (which mvdan counts in). */
  private redirEnd(r: MvNode): number {
    return r.Hdoc ? this.end(r.Word) : this.end(r);
  }

  private redir(r: MvNode): Redir {
    const op = REDIR_OPS[r.Op as number];
    if (op === undefined) this.unsupported(r, `redirection operator ${String(r.Op)}`);
    const out: Redir = { op, ...(r.Word ? { word: this.word(r.Word) } : {}) };
    if (r.Hdoc) {
      // A quoted delimiter (<<'EOF', <<"EOF", <<\EOF) makes the body literal text.
      const quotedDelim = (r.Word?.Parts ?? []).some(
        (p: MvNode) => this.type(p) !== 'Lit' || String(p.Value).includes('\\'),
      );
      out.hdoc = quotedDelim
        ? {
            parts: [
              { k: 'lit', v: (r.Hdoc.Parts ?? []).map((p: MvNode) => String(p.Value ?? '')).join(''), quoted: true },
            ],
            pos: this.pos(r.Hdoc),
            end: this.end(r.Hdoc),
          }
        : { parts: this.parts(r.Hdoc.Parts ?? [], 'hdoc'), pos: this.pos(r.Hdoc), end: this.end(r.Hdoc) };
    }
    return out;
  }

  private simple(s: MvNode, assigns: MvNode[], args: MvNode[], redirs: MvNode[]): Cmd {
    const ends = [
      ...assigns.map((a) => this.end(a)),
      ...args.map((w) => this.end(w)),
      ...redirs.map((r) => this.redirEnd(r)),
    ];
    const starts = [
      ...assigns.map((a) => this.pos(a)),
      ...args.map((w) => this.pos(w)),
      ...redirs.map((r) => this.pos(r)),
    ];
    // A loop, not Math.min(...starts): spreading 100k arguments overflows the stack.
    const pos = starts.length ? starts.reduce((a, b) => (b < a ? b : a)) : this.pos(s);
    const end = ends.length ? ends.reduce((a, b) => (b > a ? b : a)) : this.end(s);
    const words = args.map((w) => this.word(w));
    const first = words[0] && literalOf(words[0]);
    if (first !== undefined && DECL_BUILTINS.has(first)) {
      // `X=1 export Y=2`: mvdan parses a call, not a declaration; read NAME=value arguments as bash does.
      for (let k = 1; k < words.length; k++) words[k] = declFromWord(words[k]) ?? words[k];
    }
    return {
      k: 'simple',
      assigns: assigns.map((a) => this.assign(a)),
      words,
      redirs: redirs.map((r) => this.redir(r)),
      pos,
      end,
    };
  }

  private assign(a: MvNode): Assign {
    const array = Boolean(a.Index || a.Array);
    const base = { name: String(a.Name.Value), append: Boolean(a.Append), pos: this.pos(a), end: this.end(a) };
    if (array) return { ...base, array: true };
    const value: Word = a.Value ? this.word(a.Value) : { parts: [], pos: base.end, end: base.end };
    return { ...base, value };
  }

  private compound(c: MvNode): Cmd {
    const pos = this.pos(c);
    const end = this.end(c);
    switch (this.type(c)) {
      case 'BinaryCmd': {
        const op = c.Op as number;
        if (op === PIPE || op === PIPE_ALL) {
          const left = this.stmtCmd(c.X);
          const right = this.stmtCmd(c.Y);
          // mvdan nests `a | b | c` as ((a | b) | c); one pipeline has one list of elements.
          const cmds =
            left.k === 'pipe' && !c.X.Negated && (c.X.Redirs ?? []).length === 0
              ? [...left.cmds, right]
              : [left, right];
          return { k: 'pipe', cmds, pos: left.pos, end: right.end };
        }
        if (op !== AND && op !== OR) return this.unsupported(c, `binary command operator ${op}`);
        const left = this.stmtCmd(c.X);
        const right = this.stmtCmd(c.Y);
        return { k: 'andor', op: op === AND ? '&&' : '||', left, right, pos: left.pos, end: right.end };
      }
      case 'IfClause': {
        const clauses: { cond: List; body: List }[] = [];
        let elseBody: List | undefined;
        for (let n: MvNode = c; n; n = n.Else) {
          if (n !== c && (n.Cond ?? []).length === 0) {
            elseBody = this.list(n.Then);
            break;
          }
          clauses.push({ cond: this.list(n.Cond), body: this.list(n.Then) });
        }
        return { k: 'if', clauses, ...(elseBody ? { elseBody } : {}), pos, end };
      }
      case 'WhileClause':
        return { k: 'while', until: Boolean(c.Until), cond: this.list(c.Cond), body: this.list(c.Do), pos, end };
      case 'ForClause': {
        const loop = c.Loop;
        const body = this.list(c.Do);
        const select = c.Select ? { select: true } : {};
        if (this.type(loop) === 'CStyleLoop')
          return { k: 'for', name: '', arith: this.text(loop), body, ...select, pos, end };
        const hasIn = loop.InPos && loop.InPos.Line() > 0;
        const items = hasIn ? (loop.Items ?? []).map((w: MvNode) => this.word(w)) : undefined;
        return { k: 'for', name: String(loop.Name.Value), ...(items ? { items } : {}), body, ...select, pos, end };
      }
      case 'CaseClause':
        return {
          k: 'case',
          word: this.word(c.Word),
          arms: (c.Items ?? []).map((it: MvNode) => ({
            patterns: (it.Patterns ?? []).map((w: MvNode) => this.word(w)),
            body: this.list(it.Stmts),
          })),
          pos,
          end,
        };
      case 'Block':
        return { k: 'group', body: this.list(c.Stmts), pos, end };
      case 'Subshell':
        return { k: 'subshell', body: this.list(c.Stmts), pos, end };
      case 'FuncDecl':
        return { k: 'func', name: String(c.Name.Value), body: this.stmtCmd(c.Body), pos, end };
      case 'TestClause':
      case 'ArithmCmd': {
        const substs = this.substsIn(c);
        return { k: 'test', text: this.text(c), ...(substs.length ? { substs } : {}), pos, end };
      }
      case 'DeclClause': {
        const variant: Word = {
          parts: [{ k: 'lit', v: String(c.Variant.Value), quoted: false }],
          pos: this.pos(c.Variant),
          end: this.end(c.Variant),
        };
        const words = [variant, ...(c.Args ?? []).map((a: MvNode) => this.declArg(a))];
        return { k: 'simple', assigns: [], words, redirs: [], pos, end };
      }
      case 'LetClause': {
        const words: Word[] = [
          { parts: [{ k: 'lit', v: 'let', quoted: false }], pos, end: pos + 3 },
          ...(c.Exprs ?? []).map((x: MvNode): Word => ({
            parts: [{ k: 'lit', v: this.text(x), quoted: false }],
            pos: this.pos(x),
            end: this.end(x),
          })),
        ];
        return { k: 'simple', assigns: [], words, redirs: [], pos, end };
      }
      case 'TimeClause': {
        const timeWords: Word[] = [{ parts: [{ k: 'lit', v: 'time', quoted: false }], pos, end: pos + 4 }];
        if (c.PosixFormat) timeWords.push({ parts: [{ k: 'lit', v: '-p', quoted: false }], pos, end: pos + 4 });
        if (!c.Stmt) return { k: 'simple', assigns: [], words: timeWords, redirs: [], pos, end };
        const inner = this.stmtCmd(c.Stmt);
        if (inner.k !== 'simple' || inner.words.length === 0) return { ...inner, pos };
        return { ...inner, words: [...timeWords, ...inner.words], pos };
      }
      case 'CoprocClause': {
        const inner = this.stmt(c.Stmt);
        return { k: 'subshell', body: [inner], pos, end };
      }
      default:
        return this.unsupported(c, `${this.type(c)} commands`);
    }
  }

  /** Bodies of the command substitutions in a test or arithmetic command (`[[ -n $(git status) ]]`). */
  private substsIn(n: MvNode): List[] {
    const out: List[] = [];
    this.sx.Walk(n, (x: MvNode) => {
      if (!x || this.type(x) !== 'CmdSubst') return true;
      out.push(this.list(x.Stmts));
      return false; // nested substitutions are part of that body
    });
    return out;
  }

  private declArg(a: MvNode): Word {
    if (a.Naked) {
      if (a.Value) return this.word(a.Value);
      return { parts: [{ k: 'lit', v: String(a.Name.Value), quoted: false }], pos: this.pos(a), end: this.end(a) };
    }
    const decl = this.assign(a);
    return { parts: decl.value?.parts ?? [], pos: decl.pos, end: decl.end, decl };
  }

  // ---- words ----

  /** A word; a leading unquoted `~` is a tilde part (also in assignment values, as bash reads them). */
  word(w: MvNode): Word {
    return { parts: this.parts(w.Parts ?? [], 'plain', true), pos: this.pos(w), end: this.end(w) };
  }

  /**
   * Word parts in a quoting context: `plain` (unquoted), `dq` (inside "…") or `hdoc` (a here-document body).
   * Adjacent literals of the same quotedness are merged, as in one written literal.
   */
  private parts(src: MvNode[], ctx: 'plain' | 'dq' | 'hdoc', wordStart = false): WordPart[] {
    const out: WordPart[] = [];
    const lit = (v: string, quoted: boolean) => {
      const last = out[out.length - 1];
      if (last && last.k === 'lit' && last.quoted === quoted) last.v += v;
      else out.push({ k: 'lit', v, quoted });
    };
    const inDq = ctx !== 'plain';
    src.forEach((p, k) => {
      switch (this.type(p)) {
        case 'Lit': {
          let v = String(p.Value);
          if (ctx === 'plain' && wordStart && k === 0 && v.startsWith('~')) {
            const m = /^~([A-Za-z0-9_.-]*)/.exec(v)!;
            out.push({ k: 'tilde', user: m[1] });
            v = v.slice(m[0].length);
          }
          for (const piece of unescape(v, ctx)) lit(piece.v, piece.quoted);
          return;
        }
        case 'SglQuoted':
          lit(p.Dollar ? ansiC(String(p.Value)) : String(p.Value), true);
          return;
        case 'DblQuoted': {
          const inner = this.parts(p.Parts ?? [], 'dq');
          if (inner.length === 0) lit('', true);
          for (const q of inner) {
            if (q.k === 'lit') lit(q.v, q.quoted);
            else out.push(q);
          }
          return;
        }
        case 'ParamExp':
          out.push(this.param(p, ctx === 'plain' ? 'plain' : 'dq'));
          return;
        case 'CmdSubst':
          out.push({ k: 'cmdsubst', text: this.text(p), quoted: inDq, body: this.list(p.Stmts) });
          return;
        case 'ArithmExp':
          out.push({ k: 'arith', text: this.text(p), quoted: inDq });
          return;
        case 'ProcSubst':
          out.push({ k: 'procsubst', text: this.text(p) });
          return;
        case 'ExtGlob':
          lit(this.text(p), false);
          return;
        default:
          this.unsupported(p, `${this.type(p)} in a word`);
      }
    });
    return out;
  }

  private param(p: MvNode, ctx: 'plain' | 'dq'): ParamPart {
    const text = this.text(p);
    const name = String(p.Param?.Value ?? '');
    const quoted = ctx === 'dq';
    const base = { k: 'param' as const, name, quoted, text };
    let unsupported: string | undefined;
    if (p.Excl) unsupported = 'indirect expansion ${!…}';
    else if (p.Width) unsupported = 'width expansion ${%…}';
    else if (p.Index) unsupported = 'array subscript';
    else if (p.Slice) unsupported = '${…:offset:length}';
    if (p.Length) return { ...base, op: 'len', ...(unsupported ? { unsupported } : {}) };
    if (p.Repl) {
      // Inside "…" the pattern of ${v/p/r} is still a pattern: its `*` and `?` are globs unless quoted themselves.
      let orig = this.parts(p.Repl.Orig?.Parts ?? [], 'plain');
      let op = p.Repl.All ? '//' : '/';
      const head = orig[0];
      if (!p.Repl.All && head?.k === 'lit' && !head.quoted && (head.v.startsWith('#') || head.v.startsWith('%'))) {
        op = `/${head.v[0]}`;
        orig = [{ ...head, v: head.v.slice(1) }, ...orig.slice(1)];
      }
      const repl = this.parts(p.Repl.With?.Parts ?? [], ctx);
      return { ...base, op, arg: orig, repl, ...(unsupported ? { unsupported } : {}) };
    }
    if (p.Exp) {
      const op = EXP_OPS[p.Exp.Op as number] ?? `op ${String(p.Exp.Op)}`;
      if (!['+', ':+', '-', ':-', '?', ':?', '=', ':=', '%', '%%', '#', '##'].includes(op))
        unsupported ??= `\${…${op}…}`;
      // The pattern of ${v#p} ${v%p} is a pattern even inside "…" (bash matches its `*` as a glob).
      const pattern = ['%', '%%', '#', '##'].includes(op);
      const arg = this.parts(p.Exp.Word?.Parts ?? [], pattern ? 'plain' : ctx, pattern || ctx === 'plain');
      return { ...base, op, arg, ...(unsupported ? { unsupported } : {}) };
    }
    return { ...base, ...(unsupported ? { unsupported } : {}) };
  }
}

/**
 * Resolves the backslashes mvdan leaves in a literal. Unquoted, `\c` is a quoted `c`; inside "…" only
 * `\$ \` \" \\` are escapes (in a here-document body `\"` is not); a backslash-newline disappears.
 */
function unescape(v: string, ctx: 'plain' | 'dq' | 'hdoc'): { v: string; quoted: boolean }[] {
  const quotedCtx = ctx !== 'plain';
  if (!v.includes('\\')) return [{ v, quoted: quotedCtx }];
  const out: { v: string; quoted: boolean }[] = [];
  const push = (s: string, quoted: boolean) => {
    const last = out[out.length - 1];
    if (last && last.quoted === quoted) last.v += s;
    else out.push({ v: s, quoted });
  };
  const special = ctx === 'dq' ? '$`"\\' : '$`\\';
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c !== '\\') {
      push(c, quotedCtx);
      continue;
    }
    const n = v[i + 1];
    if (n === undefined) push('\\', true);
    else if (n === '\n') i++;
    else if (quotedCtx && !special.includes(n)) {
      push('\\' + n, true);
      i++;
    } else {
      push(n, true);
      i++;
    }
  }
  return out;
}

/** The value of `$'…'` (ANSI-C quoting). */
function ansiC(raw: string): string {
  const simple: Record<string, string> = {
    a: '\x07',
    b: '\b',
    e: '\x1b',
    E: '\x1b',
    f: '\f',
    n: '\n',
    r: '\r',
    t: '\t',
    v: '\v',
    '\\': '\\',
    "'": "'",
    '"': '"',
    '?': '?',
  };
  return raw.replace(
    /\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}|c.|.)/gs,
    (all, e: string) => {
      if (e in simple) return simple[e];
      if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8) & 0xff);
      if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
      if (e[0] === 'u' || e[0] === 'U') return String.fromCodePoint(parseInt(e.slice(1), 16));
      if (e[0] === 'c' && e.length === 2) return String.fromCharCode(e.charCodeAt(1) & 0x1f);
      return all;
    },
  );
}

/** `NAME=value` / `NAME+=value` / `NAME[i]=…` written as an argument of a declaration builtin. */
function declFromWord(w: Word): Word | undefined {
  const head = w.parts[0];
  if (!head || head.k !== 'lit' || head.quoted) return undefined;
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?(\+?)=/.exec(head.v);
  if (!m) return undefined;
  const rest = head.v.slice(m[0].length);
  const parts: WordPart[] = [...(rest ? [{ ...head, v: rest }] : []), ...w.parts.slice(1)];
  const base = { name: m[1], append: m[3] === '+', pos: w.pos, end: w.end };
  const decl: Assign = m[2]
    ? { ...base, array: true }
    : { ...base, value: { parts, pos: w.pos + m[0].length, end: w.end } };
  return { parts: decl.value?.parts ?? [], pos: w.pos, end: w.end, decl };
}

/**
 * Parse limits (issue 16, bounded resources): mvdan-sh and this adapter recurse once per level of
 * nesting and once per element of an `a | b | c` or `a && b || c` chain (mvdan nests them), so a
 * hostile script could exhaust the stack. Before parsing, a linear scan (quotes, backslashes and
 * comments followed as the shell reads them) finds the deepest nesting of ( { [ $( ${ ` and the
 * longest chain of | && || ; past MAX_NESTING the script is "cannot follow" (an `unsupported`
 * parse error with its line and column), never a stack overflow. A script over MAX_PARSED_BYTES
 * or of more than MAX_SHELL_WORDS words is refused the same way: mvdan-sh's tree costs about a
 * millisecond per word to read back through GopherJS, so a 1 MB line of words would take minutes.
 */
export const MAX_SHELL_WORDS = 10_000;

export function nestingProblem(src: string, limit = MAX_NESTING): { offset: number; message: string } | undefined {
  if (src.length > MAX_PARSED_BYTES)
    return {
      offset: 0,
      message: `cannot follow: a script of ${src.length} characters; the verifier parses at most ${MAX_PARSED_BYTES}`,
    };
  let depth = 0;
  let chain = 1;
  let quote: '' | "'" | '"' = '';
  let atWordStart = true;
  let words = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quote === "'") {
      if (c === "'") quote = '';
      continue;
    }
    if (c === '\\') {
      i++;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = '';
      else if (c === '$' && (src[i + 1] === '(' || src[i + 1] === '{')) {
        if (++depth > limit) return { offset: i, message: `cannot follow: nesting deeper than ${limit}` };
        i++;
      } else if (c === '`') {
        if (++depth > limit) return { offset: i, message: `cannot follow: nesting deeper than ${limit}` };
      }
      continue;
    }
    if (c === '#' && atWordStart) {
      const nl = src.indexOf('\n', i);
      i = nl < 0 ? src.length : nl - 1;
      continue;
    }
    const starts = atWordStart && !/[\s;&|()<>]/.test(c);
    if (starts && ++words > MAX_SHELL_WORDS)
      return {
        offset: i,
        message: `cannot follow: a script of more than ${MAX_SHELL_WORDS} words (the shell parser's limit)`,
      };
    atWordStart = /[\s;&|()<>]/.test(c);
    if (c === "'" || c === '"') quote = c;
    else if (c === '(' || c === '{' || c === '[' || c === '`') {
      if (++depth > limit) return { offset: i, message: `cannot follow: nesting deeper than ${limit}` };
    } else if (c === ')' || c === '}' || c === ']') depth = Math.max(0, depth - 1);
    else if (c === ';') chain = 1;
    else if (c === '|' || c === '&') {
      const prev = src[i - 1];
      const next = src[i + 1];
      // `>|`, `>&`, `<&`, `&>`: redirections; a lone `&`: a background job, which ends the list.
      if (prev === '>' || prev === '<' || (c === '&' && next === '>')) continue;
      if (c === '&' && next !== '&') {
        chain = 1;
        continue;
      }
      if (next === c || (c === '|' && next === '&')) i++;
      if (++chain > limit)
        return { offset: i, message: `cannot follow: a pipeline or && / || list of more than ${limit} commands` };
    } else if (c === '\n') {
      // A newline after an operator continues the list; elsewhere it ends it.
      if (!/[|&]\s*$/.test(src.slice(Math.max(0, i - 8), i))) chain = 1;
    }
  }
  return undefined;
}

export async function parseScript(src: string): Promise<ParseResult> {
  const limited = nestingProblem(src);
  if (limited) {
    const before = src.slice(0, limited.offset);
    const line = before.split('\n').length;
    return {
      error: { line, column: limited.offset - before.lastIndexOf('\n'), message: limited.message, unsupported: true },
    };
  }
  const sx = mvdan();
  let file: MvNode;
  try {
    file = sx.NewParser().Parse(src, '');
  } catch (e) {
    const err = e as MvNode;
    if (err && typeof err.Pos?.Line === 'function' && typeof err.Text === 'string') {
      return { error: { line: err.Pos.Line() as number, column: err.Pos.Col() as number, message: err.Text } };
    }
    // The pre-scan keeps nesting shallow; should mvdan-sh still run out of stack, say so as a limit.
    if (err instanceof RangeError)
      return {
        error: {
          line: 0,
          column: 0,
          message: `cannot follow: nesting too deep for the shell parser (${err.message})`,
          unsupported: true,
        },
      };
    const text =
      typeof err?.Error === 'function' ? String(err.Error()) : err instanceof Error ? err.message : String(err);
    const m = /^(\d+):(\d+): (.*)$/s.exec(text);
    return {
      error: m ? { line: Number(m[1]), column: Number(m[2]), message: m[3] } : { line: 0, column: 0, message: text },
    };
  }
  try {
    return { list: new Adapter(src, sx).list(file.Stmts) };
  } catch (e) {
    if (!(e instanceof UnsupportedSyntax)) throw e;
    const before = src.slice(0, e.offset);
    const line = before.split('\n').length;
    return {
      error: {
        line,
        column: e.offset - before.lastIndexOf('\n'),
        message: `shell syntax not modelled by nixenv-verify: ${e.message}`,
        unsupported: true,
      },
    };
  }
}
