// A recursive-descent parser for the POSIX sh / bash subset that wrappers and CI steps use.
// sh-syntax is the referee for what is valid shell (see parse.ts); this parser exists because sh-syntax's
// JSON carries no command structure. It fails loudly (ShellSyntaxError) on anything it does not understand.

import type { Assign, Cmd, List, ParamPart, Redir, Word, WordPart } from './ast.js';

export class ShellSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const RESERVED_END = new Set(['then', 'elif', 'else', 'fi', 'do', 'done', 'esac', '}', 'in']);
const DECL_BUILTINS = new Set(['export', 'readonly', 'declare', 'typeset', 'local']);
const META = new Set([' ', '\t', '\n', ';', '&', '|', '<', '>', '(', ')']);
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*/;
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '$', '!', '-', '0']);

export class Parser {
  private i = 0;
  private pendingHeredocs: { delim: string; strip: boolean }[] = [];

  constructor(private readonly src: string) {}

  parseFile(): List {
    const list = this.parseList(new Set());
    this.skipNewlines();
    if (this.i < this.src.length) this.fail(`unexpected \`${this.peekToken()}\``);
    return list;
  }

  // ---- lists and statements ----

  /** Statements until EOF or one of the reserved words / tokens in `stop` (not consumed). */
  private parseList(stop: Set<string>): List {
    const list: List = [];
    for (;;) {
      this.skipNewlines();
      if (this.i >= this.src.length) return list;
      const tok = this.peekToken();
      if (stop.has(tok) || tok === ')' || tok === ';;' || tok === ';&' || tok === ';;&') return list;
      if (RESERVED_END.has(tok) && this.isReservedHere()) return list;
      const pos = this.i;
      const cmd = this.parseAndOr();
      this.skipBlanks();
      let background = false;
      const c = this.src[this.i];
      if (c === '&' && this.src[this.i + 1] !== '&' && this.src[this.i + 1] !== '>') {
        background = true;
        this.i++;
      } else if (c === ';' && this.src[this.i + 1] !== ';' && this.src[this.i + 1] !== '&') {
        this.i++;
      } else if (c !== '\n' && c !== undefined && c !== ')' && !this.startsWith(';;') && !this.startsWith(';&') && c !== '#') {
        this.fail(`unexpected \`${this.peekToken()}\``);
      }
      list.push({ cmd, background, pos, end: cmd.end });
    }
  }

  private parseAndOr(): Cmd {
    let left = this.parsePipeline();
    for (;;) {
      this.skipBlanks();
      const op = this.startsWith('&&') ? '&&' : this.startsWith('||') ? '||' : undefined;
      if (!op) return left;
      this.i += 2;
      this.skipNewlines();
      const right = this.parsePipeline();
      left = { k: 'andor', op, left, right, pos: left.pos, end: right.end };
    }
  }

  private parsePipeline(): Cmd {
    this.skipBlanks();
    const pos = this.i;
    if (this.src[this.i] === '!' && /[\s]/.test(this.src[this.i + 1] ?? ' ')) {
      this.i++;
      const inner = this.parsePipeline();
      return { k: 'not', cmd: inner, pos, end: inner.end };
    }
    const cmds = [this.parseCommand()];
    for (;;) {
      this.skipBlanks();
      if (this.src[this.i] === '|' && this.src[this.i + 1] !== '|') {
        this.i += this.src[this.i + 1] === '&' ? 2 : 1;
        this.skipNewlines();
        cmds.push(this.parseCommand());
      } else break;
    }
    return cmds.length === 1 ? cmds[0]! : { k: 'pipe', cmds, pos, end: cmds[cmds.length - 1]!.end };
  }

