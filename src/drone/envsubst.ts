// Drone's `${…}` substitution, applied to the whole .drone.yml text before the YAML is parsed.
//
// Who does it, with what (drone-runner-exec runtime/runner.go; drone/envsubst v1.0.x, go.mod):
// - The runner evaluates `envsubst.Eval(config, subf)` on the raw configuration, then parses the result.
//   `subf(name)` reads environ.Combine(runner Environ (DRONE_RUNNER_ENVIRON, the DRONE_RUNNER_ENVFILE file,
//   DRONE_RUNNER_PATH as PATH: runnerEnv.ts), System, Repo, Build, Stage, Link, the build's params); a value
//   with a newline is replaced by its Go-quoted form (`%q`). Secrets are not among them. A name none of them
//   sets becomes empty. A parse error fails the stage ("cannot emulate bash substitution"): no step runs.
// - Variables known per build only (runner-go environ: DRONE_*, CI_* of the system, repo, build, stage and
//   link; the build's params, which only promotions, rollbacks and API/custom builds carry) are `unknown`
//   here; `CI` and `DRONE` are always "true". The lookup is the caller's (dronePipeline's default below).
//
// Grammar (drone/envsubst parse/parse.go, parse/scan.go), every construct:
//   text       anything; `$$` is a literal `$` (so `$${X}` is the text `${X}`); a bare `$NAME` is text
//   ${NAME}                      the value                       (NAME: letters, digits, `_`, at least one)
//   ${#NAME}                     its length
//   ${NAME:-w} ${NAME:=w} ${NAME=w} ${NAME:?w} ${NAME:+w}   all "the value, or w when it is empty" (toDefault:
//                                envsubst assigns nothing and `:+`/`:?` behave as `:-`); w may hold ${…}
//   ${NAME:pos} ${NAME:pos:len}  substring (Atoi; a bad number keeps the value; negative pos from the end)
//   ${NAME,} ${NAME,,} ${NAME^} ${NAME^^}  case (other mixes keep the value)
//   ${NAME#p} ${NAME##p} ${NAME%p} ${NAME%%p}  prefix/suffix removal by a glob (Go path.Match, modified)
//   ${NAME/a/b} ${NAME//a/b} ${NAME/#a/b} ${NAME/%a/b}  literal replace (first, all, prefix, suffix);
//                                `\/` and `\\` escape inside a and b; b may be missing
//   anything else after NAME (e.g. `${NAME-w}`), an empty NAME or a missing `}` is a parse error.
// Implemented: all of the above, except removal patterns with glob characters (`*?[\`): their value is
// "cannot follow" (the modified path.Match is not modelled), as is a negative substring length (Go panics).
// An expansion that reads an unknown variable is replaced by a marker (MARK_OPEN n MARK_CLOSE) that the
// caller turns into "cannot follow" where it matters (a step that runs the script, its PATH).

export type Lookup = (name: string) => { value: string } | { unknown: string };

export interface Unresolved {
  /** The marker that stands for the value in the substituted text. */
  marker: string;
  /** The expression as written, `${…}`. */
  expr: string;
  line: number;
  why: string;
}

export interface Substituted {
  text: string;
  unresolved: Unresolved[];
  /** The runner cannot substitute the file: the stage fails before any step runs. */
  error?: { message: string; line: number };
}

export const MARK_OPEN = '\uE000';
export const MARK_CLOSE = '\uE001';
const MARK_RE = /\uE000(\d+)\uE001/g;

/** The markers in a text, as indexes into `unresolved`. */
export function markersIn(text: string): number[] {
  return [...text.matchAll(MARK_RE)].map((m) => Number(m[1]));
}

class ParseError extends Error {}

type Node =
  { k: 'text'; v: string } | { k: 'func'; param: string; name: string; args: Node[][]; start: number; end: number };

class Parser {
  pos = 0;
  constructor(readonly s: string) {}

  /** parseAny: text up to `${`, `$$` → `$`. */
  parseAny(): Node[] {
    const out: Node[] = [];
    let text = '';
    while (this.pos < this.s.length) {
      if (this.s.startsWith('${', this.pos)) {
        if (text) out.push({ k: 'text', v: text });
        text = '';
        const start = this.pos;
        this.pos += 2;
        out.push(this.parseFunc(start));
        continue;
      }
      if (this.s.startsWith('$$', this.pos)) {
        text += '$';
        this.pos += 2;
        continue;
      }
      text += this.s[this.pos++];
    }
    if (text) out.push({ k: 'text', v: text });
    return out;
  }

  private peek(): string {
    return this.s[this.pos] ?? '';
  }

  private ident(): string {
    const m = /^[\p{L}\p{N}_]+/u.exec(this.s.slice(this.pos));
    if (!m) throw new ParseError('unable to parse variable name');
    this.pos += m[0].length;
    return m[0];
  }

