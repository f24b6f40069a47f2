// The text a Nix string literal stands for, with interpolations replaced by a
// placeholder store path (what `${pkgs.x}` becomes after evaluation), so a
// shell script written in a Nix string can be read as the shell will read it.

const PLACEHOLDER = '/nix/store/00000000000000000000000000000000-interpolated';

/** Skips a `${ … }` interpolation starting at `i` (at the `$`); returns the index after its `}`. */
function skipInterpolation(text: string, i: number): number {
  let depth = 0;
  for (let j = i + 1; j < text.length; j++) {
    const ch = text[j]!;
    if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return j + 1;
    else if (ch === '"') {
      // A string inside the interpolation: skip it whole.
      for (j++; j < text.length && text[j] !== '"'; j++) if (text[j] === '\\') j++;
    }
  }
  return text.length;
}

/** Common indentation removal of `''` strings, as Nix does (blank lines do not count). */
function dedent(lines: string[]): string[] {
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length);
  const min = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(Math.min(min, /^ */.exec(l)![0].length)));
}

/**
 * The content of a string literal (`"…"` or `''…''`), or undefined when `expr` is not one
 * (a function call, a concatenation: then the script is not statically known).
 */
export function nixStringContent(expr: string): string | undefined {
  const t = expr.trim();
  if (t.startsWith("''") && t.endsWith("''") && t.length >= 4) {
    const body = t.slice(2, -2);
    let out = '';
    for (let i = 0; i < body.length; i++) {
      if (body.startsWith("'''", i)) {
        out += "''";
        i += 2;
      } else if (body.startsWith("''$", i)) {
        out += '$';
        i += 2;
      } else if (body.startsWith("''\\", i)) {
        const c = body[i + 3] ?? '';
        out += c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c;
        i += 3;
      } else if (body.startsWith('${', i)) {
        out += PLACEHOLDER;
        i = skipInterpolation(body, i) - 1;
      } else out += body[i];
    }
    const lines = out.split('\n');
    if (lines[0]!.trim() === '') lines.shift();
    return dedent(lines).join('\n');
  }
  if (t.startsWith('"') && t.endsWith('"') && t.length >= 2) {
    const body = t.slice(1, -1);
    let out = '';
    for (let i = 0; i < body.length; i++) {
      const ch = body[i]!;
      if (ch === '\\') {
        const c = body[++i] ?? '';
        out += c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c;
      } else if (body.startsWith('${', i)) {
        out += PLACEHOLDER;
        i = skipInterpolation(body, i) - 1;
      } else out += ch;
    }
    return out;
  }
  return undefined;
}