  private parseCommand(): Cmd {
    this.skipBlanks();
    const pos = this.i;
    const tok = this.peekToken();
    if (tok === '(') {
      if (this.src[this.i + 1] === '(') return this.parseDoubleParen(pos);
      this.i++;
      const body = this.parseList(new Set());
      this.expect(')');
      return this.withRedirs({ k: 'subshell', body, pos, end: this.i });
    }
    if (this.isReservedHere()) {
      switch (tok) {
        case '{': {
          this.i++;
          const body = this.parseList(new Set(['}']));
          this.expectWord('}');
          return this.withRedirs({ k: 'group', body, pos, end: this.i });
        }
        case 'if':
          return this.withRedirs(this.parseIf(pos));
        case 'while':
        case 'until': {
          this.i += tok.length;
          const cond = this.parseList(new Set(['do']));
          this.expectWord('do');
          const body = this.parseList(new Set(['done']));
          this.expectWord('done');
          return this.withRedirs({ k: 'while', until: tok === 'until', cond, body, pos, end: this.i });
        }
        case 'for':
          return this.withRedirs(this.parseFor(pos));
        case 'case':
          return this.withRedirs(this.parseCase(pos));
        case '[[': {
          this.i = this.endOfTest(this.i + 2);
          return this.withRedirs({ k: 'test', text: this.src.slice(pos, this.i), pos, end: this.i });
        }
        case 'function': {
          this.i += tok.length;
          this.skipBlanks();
          const m = /^[^\s()]+/.exec(this.src.slice(this.i));
          if (!m) this.fail('function name expected');
          this.i += m![0].length;
          this.skipBlanks();
          if (this.startsWith('(')) {
            this.i++;
            this.skipBlanks();
            this.expect(')');
          }
          this.skipNewlines();
          const body = this.parseCommand();
          return { k: 'func', name: m![0], body, pos, end: body.end };
        }
      }
    }
    // `name() compound-command`
    const fm = /^([A-Za-z_][A-Za-z0-9_.:-]*)[ \t]*\([ \t]*\)/.exec(this.src.slice(this.i));
    if (fm) {
      this.i += fm[0].length;
      this.skipNewlines();
      const body = this.parseCommand();
      return { k: 'func', name: fm[1]!, body, pos, end: body.end };
    }
    return this.parseSimple();
  }

  private parseDoubleParen(pos: number): Cmd {
    const end = this.matchParens(this.i);
    this.i = end;
    return { k: 'test', text: this.src.slice(pos, end), pos, end };
  }

  private parseIf(pos: number): Cmd {
    const clauses: { cond: List; body: List }[] = [];
    let elseBody: List | undefined;
    this.i += 2;
    for (;;) {
      const cond = this.parseList(new Set(['then']));
      this.expectWord('then');
      const body = this.parseList(new Set(['elif', 'else', 'fi']));
      clauses.push({ cond, body });
      const t = this.peekToken();
      if (t === 'elif') {
        this.i += 4;
        continue;
      }
      if (t === 'else') {
        this.i += 4;
        elseBody = this.parseList(new Set(['fi']));
      }
      this.expectWord('fi');
      break;
    }
    return { k: 'if', clauses, ...(elseBody ? { elseBody } : {}), pos, end: this.i };
  }

  private parseFor(pos: number): Cmd {
    this.i += 3;
    this.skipBlanks();
    if (this.startsWith('((')) {
      const end = this.matchParens(this.i);
      const arith = this.src.slice(this.i, end);
      this.i = end;
      this.skipSeparators();
      this.expectDoOrBrace();
      const body = this.parseList(new Set(['done']));
      this.expectWord('done');
      return { k: 'for', name: '', arith, body, pos, end: this.i };
    }
    const m = NAME_RE.exec(this.src.slice(this.i));
    if (!m) this.fail('loop variable name expected');
    this.i += m![0].length;
    this.skipNewlinesAndBlanks();
    let items: Word[] | undefined;
    if (this.peekToken() === 'in') {
      this.i += 2;
      items = [];
      for (;;) {
        this.skipBlanks();
        const c = this.src[this.i];
        if (c === undefined || c === ';' || c === '\n' || c === '#') break;
        items.push(this.parseWord(false));
      }
    }
    this.skipSeparators();
    this.expectDoOrBrace();
    const body = this.parseList(new Set(['done']));
    this.expectWord('done');
    return { k: 'for', name: m![0], ...(items ? { items } : {}), body, pos, end: this.i };
  }

  private expectDoOrBrace(): void {
    this.skipNewlines();
    this.expectWord('do');
  }