  private rbrack(): void {
    if (this.peek() !== '}') throw new ParseError('bad substitution');
    this.pos++;
  }

  /** parseParam: a nested `${…}`, or text the accept function takes (stopping before `${`), at least one character. */
  private param(accept: (ch: string) => boolean, escapes: boolean): Node[] {
    if (this.s.startsWith('${', this.pos)) {
      const start = this.pos;
      this.pos += 2;
      return [this.parseFunc(start)];
    }
    let v = '';
    while (this.pos < this.s.length) {
      if (v && this.s.startsWith('${', this.pos)) break;
      const ch = this.s[this.pos];
      if (escapes && ch === '\\' && (this.s[this.pos + 1] === '/' || this.s[this.pos + 1] === '\\')) {
        v += this.s[this.pos + 1];
        this.pos += 2;
        continue;
      }
      if (!accept(ch)) break;
      v += ch;
      this.pos++;
    }
    if (!v) throw new ParseError('unable to parse substitution within function');
    return [{ k: 'text', v }];
  }

  private parseFunc(start: number): Node {
    const node = (param: string, name: string, args: Node[][]): Node => ({
      k: 'func',
      param,
      name,
      args,
      start,
      end: this.pos,
    });
    if (this.peek() === '#') {
      this.pos++;
      const param = this.ident();
      this.rbrack();
      return node(param, '#', []);
    }
    const param = this.ident();
    const c = this.peek();
    if (c === ':') {
      const next = this.s[this.pos + 1] ?? '';
      if ('=-?+'.includes(next) && next !== '') {
        this.pos += 2;
        return this.defaults(param, `:${next}`, start);
      }
      this.pos++;
      const args = [this.param((ch) => ch !== ':' && ch !== '}', false)];
      if (this.peek() === '}') {
        this.pos++;
        return node(param, ':', args);
      }
      if (this.peek() !== ':') throw new ParseError('bad substitution');
      this.pos++;
      args.push(this.param((ch) => ch !== '}', false));
      this.rbrack();
      return node(param, ':', args);
    }
    if (c === '=') {
      this.pos++;
      return this.defaults(param, '=', start);
    }
    if (c === ',' || c === '^') {
      let name = '';
      while (name.length < 2 && (this.peek() === ',' || this.peek() === '^')) name += this.s[this.pos++];
      this.rbrack();
      return node(param, name, []);
    }
    if (c === '/') {
      this.pos++;
      let name = '/';
      if ('/#%'.includes(this.peek()) && this.peek() !== '') name += this.s[this.pos++];
      const args = [this.param((ch) => ch !== '/', true)];
      if (this.peek() !== '/') throw new ParseError('bad substitution');
      this.pos++;
      if (this.peek() === '}') {
        this.pos++;
        return node(param, name, args);
      }
      args.push(this.param((ch) => ch !== '}', true));
      this.rbrack();
      return node(param, name, args);
    }
    if (c === '#' || c === '%') {
      let name = '';
      while (name.length < 2 && this.peek() === c) name += this.s[this.pos++];
      const args = [this.param((ch) => ch !== '}', false)];
      this.rbrack();
      return node(param, name, args);
    }
    if (c !== '}') throw new ParseError('missing closing brace');
    this.pos++;
    return node(param, '', []);
  }

  private defaults(param: string, name: string, start: number): Node {
    const args: Node[][] = [];
    for (;;) {
      if (this.pos >= this.s.length) throw new ParseError('unable to parse substitution within function');
      if (this.peek() === '}') {
        this.pos++;
        return { k: 'func', param, name, args, start, end: this.pos };
      }
      args.push(this.param((ch) => ch !== '}', false));
    }
  }
}

type Value = { value: string } | { unknown: string };

