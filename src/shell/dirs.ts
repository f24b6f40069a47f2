// The working directory as the script moves with `cd`, relative to where it started ('.').

import { Unknown } from './types.js';

export function joinCwd(cwd: string | Unknown, dir: string | undefined, line?: number): string | Unknown {
  if (dir === undefined) return new Unknown(`cd to a directory computed at run time${line ? ` (line ${line})` : ''}`);
  if (dir.startsWith('/')) return normalizeDir(dir);
  if (cwd instanceof Unknown) return cwd;
  return normalizeDir(cwd === '.' ? dir : `${cwd}/${dir}`);
}

export function normalizeDir(p: string): string {
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (seg === '..' && abs) continue;
    else out.push(seg);
  }
  const joined = out.join('/');
  return abs ? `/${joined}` : joined === '' ? '.' : joined;
}
