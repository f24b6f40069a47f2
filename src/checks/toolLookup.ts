// HOW 3, "the expected tools are on the wrapper's PATH", as the shell means it (bash(1) COMMAND EXECUTION):
// a program name runs from the FIRST PATH directory that has it, so each program an expected entry provides
// must be found in that entry, not in an earlier directory. Build mode lists the entry's bin/ and looks each
// name up with src/resolve.ts; eval mode knows a store directory's programs only by its package name (an
// entry provides its pname; an earlier directory of that pname shadows it). A directory whose contents are
// state on the host (outside the store) or the caller's `$PATH` before the entry may hold the program: cannot
// follow. A directory of another expected entry is part of the declared toolset: it may win, with a note.
import { statSync } from 'node:fs';
import path from 'node:path';
import { packageOf, parseStorePath } from '../parse/storePath.js';
import { resolveProgram, type HostView } from '../resolve.js';
import type { PathEntry } from '../shell/index.js';
import { listDir } from '../storeFs.js';

export interface LookupFindings {
  problems: string[];
  unknowns: string[];
  evidence: string[];
}

/** The programs an expected entry's PATH directory provides, as far as the mode can know. */
export function programsOf(dir: string, mode: 'build' | 'eval'): string[] {
  if (mode === 'eval') {
    const sp = parseStorePath(dir);
    return sp ? [packageOf(sp.name).pname] : [];
  }
  return listDir(dir)
    .filter((n) => !n.startsWith('.'))
    .filter((n) => {
      try {
        const st = statSync(path.join(dir, n));
        return st.isFile() && (st.mode & 0o111) !== 0;
      } catch {
        return false;
      }
    })
    .sort();
}

/** The PATH directory (of `dirs`) a resolution went through. */
const foundIn = (via: string | undefined, dirs: readonly string[]): string | undefined =>
  via === undefined ? undefined : dirs.find((d) => via === d || via.startsWith(`${d} (`));

/** Where `program` is found on `entries` (dirs and the caller's `$PATH`), or why that cannot be known. */
function lookup(
  program: string,
  entries: readonly PathEntry[],
  view: HostView,
): { dir?: string; unknown?: string; notes: string[] } {
  const before: string[] = [];
  for (const e of entries) {
    if ('dir' in e) {
      before.push(e.dir);
      continue;
    }
    const r = resolveProgram(program, before, view);
    const dir = foundIn(r.via, before);
    if (dir) return { dir, notes: r.notes };
    const blocked = r.notes.find((n) => n.startsWith('cannot follow'));
    return {
      unknown:
        blocked ??
        `the caller's $PATH comes before any directory the wrapper adds that has ${program}: which ${program} runs is the caller's`,
      notes: r.notes,
    };
  }
  const r = resolveProgram(program, before, view);
  const dir = foundIn(r.via, before);
  if (dir) return { dir, notes: r.notes };
  return {
    ...(r.notes.some((n) => n.startsWith('cannot follow')) ? { unknown: r.notes.join('; ') } : {}),
    notes: r.notes,
  };
}

/**
 * For each present expected entry, each of its programs: what PATH lookup finds. A program found first in a
 * directory that is not an expected entry is a problem (the wrapper runs another package's program); one that
 * cannot be known is an unknown.
 */
export function judgeLookup(
  present: readonly { expected: string; dir: string }[],
  entries: readonly PathEntry[],
  view: HostView,
): LookupFindings {
  const out: LookupFindings = { problems: [], unknowns: [], evidence: [] };
  const expectedDirs = new Set(present.map((p) => p.dir));
  let looked = 0;
  for (const p of present) {
    const programs = programsOf(p.dir, view.mode);
    if (programs.length === 0) {
      out.evidence.push(`lookup  ${p.expected}: ${p.dir} provides no program`);
      continue;
    }
    for (const program of programs) {
      looked++;
      const r = lookup(program, entries, view);
      if (r.unknown) {
        out.unknowns.push(`${program} (of ${p.expected}, ${p.dir}): ${r.unknown}`);
        continue;
      }
      if (!r.dir || r.dir === p.dir) continue;
      const winner = `${r.dir}/${program}`;
      if (expectedDirs.has(r.dir)) {
        const other = present.find((x) => x.dir === r.dir)!.expected;
        out.evidence.push(`lookup  ${program}: ${winner} (expected ${other}) comes before ${p.expected}'s`);
        continue;
      }
      out.problems.push(
        `\`${program}\` resolves to ${winner} (earlier on PATH), not ${p.expected}'s ${p.dir}/${program}`,
      );
    }
  }
  out.evidence.push(
    `lookup  ${looked} program${looked === 1 ? '' : 's'} of ${present.length} expected entries looked up on PATH in order (${view.mode === 'build' ? 'their built bin/ listed' : 'eval mode: each entry provides its package name'})`,
  );
  return out;
}
