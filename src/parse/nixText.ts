// Text facts about Nix files, read the way the claim's grep commands read them.
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { MAX_PARSED_BYTES, TooLargeError } from '../bounded.js';

/** Whether the first 32 KiB of a file hold a NUL byte (binary, as grep decides). */
function startsBinary(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(32 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).includes(0);
  } finally {
    closeSync(fd);
  }
}
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
      } else if (entry.isFile()) out.push(full);
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

/**
 * `grep -n PATTERN file`. A binary file (a NUL byte; GNU grep looks at its first buffer too) is
 * skipped; a text file over MAX_PARSED_BYTES is "cannot follow" (TooLargeError), never silently
 * counted as no hit.
 */
export function grepFile(root: string, rel: string, pattern: string | RegExp): GrepHit[] {
  let text: string;
  const full = path.join(root, rel);
  try {
    const st = statSync(full);
    if (!st.isFile()) return [];
    if (st.size > MAX_PARSED_BYTES) {
      if (startsBinary(full)) return [];
      throw new TooLargeError(rel, st.size, MAX_PARSED_BYTES);
    }
    const buf = readFileSync(full);
    if (buf.includes(0)) return [];
    text = buf.toString('utf8');
  } catch (e) {
    if (e instanceof TooLargeError) throw e;
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
