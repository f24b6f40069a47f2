// Nix syntax facts: where names are bound, found with a real parser (the Lezer
// Nix grammar, behind a lexical pass that fixes its string and path tokens).
import { definitionsIn, parseNix } from './parse.js';
import { NixSyntaxError, type Definition, type DefinitionKind } from './types.js';

export { definitionsIn, parseNix } from './parse.js';
export { stripComments } from './lexer.js';
export { appendToListDefinition } from './rewrite.js';
export * from './types.js';

export interface DefinitionsOptions {
  file?: string;
  /** Only these kinds (default: all, formals and function arguments included). */
  kinds?: DefinitionKind[];
}

/**
 * definitionsIn(parseNix(text), name); throws NixSyntaxError when the text does not parse, as a definition could hide
 * behind the error.
 */
export function definitionsOf(text: string, name: string, options: DefinitionsOptions = {}): Definition[] {
  const parse = parseNix(text, options.file);
  if (parse.errors.length > 0) throw new NixSyntaxError(parse.errors, options.file);
  return definitionsIn(parse, name, options.kinds);
}
