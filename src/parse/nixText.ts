// Text facts about Nix files, read the way the claim's grep commands read them.
import { readdirSync, readFileSync, lstatSync } from 'node:fs';
import path from 'node:path';

export interface GrepHit {
  /** Path relative to the repository root, with `/` separators. */
  file: string;
  line: number;
  text: string;
}

export const formatHit = (h: GrepHit): string => `${h.file}:${h.line}:${h.text.trim()}`;

/** Every regular file under dir, recursively, without following symlinked directories (grep -r). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(full);
    }
  };
  walk(dir);
  return out;
}

/** `grep -rn PATTERN dir` with a fixed string or a RegExp; binary files are skipped as grep reports them apart. */
export function grepRecursive(root: string, dir: string, pattern: string | RegExp): GrepHit[] {
  const base = path.join(root, dir);
  try {
    if (!lstatSync(base).isDirectory()) return [];
  } catch {
    return [];
  }
  const hits: GrepHit[] = [];
  for (const file of listFiles(base)) hits.push(...grepFile(root, path.relative(root, file), pattern));
  return hits;
}

export function grepFile(root: string, rel: string, pattern: string | RegExp): GrepHit[] {
  let text: string;
  try {
    const buf = readFileSync(path.join(root, rel));
    if (buf.includes(0)) return [];
    text = buf.toString('utf8');
  } catch {
    return [];
  }
  const file = rel.split(path.sep).join('/');
  const test = typeof pattern === 'string' ? (l: string) => l.includes(pattern) : (l: string) => pattern.test(l);
  const hits: GrepHit[] = [];
  text.split('\n').forEach((line, i) => {
    if (test(line)) hits.push({ file, line: i + 1, text: line });
  });
  return hits;
}

/** Blanks `#` line comments and block comments (same length) so a commented-out line is not read as code. */
export function stripNixComments(text: string): string {
  let out = '';
  let i = 0;
  let inString: '"' | "''" | undefined;
  while (i < text.length) {
    const two = text.slice(i, i + 2);
    if (!inString) {
      if (text[i] === '#') {
        // Blanked, not removed: offsets stay those of the original text.
        while (i < text.length && text[i] !== '\n') {
          out += ' ';
          i++;
        }
        continue;
      }
      if (two === '/*') {
        const end = text.indexOf('*/', i + 2);
        const chunk = text.slice(i, end < 0 ? text.length : end + 2);
        out += chunk.replace(/[^\n]/g, ' ');
        i += chunk.length;
        continue;
      }
      if (two === "''") {
        inString = "''";
        out += two;
        i += 2;
        continue;
      }
      if (text[i] === '"') inString = '"';
    } else if (inString === '"') {
      if (text[i] === '\\') {
        out += two;
        i += 2;
        continue;
      }
      if (text[i] === '"') inString = undefined;
    } else if (two === "''") {
      if (text[i + 2] === "'" || text[i + 2] === '$' || text[i + 2] === '\\') {
        out += text.slice(i, i + 3);
        i += 3;
        continue;
      }
      inString = undefined;
      out += two;
      i += 2;
      continue;
    }
    out += text[i];
    i++;
  }
  return out;
}

/**
 * The right-hand side of `attr = …;` assignments (also `x.attr = …;`), read up to
 * the `;` that closes it at bracket depth 0. Returns the line it starts on.
 */
export interface Assignment {
  line: number;
  value: string;
  statement: string;
  /** Offsets of the value in the original text: [valueStart, valueEnd). */
  valueStart: number;
  valueEnd: number;
}

export function findAssignments(text: string, attr: string): Assignment[] {
  const code = stripNixComments(text);
  const re = new RegExp(`(^|[\\s{;.])${attr.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*=(?!=)`, 'g');
  const found: Assignment[] = [];
  for (let m = re.exec(code); m; m = re.exec(code)) {
    const start = m.index + m[1]!.length;
    let depth = 0;
    let i = m.index + m[0].length;
    let inString: '"' | "''" | undefined;
    let segment = i;
    for (; i < code.length; i++) {
      const ch = code[i]!;
      const two = code.slice(i, i + 2);
      if (inString === '"') {
        if (ch === '\\') i++;
        else if (ch === '"') inString = undefined;
        continue;
      }
      if (inString === "''") {
        if (two === "''" && code[i + 2] !== "'" && code[i + 2] !== '$') {
          inString = undefined;
          i++;
        } else if (two === "''") i += 2;
        continue;
      }
      if (ch === '"') inString = '"';
      else if (two === "''") {
        inString = "''";
        i++;
      } else if ('([{'.includes(ch)) depth++;
      else if (')]}'.includes(ch)) depth--;
      else if (ch === ';' && depth <= 0) {
        // `with pkgs;` and `assert x;` are part of the value, not its end.
        if (/^\s*(with|assert)\b/.test(code.slice(segment, i))) {
          segment = i + 1;
          continue;
        }
        break;
      }
      if (depth < 0) break;
    }
    const statement = code.slice(start, i + 1);
    const rawStart = m.index + m[0].length;
    const raw = code.slice(rawStart, i);
    const value = raw.trim();
    const valueStart = rawStart + (raw.length - raw.trimStart().length);
    found.push({ line: code.slice(0, start).split('\n').length, value, statement: statement.trim(), valueStart, valueEnd: valueStart + value.length });
  }
  return found;
}

/** Collapses whitespace so layout changes do not count as a difference. */
export const normaliseNix = (text: string): string =>
  text
    .replace(/\s+/g, ' ')
    .replace(/\s*([[\]{}();=])\s*/g, '$1')
    .trim();
