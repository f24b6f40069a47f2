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

export function shellFromNixString(body: string): { script: string; antiquotes: Antiquote[] } {
  const antiquotes: Antiquote[] = [];
  let out = '';
  let line = 1;
  for (let i = 0; i < body.length; ) {
    const c = body[i]!;
    if (body.startsWith("'''", i)) {
      out += "''";
      i += 3;
    } else if (body.startsWith("''$", i)) {
      out += '$';
      i += 3;
    } else if (body.startsWith("''\\", i)) {
      const e = body[i + 3] ?? '';
      out += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
      i += 4;
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
      if (c === '\n') line++;
      out += c;
      i++;
    }
  }
  return { script: stripIndent(out), antiquotes };
}

/** The body of a Nix double-quoted string (`"…"`, between the quotes) as shell text: `\\n`, `\\"`, `\\$` and `$${` undone, `${expr}` placeholders as above; no indentation is stripped. */
export function shellFromNixQuoted(body: string): { script: string; antiquotes: Antiquote[] } {
  const antiquotes: Antiquote[] = [];
  let out = '';
  let line = 1;
  for (let i = 0; i < body.length; ) {
    const c = body[i]!;
    if (c === '\\') {
      const e = body[i + 1] ?? '';
      out += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
      if (e === '\n') line++;
      i += 2;
    } else if (body.startsWith('$${', i)) {
      out += '$${';
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
      if (c === '\n') line++;
      out += c;
      i++;
    }
  }
  return { script: out, antiquotes };
}

/** Offset just past the `}` closing an antiquotation whose expression starts at `from`. */
function antiquoteEnd(s: string, from: number): number {
  let depth = 1;
  let i = from;
  while (i < s.length) {
    const c = s[i]!;
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