  private parseCase(pos: number): Cmd {
    this.i += 4;
    this.skipBlanks();
    const word = this.parseWord(false);
    this.skipNewlinesAndBlanks();
    this.expectWord('in');
    const arms: { patterns: Word[]; body: List }[] = [];
    for (;;) {
      this.skipNewlines();
      if (this.peekToken() === 'esac') break;
      if (this.src[this.i] === '(') this.i++;
      const patterns: Word[] = [];
      for (;;) {
        this.skipBlanks();
        patterns.push(this.parseWord(false));
        this.skipBlanks();
        if (this.src[this.i] === '|') {
          this.i++;
          continue;
        }
        break;
      }
      this.expect(')');
      const body = this.parseList(new Set(['esac']));
      arms.push({ patterns, body });
      this.skipBlanks();
      if (this.startsWith(';;&')) this.i += 3;
      else if (this.startsWith(';;') || this.startsWith(';&')) this.i += 2;
      else break;
    }
    this.skipNewlines();
    this.expectWord('esac');
    return { k: 'case', word, arms, pos, end: this.i };
  }

  private withRedirs(cmd: Cmd): Cmd {
    for (;;) {
      this.skipBlanks();
      const r = this.tryRedir();
      if (!r) return cmd;
      cmd.end = this.i;
    }
  }

  private parseSimple(): Cmd {
    const pos = this.i;
    const assigns: Assign[] = [];
    const words: Word[] = [];
    const redirs: Redir[] = [];
    let end = this.i; // end of the last word, so a trailing comment is not part of the command's text
    for (;;) {
      end = this.i;
      this.skipBlanks();
      const c = this.src[this.i];
      if (c === undefined || c === '\n' || c === ';' || c === '|' || c === ')') break;
      if (c === '&' && this.src[this.i + 1] !== '>') break;
      if (c === '(' ) this.fail('unexpected `(`');
      const r = this.tryRedir();
      if (r) {
        redirs.push(r);
        continue;
      }
      if (words.length === 0) {
        const a = this.tryAssign();
        if (a) {
          assigns.push(a);
          continue;
        }
      } else if (DECL_BUILTINS.has(literalOf(words[0]!) ?? '')) {
        const a = this.tryAssign();
        if (a) {
          words.push({ parts: a.value?.parts ?? [], pos: a.pos, end: a.end, decl: a });
          continue;
        }
      }
      words.push(this.parseWord(false));
    }
    if (assigns.length === 0 && words.length === 0 && redirs.length === 0) this.fail(`unexpected \`${this.peekToken() || 'end of input'}\``);
    return { k: 'simple', assigns, words, redirs, pos, end };
  }

  private tryAssign(): Assign | undefined {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?(\+?)=/.exec(this.src.slice(this.i));
    if (!m) return undefined;
    const pos = this.i;
    this.i += m[0].length;
    if (this.src[this.i] === '(') {
      this.i = this.matchParens(this.i);
      return { name: m[1]!, append: m[3] === '+', array: true, pos, end: this.i };
    }
    const value = this.parseWord(true);
    return { name: m[1]!, append: m[3] === '+', ...(m[2] ? { array: true } : { value }), pos, end: this.i };
  }

  private tryRedir(): Redir | undefined {
    const m = /^(\d+|\{[A-Za-z_][A-Za-z0-9_]*\})?(<<<|<<-|<<|>>|&>>|&>|<&|>&|<>|>\||<|>)/.exec(this.src.slice(this.i));
    if (!m) return undefined;
    if (this.src[this.i + m[0].length] === '(' && (m[2] === '<' || m[2] === '>')) return undefined; // process substitution
    this.i += m[0].length;
    this.skipBlanks();
    const op = m[2]!;
    const word = this.parseWord(false);
    if (op === '<<' || op === '<<-') {
      const delim = word.parts.map((p) => (p.k === 'lit' ? p.v : '')).join('');
      this.pendingHeredocs.push({ delim, strip: op === '<<-' });
    }
    return { op, word };
  }

  // ---- words ----

