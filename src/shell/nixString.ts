// From the body of a Nix indented string (`text = '' … ''` of writeShellApplication, a systemd `script`) to
// shell text analyzeScript can read: Nix escapes are undone, the common indentation is removed the way Nix
// removes it, and each antiquotation `${expr}` becomes a placeholder word (`__nix0__`) that the caller maps
// back (e.g. `${pkgs.cc-ci-run}/bin/cc-ci-run` → `__nix0__/bin/cc-ci-run`, whose basename is still cc-ci-run).
// Line N of the result is line N of the body as long as no antiquotation spans lines.

export interface Antiquote {
  placeholder: string;
  /** The Nix expression inside `${…}`, as written. */
  expr: string;
  /** 1-based line in the body. */
  line: number;
}

/** An escape of one string kind at offset i: the text it stands for and its length, or undefined. */
type EscapeAt = (body: string, i: number) => { text: string; length: number } | undefined;

const escaped = (e: string): string => (e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e);

/** `'' … ''`: `'''` is `''`, `''$` is `$`, `''\x` is an escape. */
const indentedEscape: EscapeAt = (body, i) => {
  if (body.startsWith("'''", i)) return { text: "''", length: 3 };
  if (body.startsWith("''$", i)) return { text: '$', length: 3 };
  if (body.startsWith("''\\", i)) return { text: escaped(body[i + 3] ?? ''), length: 4 };
  return undefined;
};

/** `"…"`: `\x` is an escape. */
const quotedEscape: EscapeAt = (body, i) =>
  body[i] === '\\' ? { text: escaped(body[i + 1] ?? ''), length: 2 } : undefined;

/**
 * Undoes a string body's escapes and turns each `${expr}` into a placeholder word, counting lines as Nix reads them.
 */
function unquote(body: string, escapeAt: EscapeAt): { text: string; antiquotes: Antiquote[] } {
  const antiquotes: Antiquote[] = [];
  let out = '';
  let line = 1;
  for (let i = 0; i < body.length;) {
    const esc = escapeAt(body, i);
    if (esc) {
      out += esc.text;
      if (esc.text === '\n' && body[i + esc.length - 1] === '\n') line++;
      i += esc.length;
    } else if (body.startsWith('$${', i)) {
      out += '$${'; // `$$` is literal in Nix strings, so no antiquotation starts here
      i += 3;
    } else if (body.startsWith('${', i)) {
      const end = antiquoteEnd(body, i + 2);
      const expr = body.slice(i + 2, end - 1);
      const placeholder = `__nix${antiquotes.length}__`;
      antiquotes.push({ placeholder, expr: expr.trim(), line });
      out += placeholder;
      line += (expr.match(/\n/g) ?? []).length;
      i = end;
    } else {
      if (body[i] === '\n') line++;
      out += body[i];
      i++;
    }
  }
  return { text: out, antiquotes };
}

export function shellFromNixString(body: string): { script: string; antiquotes: Antiquote[] } {
  const { text, antiquotes } = unquote(body, indentedEscape);
  return { script: stripIndent(text), antiquotes };
}

/**
 * The body of a Nix double-quoted string (`"…"`, between the quotes) as shell text: escapes undone, `${expr}`
 * placeholders as above; no indentation is stripped.
 */
export function shellFromNixQuoted(body: string): { script: string; antiquotes: Antiquote[] } {
  const { text, antiquotes } = unquote(body, quotedEscape);
  return { script: text, antiquotes };
}

/** Offset just past the `}` closing an antiquotation whose expression starts at `from`. */
function antiquoteEnd(s: string, from: number): number {
  let depth = 1;
  let i = from;
  while (i < s.length) {
    const c = s[i];
    if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '{') {
      depth++;
      i++;
    } else if (c === '}') {
      depth--;
      i++;
      if (depth === 0) return i;
    } else i++;
  }
  return s.length;
}

/** Nix's rule: drop the smallest indentation of the lines that hold more than blanks. */
function stripIndent(text: string): string {
  const lines = text.split('\n');
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length);
  const n = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => (l.trim() === '' ? l.replace(/^ +/, '') : l.slice(n))).join('\n');
}
