/** How a name is bound. `formal` and `argument` bind a name inside a function body only. */
export type DefinitionKind =
  | 'binding' // `name = v;`, `a.b.name = v;`, `"name" = v;`, `${"name"} = v;`
  | 'inherit' // `inherit name;`
  | 'inherit-from' // `inherit (e) name;`
  | 'formal' // `{ name, ... }:` or `{ name ? default }:`
  | 'argument'; // `name: body`, `name@{ … }:`, `{ … }@name:`

export type DefinitionScope = 'let' | 'attrset' | 'rec-attrset' | 'function';

export interface Definition {
  /** The name as Nix reads it (quotes and escapes resolved); for a binding, the last attrPath element. */
  name: string;
  kind: DefinitionKind;
  /** Full attribute path as written, quotes removed; `[name]` for inherits, formals and arguments. */
  attrPath: string[];
  scope: DefinitionScope;
  file?: string;
  /** 1-based line and column of the name token (for `a.b.name =`, of `name`). */
  line: number;
  column: number;
  /** Source text of the whole binding (`name = v;`, `inherit (e) a b;`, the formal, the argument). */
  text: string;
  /** The value expression; absent for inherits and for formals without a default. */
  value?: ValueSpan;
  /** Offsets of `text` in the source. */
  from: number;
  to: number;
  /** Offsets of the name token. */
  nameFrom: number;
  nameTo: number;
  /** Attribute paths of the bindings this one sits inside, outermost first (`['nixpkgs', 'overlays']`). */
  enclosing: string[];
  /** Some attrPath element is a computed `${…}` name; that element holds its source text. */
  dynamic?: true;
  /** For `inherit (e) name;`: the source text of `e`. */
  inheritFrom?: string;
}

export interface ValueSpan {
  /** Offsets into the source string (UTF-16 code units, as String.prototype.slice uses; bytes for ASCII). */
  from: number;
  to: number;
  text: string;
  /** Lezer node name of the value (`List`, `With`, `BinaryExpr`, `App`, …). */
  node: string;
  /** Whether the value is syntactically a list, after looking through `with`/`let`/`assert`/parentheses and `++`. */
  shape: 'list' | 'not-list' | 'unknown';
}

export interface NixSyntaxErrorInfo {
  line: number;
  column: number;
  message: string;
  /** Offset into the source. */
  pos: number;
}

export interface NixParse {
  definitions: Definition[];
  errors: NixSyntaxErrorInfo[];
}

/** Thrown by definitionsOf when the text does not parse: a partial answer could miss a definition. */
export class NixSyntaxError extends Error {
  constructor(
    readonly errors: NixSyntaxErrorInfo[],
    readonly file?: string,
  ) {
    const first = errors[0];
    super(
      `${file ?? '<nix>'}:${first.line}:${first.column}: ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`,
    );
    this.name = 'NixSyntaxError';
  }
}