  /**
   * One word up to an unquoted metacharacter. `assignValue` allows a leading `~` after `=` and keeps
   * reading through an empty value (`X= cmd` gives an empty word).
   */
  private parseWord(assignValue: boolean): Word {
    const pos = this.i;
    const parts = this.readParts(pos, (c) => META.has(c), false);
    if (parts.length === 0 && !assignValue) this.fail(`unexpected \`${this.peekToken() || 'end of input'}\``);
    return { parts, pos, end: this.i };
  }

  /** Word parts until `stop(c)` is true for an unquoted character (not consumed). */
  private readParts(wordStart: number, stop: (c: string) => boolean, inDq: boolean): WordPart[] {
    const parts: WordPart[] = [];
    const lit = (v: string, quoted: boolean) => {
      const last = parts[parts.length - 1];
      if (last && last.k === 'lit' && last.quoted === quoted) last.v += v;
      else parts.push({ k: 'lit', v, quoted });
    };
    while (this.i < this.src.length) {
      const c = this.src[this.i]!;
      if (c === '\\' && this.src[this.i + 1] === '\n') {
        this.i += 2;
        continue;
      }
      if ((c === '<' || c === '>') && this.src[this.i + 1] === '(' && !inDq) {
        const start = this.i;
        this.i = this.matchParens(this.i + 1);
        parts.push({ k: 'procsubst', text: this.src.slice(start, this.i) });
        continue;
      }
      if (stop(c)) break;
      if (c === '\\') {
        const n = this.src[this.i + 1];
        if (n === undefined) {
          this.i++;
          lit('\\', true);
        } else if (inDq && !'$`"\\'.includes(n)) {
          lit('\\' + n, true);
          this.i += 2;
        } else {
          lit(n, true);
          this.i += 2;
        }
      } else if (c === "'" && !inDq) {
        const close = this.src.indexOf("'", this.i + 1);
        if (close < 0) this.fail('unclosed single quote');
        lit(this.src.slice(this.i + 1, close), true);
        this.i = close + 1;
      } else if (c === '"' && !inDq) {
        this.i++;
        const inner = this.readParts(wordStart, (ch) => ch === '"', true);
        if (this.src[this.i] !== '"') this.fail('unclosed double quote');
        this.i++;
        if (inner.length === 0) lit('', true);
        for (const p of inner) parts.push(p);
      } else if (c === '$' && this.src[this.i + 1] === '"' && !inDq) {
        this.i++; // $"…" (locale translation) reads like "…"
      } else if (c === '$') {
        parts.push(this.readDollar(inDq, lit));
      } else if (c === '`') {
        const start = this.i;
        let j = this.i + 1;
        while (j < this.src.length && this.src[j] !== '`') j += this.src[j] === '\\' ? 2 : 1;
        if (j >= this.src.length) this.fail('unclosed backquote');
        this.i = j + 1;
        parts.push({ k: 'cmdsubst', text: this.src.slice(start, this.i), quoted: inDq });
      } else if (c === '~' && !inDq && this.i === wordStart) {
        const m = /^~([A-Za-z0-9_.-]*)/.exec(this.src.slice(this.i))!;
        this.i += m[0].length;
        parts.push({ k: 'tilde', user: m[1]! });
      } else {
        lit(c, inDq);
        this.i++;
      }
    }
    return parts;
  }

