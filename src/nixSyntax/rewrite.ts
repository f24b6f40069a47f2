// Rewrites of Nix source that keep everything outside the edited value byte-identical.
import { parser } from '@replit/codemirror-lang-nix';
import { lexNix, sanitizeForLezer } from './lexer.js';
import { definitionsIn, parseNix } from './parse.js';
import type { Definition } from './types.js';

const where = (d: Definition): string => `line ${d.line}`;

/**
 * Rewrites the one `name = <value>;` binding to `name = (<value>) ++ [ <itemExpr> ];`.
 * The parentheses keep `with`/`let`/`++` values intact; note that itemExpr sits
 * outside a value's `with final;`, so it must name its package in full (`final.foo`).
 * Refuses when the text does not parse, when `name` has no binding or several,
 * when it is only inherited, when an `inherit (e) name` competes with the binding,
 * when the value is plainly not a list, or when itemExpr is not one list element.
 */
export function appendToListDefinition(
  text: string,
  name: string,
  itemExpr: string,
): { text: string; definition: Definition } | { error: string } {
  const parsed = parseNix(text);
  if (parsed.errors.length > 0) {
    const e = parsed.errors[0];
    return { error: `cannot rewrite: the text does not parse (${e.line}:${e.column}: ${e.message})` };
  }
  const defs = definitionsIn(parsed, name);
  const bindings = defs.filter((d) => d.kind === 'binding');
  const inherited = defs.filter((d) => d.kind === 'inherit' || d.kind === 'inherit-from');
  if (bindings.length === 0) {
    return inherited.length > 0
      ? {
          error: `${name} is only inherited here (${inherited.map(where).join(', ')}), not bound; edit the definition it is inherited from`,
        }
      : { error: `no binding of ${name}` };
  }
  if (bindings.length > 1)
    return {
      error: `${bindings.length} bindings of ${name} (${bindings.map(where).join(', ')}); expected exactly one`,
    };
  const fromExpr = inherited.filter((d) => d.kind === 'inherit-from');
  // A plain `inherit name;` re-exports a binding from an enclosing scope; `inherit (e) name;` is a second definition.
  if (fromExpr.length > 0)
    return {
      error: `${name} is also defined by ${fromExpr.map((d) => `inherit (${d.inheritFrom}) at ${where(d)}`).join(', ')}`,
    };
  const def = bindings[0];
  if (!def.value) return { error: `the binding of ${name} has no value` };
  if (def.value.shape === 'not-list')
    return { error: `the value of ${name} (${where(def)}) is not a list (${def.value.node})` };

  // The item must be exactly one list element: `[ f x ]` would append two.
  const item = itemExpr.trim();
  if (!isSingleElement(item))
    return { error: `itemExpr is not a single list element: ${JSON.stringify(itemExpr)} (wrap it in parentheses)` };

  const next = `${text.slice(0, def.value.from)}(${def.value.text}) ++ [ ${item} ]${text.slice(def.value.to)}`;
  const reparsed = parseNix(next);
  // The name token sits before the value, so its offset is unchanged.
  const definition = definitionsIn(reparsed, name).find((d) => d.kind === 'binding' && d.nameFrom === def.nameFrom);
  if (reparsed.errors.length > 0 || !definition) return { error: 'internal: the rewritten text does not parse' };
  return { text: next, definition };
}

/**
 * Whether `[ item ]` parses, without errors, as a list of exactly one element (a `#` in item would comment out the
 * `]`).
 */
function isSingleElement(item: string): boolean {
  const src = `[ ${item} ]`;
  const lex = lexNix(src);
  if (lex.errors.length > 0) return false;
  const tree = parser.parse(sanitizeForLezer(src, lex));
  let errors = 0;
  tree.iterate({
    enter: (n) => {
      if (n.type.isError) errors++;
    },
  });
  const list = tree.topNode.firstChild;
  if (errors > 0 || list?.name !== 'List' || list.to !== src.length) return false;
  let elements = 0;
  for (let c = list.firstChild; c; c = c.nextSibling) if (c.name !== '[' && c.name !== ']') elements++;
  return elements === 1;
}
