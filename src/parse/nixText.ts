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

/**
 * Every regular file under dir, recursively, without following symlinked directories (grep -r).
 * `.git` directories are left out: git's own files are not the repository's content.
 */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== '.git') walk(full);
      }
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

/** Collapses whitespace so layout changes do not count as a difference. */
export const normaliseNix = (text: string): string =>
  text
    .replace(/\s+/g, ' ')
    .replace(/\s*([[\]{}();=])\s*/g, '$1')
    .trim();
