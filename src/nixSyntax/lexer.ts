// A small lexical pass over Nix source that follows the rules of Nix's own lexer
// (src/libexpr/lexer.l) for comments, strings, paths and URIs.
//
// Why it exists: the Lezer Nix grammar misreads some valid Nix. Its string
// tokenizers do not implement Nix's escapes (`''${`, `'''`, `''\x` in indented
// strings; `$${` in strings is literal; a `\` in an indented string is literal),
// and it has no path interpolation (`./a/${x}`), no trailing comma in formals
// (`{ a, b, }:`), no `or` as an attribute name and no empty `inherit;`.
// We hand Lezer a *sanitized* copy of the text, of the same length, in which
// those are neutralised (string contents and comments blanked, and so on), so
// every offset Lezer reports is an offset into the original text, from which
// names and values are read.

export interface LexSpan {
  from: number;
  to: number;
}

export interface LexError {
  pos: number;
  message: string;
}

export interface LexResult {
  comments: LexSpan[];
  /** Literal parts of strings (between the quotes, outside `${ }`), escapes included. */
  stringContent: LexSpan[];
  /** Paths with interpolation, `./a/${x}`: the whole token, interpolations included. */
  interpolatedPaths: LexSpan[];
  /** Offsets of `,` right before the `}` of a function's formals (`{ a, b, }:`): valid Nix, not in the grammar. */
  trailingCommas: number[];
  /**
   * Offsets of `or` used as an attribute name (`{ or = …; }`, `x.or`, `inherit (lib) or;`): valid Nix, a keyword to the
   * grammar.
   */
  orNames: number[];
  /** `inherit;` statements, blanked for the grammar. */
  emptyInherits: LexSpan[];
  errors: LexError[];
}

