// The syntax tree the analysis walks. parse.ts builds it from mvdan-sh's tree (mvdan/sh v3, bash mode), keeping
// only what the analysis models. Positions (`pos`, `end`) are string indices into the script text.

/** One piece of a word. `quoted` parts are not field-split (they came from '…', "…", $'…' or a backslash). */
export type WordPart =
  | { k: 'lit'; v: string; quoted: boolean }
  | ParamPart
  | { k: 'cmdsubst'; text: string; quoted: boolean; body?: List }
  | { k: 'arith'; text: string; quoted: boolean }
  | { k: 'procsubst'; text: string }
  /** An unquoted `~` or `~user` at the start of a word (tilde expansion). */
  | { k: 'tilde'; user: string };

export interface ParamPart {
  k: 'param';
  /** Variable name, positional digit(s) or special parameter (`@`, `*`, `#`, `?`, `$`, `!`, `-`). */
  name: string;
  /**
   * Operator of `${name OP arg}`: `:-` `-` `:=` `=` `:?` `?` `:+` `+` `#` `##` `%` `%%` `/` `//` `/#` `/%`, or `len`
   * for `${#name}`.
   */
  op?: string;
  arg?: WordPart[];
  /** Replacement of `${name/pattern/replacement}`. */
  repl?: WordPart[];
  /** Set when the expansion uses something we do not model (`${!x}`, `${x[1]}`, `${x:1:2}`, `${x^^}`, `${x@Q}`). */
  unsupported?: string;
  quoted: boolean;
  text: string;
}

export interface Word {
  parts: WordPart[];
  pos: number;
  end: number;
  /** For arguments of export/readonly/declare/typeset/local written as NAME=value (no field splitting there). */
  decl?: Assign;
}

export interface Assign {
  name: string;
  append: boolean;
  /** Undefined for array assignments `a=(…)` and `a[i]=…`, which we do not model. */
  value?: Word;
  array?: boolean;
  pos: number;
  end: number;
}

export interface Redir {
  op: string;
  word?: Word;
  /**
   * Body of a here-document (`<<`, `<<-`): expanded like "…" unless the delimiter is quoted (then one quoted literal).
   */
  hdoc?: Word;
}

export type Cmd =
  | { k: 'simple'; assigns: Assign[]; words: Word[]; redirs: Redir[]; pos: number; end: number }
  | { k: 'pipe'; cmds: Cmd[]; pos: number; end: number }
  | { k: 'andor'; op: '&&' | '||'; left: Cmd; right: Cmd; pos: number; end: number }
  | { k: 'not'; cmd: Cmd; pos: number; end: number }
  | { k: 'if'; clauses: { cond: List; body: List }[]; elseBody?: List; pos: number; end: number }
  | { k: 'while'; until: boolean; cond: List; body: List; pos: number; end: number }
  /** Also `select` (`select: true`), whose body runs once per choice the user makes. */
  | { k: 'for'; name: string; items?: Word[]; arith?: string; select?: boolean; body: List; pos: number; end: number }
  | { k: 'case'; word: Word; arms: { patterns: Word[]; body: List }[]; pos: number; end: number }
  | { k: 'group'; body: List; pos: number; end: number }
  | { k: 'subshell'; body: List; pos: number; end: number }
  | { k: 'func'; name: string; body: Cmd; pos: number; end: number }
  /**
   * `[[ … ]]` and `(( … ))`: tests and arithmetic; they run no program, but their command substitutions (`substs`) do.
   */
  | { k: 'test'; text: string; substs?: List[]; pos: number; end: number }
  /** A compound command with redirections (`{ …; } > log`, `done < file`): the words are expanded first. */
  | { k: 'redir'; cmd: Cmd; redirs: Redir[]; pos: number; end: number };

export interface Stmt {
  cmd: Cmd;
  background: boolean;
  pos: number;
  end: number;
}

export type List = Stmt[];

/** The text of a word made only of unquoted literal parts, else undefined. */
export function literalOf(word: Word): string | undefined {
  if (word.parts.length !== 1) return undefined;
  const p = word.parts[0];
  return p.k === 'lit' && !p.quoted ? p.v : undefined;
}