  private readDollar(inDq: boolean, lit: (v: string, quoted: boolean) => void): WordPart {
    const start = this.i;
    const n = this.src[this.i + 1];
    if (n === '(' && this.src[this.i + 2] === '(') {
      this.i = this.matchParens(this.i + 1);
      return { k: 'arith', text: this.src.slice(start, this.i), quoted: inDq };
    }
    if (n === '(') {
      this.i += 2;
      const body = this.parseList(new Set());
      this.skipNewlines();
      this.expect(')');
      return { k: 'cmdsubst', text: this.src.slice(start, this.i), quoted: inDq, body };
    }
    if (n === '{') return this.readBraceParam(inDq);
    if (n === "'" && !inDq) {
      // ANSI-C quoting: the common escapes.
      let j = this.i + 2;
      let v = '';
      const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', e: '\x1b', '0': '\0' };
      while (j < this.src.length && this.src[j] !== "'") {
        if (this.src[j] === '\\' && j + 1 < this.src.length) {
          v += esc[this.src[j + 1]!] ?? '\\' + this.src[j + 1];
          j += 2;
        } else v += this.src[j++];
      }
      if (j >= this.src.length) this.fail("unclosed $'");
      this.i = j + 1;
      return { k: 'lit', v, quoted: true };
    }
    const m = NAME_RE.exec(this.src.slice(this.i + 1));
    if (m) {
      this.i += 1 + m[0].length;
      return { k: 'param', name: m[0], quoted: inDq, text: this.src.slice(start, this.i) };
    }
    if (n !== undefined && (/[1-9]/.test(n) || SPECIAL_PARAMS.has(n))) {
      this.i += 2;
      return { k: 'param', name: n, quoted: inDq, text: this.src.slice(start, this.i) };
    }
    // A lone `$` is literal.
    this.i++;
    lit('$', inDq);
    return { k: 'lit', v: '', quoted: inDq };
  }

  private readBraceParam(inDq: boolean): ParamPart {
    const start = this.i;
    this.i += 2;
    let unsupported: string | undefined;
    let op: string | undefined;
    if (this.src[this.i] === '!') {
      unsupported = 'indirect expansion ${!…}';
      this.i++;
    } else if (this.src[this.i] === '#' && this.src[this.i + 1] !== '}') {
      op = 'len';
      this.i++;
    }
    const m = /^([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!\-])/.exec(this.src.slice(this.i));
    if (!m) this.fail('bad ${…} substitution');
    const name = m![1]!;
    this.i += name.length;
    if (this.src[this.i] === '[') {
      unsupported ??= 'array subscript';
      const close = this.src.indexOf(']', this.i);
      if (close < 0) this.fail('unclosed [');
      this.i = close + 1;
    }
    const rest = this.src.slice(this.i);
    const om = /^(:-|:=|:\?|:\+|-|=|\?|\+|##|#|%%|%|\/\/|\/#|\/%|\/|\^\^|\^|,,|,|@|:)/.exec(rest);
    let arg: WordPart[] | undefined;
    let repl: WordPart[] | undefined;
    if (om && op !== 'len') {
      op = om[1]!;
      this.i += op.length;
      if (['^', '^^', ',', ',,', '@', ':'].includes(op)) unsupported ??= `\${…${op}…}`;
      if (op.startsWith('/')) {
        arg = this.readParts(this.i, (c) => c === '/' || c === '}', inDq);
        if (this.src[this.i] === '/') {
          this.i++;
          repl = this.readParts(this.i, (c) => c === '}', inDq);
        } else repl = [];
      } else {
        arg = this.readParts(this.i, (c) => c === '}', inDq);
      }
    }
    if (this.src[this.i] !== '}') this.fail('unclosed ${');
    this.i++;
    return {
      k: 'param',
      name,
      ...(op ? { op } : {}),
      ...(arg ? { arg } : {}),
      ...(repl ? { repl } : {}),
      ...(unsupported ? { unsupported } : {}),
      quoted: inDq,
      text: this.src.slice(start, this.i),
    };
  }

  // ---- low-level helpers ----

  /** Offset just past the `)` matching the `(` at `open`, skipping quotes. */
  private matchParens(open: number): number {
    let depth = 0;
    let j = open;
    while (j < this.src.length) {
      const c = this.src[j]!;
      if (c === '\\') j += 2;
      else if (c === "'") {
        const close = this.src.indexOf("'", j + 1);
        if (close < 0) break;
        j = close + 1;
      } else if (c === '"') {
        j++;
        while (j < this.src.length && this.src[j] !== '"') j += this.src[j] === '\\' ? 2 : 1;
        j++;
      } else {
        if (c === '(') depth++;
        else if (c === ')') {
          depth--;
          if (depth === 0) return j + 1;
        }
        j++;
      }
    }
    this.i = open;
    return this.fail('unbalanced parentheses');
  }

  /** Offset past the `]]` that closes a `[[`: a separate word, so `[[:space:]]` inside a pattern does not end it. */
  private endOfTest(from: number): number {
    let j = from;
    while (j < this.src.length) {
      const c = this.src[j]!;
      if (c === '\\') j += 2;
      else if (c === "'") {
        const close = this.src.indexOf("'", j + 1);
        if (close < 0) break;
        j = close + 1;
      } else if (c === '"') {
        j++;
        while (j < this.src.length && this.src[j] !== '"') j += this.src[j] === '\\' ? 2 : 1;
        j++;
      } else if (c === '$' && this.src[j + 1] === '(') j = this.matchParens(j + 1);
      else if (this.src.startsWith(']]', j) && /[ \t\n]/.test(this.src[j - 1] ?? ' ') && !/[^ \t\n;&|)]/.test(this.src[j + 2] ?? ' ')) return j + 2;
      else j++;
    }
    this.i = from;
    return this.fail('`[[` without `]]`');
  }

