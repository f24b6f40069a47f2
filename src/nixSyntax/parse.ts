// Definitions (bound names) in Nix source, found on the Lezer Nix grammar's tree.
import type { SyntaxNode } from '@lezer/common';
import { parser } from '@replit/codemirror-lang-nix';
import { TooDeepError } from '../bounded.js';
import { lexNix, sanitizeForLezer } from './lexer.js';

/** Deepest syntax tree parseNix follows (a `++` chain or nested brackets each add a level). */
export const MAX_NIX_DEPTH = 1000;
/** Longest run of name and path characters (an attribute path, a path, a URI) parseNix reads. */
export const MAX_NIX_RUN = 4096;
import type { Definition, DefinitionKind, DefinitionScope, NixParse, NixSyntaxErrorInfo, ValueSpan } from './types.js';

/** Offsets → 1-based line/column. */
function locator(text: string): (pos: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return (pos) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: pos - starts[lo] + 1 };
  };
}

const children = (node: SyntaxNode): SyntaxNode[] => {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
};

/** The value of a `"…"` literal without interpolation. */
function decodeString(src: string): string {
  return src.slice(1, -1).replace(/\\(.)/gs, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? c);
}

const NOT_LIST = new Set([
  'AttrSet',
  'RecAttrSet',
  'LetAttrSet',
  'String',
  'IndentedString',
  'Integer',
  'Float',
  'Boolean',
  'Null',
  'Path',
  'HPath',
  'SPath',
  'URI',
  'Function',
  'UnaryExpr',
]);