const PATH_CHAR = /[a-zA-Z0-9._\-+]/;
const ID_START = /[a-zA-Z_]/;
const IDENT = /[a-zA-Z_][a-zA-Z0-9_'-]*/y;
const PATH = /[a-zA-Z0-9._\-+]*(?:\/[a-zA-Z0-9._\-+]+)+\/?/y;
// Same as Nix's URI token; it can contain `'`, `*`, `/` and `$`, so it must be read as one unit.
const URI = /[a-zA-Z][a-zA-Z0-9+\-.]*:[a-zA-Z0-9%/?:@&=+$,\-_.!~*']+/y;
// A path segment directly followed by `${`: the start of an interpolated path.
const PATH_INTERP_START = /(?:~\/|[a-zA-Z0-9._\-+]*(?:\/[a-zA-Z0-9._\-+]+)*\/)(?=\$\{)/y;

// `,` then only blanks and comments up to `}`.
const TRAILING_COMMA = /,(?:\s|#[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*\}/y;
const OR_NAME_AFTER = /or\s*(?:=(?!=)|\.)/y;
// `inherit;` (nothing inherited) is valid Nix; the grammar wants at least one name.
const EMPTY_INHERIT = /inherit\s*;/y;
const sticky = (re: RegExp, text: string, i: number): boolean => {
  re.lastIndex = i;
  return re.test(text);
};

/**
 * `or` is an attribute name after `.`, inside an inherit, or before a binding's `=`; elsewhere it is the `or` of a
 * selection.
 */
function isOrName(text: string, i: number, prevCode: string, inInherit: boolean): boolean {
  if (inInherit || prevCode === '.') return true;
  return sticky(OR_NAME_AFTER, text, i);
}

type Frame =
  | { kind: 'brace' } // `{` in code
  | { kind: 'interp'; resume: 'string' | 'ind' | 'path' }; // `${` and where to go after its `}`

export function lexNix(text: string): LexResult {
  const comments: LexSpan[] = [];
  const stringContent: LexSpan[] = [];
  const interpolatedPaths: LexSpan[] = [];
  const trailingCommas: number[] = [];
  const orNames: number[] = [];
  const emptyInherits: LexSpan[] = [];
  let prevCode = ''; // last non-blank code character before the current token
  let inInherit = false; // between `inherit` and its `;`
  const errors: LexError[] = [];
  const stack: Frame[] = [];
  let state: 'code' | 'string' | 'ind' | 'path' = 'code';
  let i = 0;
  let runEnd = 0; // end of the run of path characters around i (see below)
  let contentStart = -1; // start of the current run of string content
  let pathStart = -1;
  const openStrings: number[] = []; // starts of strings we are inside (through interpolations)

  const flushContent = (end: number): void => {
    if (contentStart >= 0 && end > contentStart) stringContent.push({ from: contentStart, to: end });
    contentStart = -1;
  };
  const content = (n: number): void => {
    if (contentStart < 0) contentStart = i;
    i += n;
  };
  const readPathTail = (): void => {
    // After an interpolation or the first segment: more path characters, `/`, or `${`.
    while (i < text.length && (PATH_CHAR.test(text[i]) || text[i] === '/')) i++;
    if (text.startsWith('${', i)) {
      stack.push({ kind: 'interp', resume: 'path' });
      state = 'code';
      i += 2;
    } else {
      interpolatedPaths.push({ from: pathStart, to: i });
      state = 'code';
    }
  };

  while (i < text.length) {
    const ch = text[i];
    if (state === 'code') {
      const before = prevCode;
      if (!/\s/.test(ch) && ch !== '#' && !text.startsWith('/*', i)) prevCode = ch;
      if (ch === '#') {
        const end = text.indexOf('\n', i);
        const to = end < 0 ? text.length : end;
        comments.push({ from: i, to });
        i = to;
      } else if (text.startsWith('/*', i)) {
        const end = text.indexOf('*/', i + 2);
        if (end < 0) errors.push({ pos: i, message: 'unterminated block comment' });
        const to = end < 0 ? text.length : end + 2;
        comments.push({ from: i, to });
        i = to;
      } else if (ch === '"') {
        openStrings.push(i);
        state = 'string';
        i++;
      } else if (text.startsWith("''", i)) {
        openStrings.push(i);
        state = 'ind';
        i += 2;
      } else if (text.startsWith('${', i)) {
        // Only valid as a dynamic attribute name; Lezer handles it in code.
        stack.push({ kind: 'brace' });
        i += 2;
      } else if (ch === ';') {
        inInherit = false;
        i++;
      } else if (ch === ',' && sticky(TRAILING_COMMA, text, i)) {
        trailingCommas.push(i);
        i++;
      } else if (ch === '{') {
        stack.push({ kind: 'brace' });
        i++;
      } else if (ch === '}') {
        const top = stack.pop();
        i++;
        if (top?.kind === 'interp') {
          state = top.resume;
          if (state === 'path') readPathTail();
          else contentStart = -1;
        }
      } else {
        // Nix reads the longest token here (flex): an identifier (which may contain
        // `'`, so `foo''` does not open a string), a URI, a path or an interpolated path.
        const at = (re: RegExp): number => {
          re.lastIndex = i;
          return re.exec(text)?.[0].length ?? 0;
        };
        // A path or URI needs `/` or `:` right after the run of path characters it starts with (or `~/`):
        // found once per run (runEnd only moves forward), so the regexes below never rescan a long
        // run such as `a.b.c.…` at each of its tokens (that was quadratic in the line's length).
        if (runEnd <= i) {
          runEnd = i;
          while (runEnd < text.length && PATH_CHAR.test(text[runEnd])) runEnd++;
        }
        const maybePath = ch === '~' || text[runEnd] === '/' || text[runEnd] === ':';
        const interp = maybePath ? at(PATH_INTERP_START) : 0;
        const len = Math.max(ID_START.test(ch) ? at(IDENT) : 0, maybePath ? at(URI) : 0, maybePath ? at(PATH) : 0, 1);
        if (interp > 0 && interp >= len) {
          pathStart = i;
          i += interp;
          state = 'path';
          readPathTail();
        } else {
          if (len === 2 && text.startsWith('or', i) && isOrName(text, i, before, inInherit)) orNames.push(i);
          if (len === 7 && text.startsWith('inherit', i)) {
            inInherit = true;
            if (sticky(EMPTY_INHERIT, text, i)) emptyInherits.push({ from: i, to: EMPTY_INHERIT.lastIndex });
          }
          i += len;
          prevCode = text[i - 1]!;
        }
      }
    } else if (state === 'string') {
      if (ch === '"') {
        flushContent(i);
        openStrings.pop();
        state = 'code';
        i++;
      } else if (ch === '\\') content(2);
      else if (ch === '$' && text[i + 1] === '{') {
        flushContent(i);
        stack.push({ kind: 'interp', resume: 'string' });
        state = 'code';
        i += 2;
      } else if (ch === '$' && text[i + 1] !== '"' && text[i + 1] !== '\\')
        content(2); // `$$` is literal, so `$${x}` is not interpolation
      else content(1);
    } else if (state === 'ind') {
      if (text.startsWith("''", i)) {
        const next = text[i + 2];
        if (next === "'" || next === '$')
          content(3); // `'''` → `''`, `''$` → `$`
        else if (next === '\\')
          content(4); // `''\n`, `''\t`, …
        else {
          flushContent(i);
          openStrings.pop();
          state = 'code';
          i += 2;
        }
      } else if (ch === '$' && text[i + 1] === '{') {
        flushContent(i);
        stack.push({ kind: 'interp', resume: 'ind' });
        state = 'code';
        i += 2;
      } else if (ch === '$' && text[i + 1] !== "'") content(2);
      else content(1);
    }
  }
  if (state === 'string' || state === 'ind') {
    flushContent(text.length);
    errors.push({ pos: openStrings[openStrings.length - 1] ?? 0, message: 'unterminated string' });
  } else if (state === 'path') interpolatedPaths.push({ from: pathStart, to: text.length });
  // An interpolation left open inside a string: report the string it belongs to.
  if (state === 'code' && stack.some((f) => f.kind === 'interp') && openStrings.length > 0) {
    errors.push({
      pos: openStrings[openStrings.length - 1],
      message: 'unterminated string (interpolation not closed)',
    });
  }
  return { comments, stringContent, interpolatedPaths, trailingCommas, orNames, emptyInherits, errors };
}

/** Replaces every non-newline character of the spans with a space (offsets and lines unchanged). */
function blank(text: string, spans: LexSpan[]): string {
  if (spans.length === 0) return text;
  const chars = text.split('');
  for (const s of spans) for (let k = s.from; k < s.to; k++) if (chars[k] !== '\n' && chars[k] !== '\r') chars[k] = ' ';
  return chars.join('');
}

/** Comments replaced by spaces, same offsets and lines; strings untouched. */
export function stripComments(text: string): string {
  return blank(text, lexNix(text).comments);
}

/**
 * The text Lezer parses, same length and lines: comments, string contents,
 * trailing formal commas and `inherit;` blanked, `or` names renamed `o_`, and each
 * interpolated path replaced by an identifier-like placeholder.
 */
export function sanitizeForLezer(text: string, lex: LexResult = lexNix(text)): string {
  let out = blank(text, [
    ...lex.comments,
    ...lex.stringContent,
    ...lex.emptyInherits,
    ...lex.trailingCommas.map((c) => ({ from: c, to: c + 1 })),
  ]);
  // `o_` is an Identifier of the same length; names are read from the original text.
  for (const o of lex.orNames) out = out.slice(0, o) + 'o_' + out.slice(o + 2);
  for (const p of lex.interpolatedPaths) {
    // `p___…`: one Identifier per line, so it stays an expression.
    const piece = text
      .slice(p.from, p.to)
      .split('\n')
      .map((line) => (line.length === 0 ? '' : 'p' + '_'.repeat(line.length - 1)))
      .join('\n');
    out = out.slice(0, p.from) + piece + out.slice(p.to);
  }
  return out;
}