  private startsWith(s: string): boolean {
    return this.src.startsWith(s, this.i);
  }

  private skipBlanks(): void {
    for (;;) {
      const c = this.src[this.i];
      if (c === ' ' || c === '\t') this.i++;
      else if (c === '\\' && this.src[this.i + 1] === '\n') this.i += 2;
      else if (c === '#' && (this.i === 0 || /\s|[;&|()]/.test(this.src[this.i - 1]!))) {
        while (this.i < this.src.length && this.src[this.i] !== '\n') this.i++;
      } else return;
    }
  }

  private skipNewlines(): void {
    for (;;) {
      this.skipBlanks();
      if (this.src[this.i] !== '\n') return;
      this.i++;
      this.readHeredocBodies();
    }
  }

  private skipNewlinesAndBlanks(): void {
    this.skipNewlines();
  }

  private skipSeparators(): void {
    this.skipBlanks();
    if (this.src[this.i] === ';') this.i++;
    this.skipNewlines();
  }

  /** Here-document bodies start after the newline that ends the command line; their text runs no command here. */
  private readHeredocBodies(): void {
    while (this.pendingHeredocs.length > 0) {
      const { delim, strip } = this.pendingHeredocs.shift()!;
      for (;;) {
        if (this.i >= this.src.length) this.fail(`here-document delimited by end of input (wanted \`${delim}\`)`);
        let nl = this.src.indexOf('\n', this.i);
        if (nl < 0) nl = this.src.length;
        const line = this.src.slice(this.i, nl);
        this.i = Math.min(nl + 1, this.src.length);
        if ((strip ? line.replace(/^\t+/, '') : line) === delim) break;
      }
    }
  }

  private peekToken(): string {
    const rest = this.src.slice(this.i);
    const m = /^(;;&|;;|;&|&&|\|\||[;&|()\n]|[^\s;&|()<>]+)/.exec(rest);
    return m ? m[1]! : rest.slice(0, 1);
  }

  /** A reserved word counts only as a whole unquoted word. */
  private isReservedHere(): boolean {
    const tok = this.peekToken();
    return /^(if|then|elif|else|fi|do|done|case|esac|while|until|for|in|function|\{|\}|\[\[)$/.test(tok);
  }

  private expect(s: string): void {
    this.skipBlanks();
    if (!this.startsWith(s)) this.fail(`expected \`${s}\`, found \`${this.peekToken() || 'end of input'}\``);
    this.i += s.length;
  }

  private expectWord(w: string): void {
    this.skipNewlines();
    if (this.peekToken() !== w) this.fail(`expected \`${w}\`, found \`${this.peekToken() || 'end of input'}\``);
    this.i += w.length;
  }

  private fail(message: string): never {
    throw new ShellSyntaxError(message, this.i);
  }
}

/** The text of a word made only of unquoted literal parts, else undefined. */
export function literalOf(word: Word): string | undefined {
  if (word.parts.length !== 1) return undefined;
  const p = word.parts[0]!;
  return p.k === 'lit' && !p.quoted ? p.v : undefined;
}

export function parseShell(src: string): List {
  return new Parser(src).parseFile();
}