const GLOB = /[*?[\\]/;

function goAtoi(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}

/** The function a FuncNode applies (lookupFunc), on a known value; undefined args are absent. */
function apply(name: string, v: string, args: string[]): Value {
  switch (name) {
    case '':
      return { value: v };
    case ',':
      return { value: v ? v[0].toLowerCase() + v.slice(1) : v };
    case ',,':
      return { value: v.toLowerCase() };
    case '^':
      return { value: v ? v[0].toUpperCase() + v.slice(1) : v };
    case '^^':
      return { value: v.toUpperCase() };
    case '#':
    case '##':
    case '%':
    case '%%': {
      if (name === '#' && args.length === 0) return { value: String(Buffer.byteLength(v)) };
      const p = args[0];
      if (GLOB.test(p))
        return { unknown: `the pattern \`${p}\` has glob characters (envsubst's modified path.Match is not modelled)` };
      if (p === '') return { value: v };
      if (name.startsWith('#')) return { value: v.startsWith(p) ? v.slice(p.length) : v };
      return { value: v.endsWith(p) ? v.slice(0, v.length - p.length) : v };
    }
    case ':': {
      const pos0 = goAtoi(args[0]);
      if (pos0 === undefined) return { value: v };
      const pos = pos0 < 0 ? Math.max(0, v.length + pos0) : pos0;
      if (args.length === 1) return { value: pos < v.length ? v.slice(pos) : '' };
      const len = goAtoi(args[1]);
      if (len === undefined) return { value: v };
      if (pos + len >= v.length) return { value: pos < v.length ? v.slice(pos) : '' };
      if (len < 0) return { unknown: 'a negative substring length (the Go code panics)' };
      return { value: v.slice(pos, pos + len) };
    }
    case '/':
      return { value: args[0] === '' ? v : v.replace(args[0], args[1] ?? '') };
    case '//':
      return { value: args[0] === '' ? v : v.split(args[0]).join(args[1] ?? '') };
    case '/#':
      return { value: args.length === 2 && v.startsWith(args[0]) ? v.replace(args[0], args[1]) : v };
    case '/%':
      return {
        value: args.length === 2 && v.endsWith(args[0]) ? v.slice(0, v.length - args[0].length) + args[1] : v,
      };
    default:
      // `:-`, `:=`, `=`, `:?`, `:+` and any other name: toDefault.
      return { value: v === '' && args.length > 0 ? args.join('') : v };
  }
}

function lineOf(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') n++;
  return n;
}

/** Go's `%q` of a string (ASCII escapes as Go writes them; enough for the value's shape). */
function goQuote(v: string): string {
  return JSON.stringify(v);
}

/** Substitutes `text` as the runner does; unknown values become markers listed in `unresolved`. */
export function substitute(text: string, lookup: Lookup): Substituted {
  const unresolved: Unresolved[] = [];
  let nodes: Node[];
  const p = new Parser(text);
  try {
    nodes = p.parseAny();
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    return {
      text,
      unresolved,
      error: {
        message: `Drone cannot substitute the file (${e.message}): the stage fails before any step runs`,
        line: lineOf(text, p.pos),
      },
    };
  }
  const evalList = (list: Node[]): Value => {
    let out = '';
    for (const n of list) {
      const v = evalNode(n);
      if ('unknown' in v) return v;
      out += v.value;
    }
    return { value: out };
  };
  const evalNode = (n: Node): Value => {
    if (n.k === 'text') return { value: n.v };
    const args: string[] = [];
    for (const a of n.args) {
      const v = evalList(a);
      if ('unknown' in v) return v;
      args.push(v.value);
    }
    const got = lookup(n.param);
    if ('unknown' in got) return { unknown: got.unknown };
    const value = got.value.includes('\n') ? goQuote(got.value) : got.value;
    return apply(n.name, value, args);
  };
  let out = '';
  for (const n of nodes) {
    if (n.k === 'text') {
      out += n.v;
      continue;
    }
    const v = evalNode(n);
    if ('value' in v) {
      out += v.value;
      continue;
    }
    const marker = `${MARK_OPEN}${unresolved.length}${MARK_CLOSE}`;
    unresolved.push({ marker, expr: text.slice(n.start, n.end), line: lineOf(text, n.start), why: v.unknown });
    out += marker;
  }
  return { text: out, unresolved };
}

/** The build variables runner-go's environ package sets (System, Repo, Build, Stage, Link): values per build. */
const PER_BUILD = /^(DRONE|CI)_[A-Z0-9_]+$/;

/**
 * The lookup the runner uses: Drone's per-build variables (unknown here; `CI`/`DRONE` are "true") over the
 * runner's global environment; anything else is empty. A normal build (push, pull request, tag, cron) has
 * no params; a custom build's params could set any name, which the verifier does not model.
 */
export function runnerLookup(environ: ReadonlyMap<string, { value: string }> | undefined): Lookup {
  return (name) => {
    if (name === 'CI' || name === 'DRONE') return { value: 'true' };
    if (PER_BUILD.test(name))
      return { unknown: `${name} is set by Drone for each build; its value is not known before the build` };
    if (environ === undefined)
      return { unknown: `${name} comes from the runner's environment, which is not known here` };
    return { value: environ.get(name)?.value ?? '' };
  };
}

/** Where the unknown `${…}` values in a text come from, as a "cannot follow" message (undefined: none). */
export function describeMarkers(text: string, sub: Pick<Substituted, 'unresolved'>, file: string): string | undefined {
  const found = [...new Set(markersIn(text))]
    .map((i) => sub.unresolved[i])
    .filter((u): u is Unresolved => u !== undefined);
  if (found.length === 0) return undefined;
  return `cannot follow: Drone substitutes ${found.map((u) => `\`${u.expr}\` at ${file}:${u.line} (${u.why})`).join(', ')} before parsing the file`;
}