export function parseNix(text: string, file?: string): NixParse {
  const lex = lexNix(text);
  const code = sanitizeForLezer(text, lex);
  const loc = locator(text);
  // The grammar's tokenizer rescans a run of name and path characters at each token in it: a run
  // longer than MAX_NIX_RUN (`a.b.c.…` over a whole line) is "cannot follow", not minutes of parsing.
  for (let i = 0, start = 0; i <= code.length; i++) {
    if (i < code.length && /[A-Za-z0-9._\-+/:~']/.test(code[i])) continue;
    if (i - start > MAX_NIX_RUN) {
      const at = loc(start);
      throw new TooDeepError(
        `${file ?? 'line'}:${at.line}:${at.column}`,
        MAX_NIX_RUN,
        `a run of ${i - start} name or path characters`,
      );
    }
    start = i + 1;
  }
  const tree = parser.parse(code);
  const definitions: Definition[] = [];
  const errors: NixSyntaxErrorInfo[] = [];
  const src = (n: { from: number; to: number }): string => text.slice(n.from, n.to);
  const addError = (pos: number, message: string): void => {
    // Error recovery can leave several error nodes at one place (e.g. at the end of input).
    if (!errors.some((e) => e.pos === pos && e.message === message)) errors.push({ ...loc(pos), message, pos });
  };

  // Bounded resources (issue 16): the walks below follow the tree recursively and cost more with
  // depth, so a file nested deeper than MAX_NIX_DEPTH syntax levels is "cannot follow" (a check
  // error naming file:line), never a stack overflow or a hang. Lezer itself parses iteratively.
  {
    let depth = 0;
    let deepest: number | undefined;
    tree.iterate({
      enter: (n) => {
        if (deepest !== undefined) return false;
        if (++depth > MAX_NIX_DEPTH) {
          deepest = n.from;
          return false;
        }
        return true;
      },
      leave: () => {
        depth--;
      },
    });
    if (deepest !== undefined) {
      const at = loc(deepest);
      throw new TooDeepError(`${file ?? 'line'}:${at.line}:${at.column}`, MAX_NIX_DEPTH);
    }
  }
  for (const e of lex.errors) addError(e.pos, e.message);
  for (const p of lex.interpolatedPaths) {
    // The placeholder hides the interpolated code from Lezer; say so rather than miss a binding in it.
    if (/[^=!<>]=(?!=)|\binherit\b/.test(stripStrings(text, p.from, p.to, lex)))
      addError(p.from, 'bindings inside a path interpolation are not analysed');
  }
  tree.iterate({
    enter: (n) => {
      if (!n.type.isError) return;
      if (n.to > n.from) addError(n.from, `unexpected ${JSON.stringify(truncate(text.slice(n.from, n.to)))}`);
      else {
        const next = /\S+/.exec(text.slice(n.from, n.from + 200));
        addError(
          n.from,
          next ? `syntax error before ${JSON.stringify(truncate(next[0]))}` : 'syntax error: unexpected end of input',
        );
      }
    },
  });

  /** Name of one AttrPath / inherit element, and whether it is a literal name. */
  const elementName = (el: SyntaxNode): { name: string; literal: boolean } => {
    if (el.name === 'Identifier') return { name: src(el), literal: true };
    if (el.name === 'String' && !el.getChild('Interpolation')) return { name: decodeString(src(el)), literal: true };
    if (el.name === 'Interpolation') {
      // `${"name"}` is a literal name; anything else is computed at evaluation time.
      const inner = children(el).filter((c) => c.name !== '}');
      if (inner.length === 1 && inner[0].name === 'String' && !inner[0].getChild('Interpolation'))
        return { name: decodeString(src(inner[0])), literal: true };
    }
    return { name: src(el), literal: false };
  };
  const isNameElement = (n: SyntaxNode): boolean =>
    n.name === 'Identifier' || n.name === 'String' || n.name === 'Interpolation';

  const valueSpan = (first: SyntaxNode, last: SyntaxNode): ValueSpan => ({
    from: first.from,
    to: last.to,
    text: text.slice(first.from, last.to),
    node: first === last ? first.name : 'Error',
    shape: first === last ? shapeOf(first) : 'unknown',
  });

  /** Whether an expression is a list, looking through wrappers that keep the body's type. */
  const shapeOf = (n: SyntaxNode): ValueSpan['shape'] => {
    const body = n.lastChild;
    switch (n.name) {
      case 'List':
        return 'list';
      case 'Parenthesized': {
        const inner = n.firstChild?.nextSibling; // between `(` and `)`
        return inner && inner.name !== ')' ? shapeOf(inner) : 'unknown';
      }
      case 'With':
      case 'Let':
      case 'Assert':
        return body ? shapeOf(body) : 'unknown';
      case 'BinaryExpr': {
        const [l, r] = [n.firstChild, n.lastChild];
        if (!l || !r) return 'unknown';
        return code.slice(l.to, r.from).trim().startsWith('++') ? 'list' : 'not-list';
      }
      default:
        return NOT_LIST.has(n.name) ? 'not-list' : 'unknown';
    }
  };

  const push = (d: Omit<Definition, 'line' | 'column' | 'file'>): void => {
    definitions.push({ ...d, ...loc(d.nameFrom), ...(file === undefined ? {} : { file }) });
  };

  /** End of a statement: just past the `;` that follows pos (comments are already blanked). */
  const statementEnd = (pos: number): number => {
    const semi = /\s*;/y;
    semi.lastIndex = pos;
    return semi.test(code) ? semi.lastIndex : pos;
  };

  const walk = (node: SyntaxNode, enclosing: string[]): void => {
    switch (node.name) {
      case 'AttrSet': {
        const p = node.parent?.name;
        bindsIn(node, p === 'RecAttrSet' ? 'rec-attrset' : p === 'LetAttrSet' ? 'let' : 'attrset', enclosing);
        return;
      }
      case 'Let':
        bindsIn(node, 'let', enclosing);
        return;
      case 'Function':
        functionArgs(node, enclosing);
        return;
    }
    for (const c of children(node)) walk(c, enclosing);
  };

  const bindsIn = (container: SyntaxNode, scope: DefinitionScope, enclosing: string[]): void => {
    const kids = children(container);
    for (let i = 0; i < kids.length; i++) {
      const k = kids[i];
      if (k.name === 'Bind') bind(k, scope, enclosing);
      else if (k.name === 'inherit') i = inherit(kids, i, scope, enclosing);
      else walk(k, enclosing);
    }
  };

  const bind = (node: SyntaxNode, scope: DefinitionScope, enclosing: string[]): void => {
    const kids = children(node);
    const pathNode = kids[0]?.name === 'AttrPath' ? kids[0] : undefined;
    const rest = pathNode ? kids.slice(1) : kids;
    const elements = pathNode ? children(pathNode).filter(isNameElement) : [];
    const names = elements.map(elementName);
    const attrPath = names.map((n) => n.name);
    // Code inside `${…}` names can bind names of its own.
    for (const el of elements) if (el.name === 'Interpolation') walk(el, enclosing);
    const last = elements[elements.length - 1];
    if (last) {
      push({
        name: attrPath[attrPath.length - 1],
        kind: 'binding',
        attrPath,
        scope,
        text: src(node),
        ...(rest.length > 0 ? { value: valueSpan(rest[0], rest[rest.length - 1]) } : {}),
        from: node.from,
        to: node.to,
        nameFrom: last.from,
        nameTo: last.to,
        enclosing,
        ...(names.some((n) => !n.literal) ? { dynamic: true as const } : {}),
      });
    }
    for (const c of rest) walk(c, [...enclosing, ...attrPath]);
  };

  /** `inherit a b;` / `inherit (e) a b;` starting at kids[i]; returns the index of its last element. */
  const inherit = (kids: SyntaxNode[], i: number, scope: DefinitionScope, enclosing: string[]): number => {
    const kw = kids[i];
    let j = i + 1;
    let fromExpr: string | undefined;
    if (kids[j]?.name === '(') {
      const open = kids[j];
      j++;
      while (j < kids.length && kids[j].name !== ')') walk(kids[j++], enclosing);
      fromExpr = text.slice(open.to, kids[j]?.from ?? open.to).trim();
      if (j < kids.length) j++;
    }
    const elements: SyntaxNode[] = [];
    while (j < kids.length && isNameElement(kids[j])) elements.push(kids[j++]);
    const end = statementEnd(elements[elements.length - 1]?.to ?? kids[j - 1].to);
    for (const el of elements) {
      const n = elementName(el);
      push({
        name: n.name,
        kind: fromExpr === undefined ? 'inherit' : 'inherit-from',
        attrPath: [n.name],
        scope,
        text: text.slice(kw.from, end),
        from: kw.from,
        to: end,
        nameFrom: el.from,
        nameTo: el.to,
        enclosing,
        ...(n.literal ? {} : { dynamic: true as const }),
        ...(fromExpr === undefined ? {} : { inheritFrom: fromExpr }),
      });
      if (el.name === 'Interpolation') walk(el, enclosing);
    }
    return j - 1;
  };

  const functionArgs = (node: SyntaxNode, enclosing: string[]): void => {
    const kids = children(node);
    const body = kids[kids.length - 1];
    for (const k of kids.slice(0, -1)) {
      if (k.name === 'Identifier') {
        push({
          name: src(k),
          kind: 'argument',
          attrPath: [src(k)],
          scope: 'function',
          text: src(k),
          from: k.from,
          to: k.to,
          nameFrom: k.from,
          nameTo: k.to,
          enclosing,
        });
      } else if (k.name === 'Formal') {
        const [id, ...dflt] = children(k);
        if (id?.name !== 'Identifier') continue;
        push({
          name: src(id),
          kind: 'formal',
          attrPath: [src(id)],
          scope: 'function',
          text: src(k),
          ...(dflt.length > 0 ? { value: valueSpan(dflt[0], dflt[dflt.length - 1]) } : {}),
          from: k.from,
          to: k.to,
          nameFrom: id.from,
          nameTo: id.to,
          enclosing,
        });
        for (const d of dflt) walk(d, enclosing);
      } else walk(k, enclosing);
    }
    if (body) walk(body, enclosing);
  };

  walk(tree.topNode, []);
  definitions.sort((a, b) => a.nameFrom - b.nameFrom);
  errors.sort((a, b) => a.pos - b.pos);
  return { definitions, errors };
}

/**
 * Definitions of `name` in an already parsed text: bindings whose last attrPath
 * element is `name` (a nested `a = { name = …; }` is its own binding), inherits
 * of it, and formals/arguments of that name. Computed `${…}` names never match,
 * except `${"name"}`, whose name is a plain literal.
 */
export function definitionsIn(parse: NixParse, name: string, kinds?: DefinitionKind[]): Definition[] {
  // A computed last element keeps its source text (`${x}`) as name, so it cannot equal a real name.
  return parse.definitions.filter((d) => d.name === name && (!kinds || kinds.includes(d.kind)));
}

const truncate = (s: string): string => (s.length > 24 ? `${s.slice(0, 24)}…` : s);

/** text[from, to) with string contents and comments blanked, for a quick look at code only. */
function stripStrings(text: string, from: number, to: number, lex: ReturnType<typeof lexNix>): string {
  return sanitizeForLezer(text, { ...lex, interpolatedPaths: [] }).slice(from, to);
}
