// Where a program word leads, the way a shell finds a command (bash(1) COMMAND EXECUTION; execvp(3)):
// a word with a slash is run as that path; a bare name is looked up in each PATH directory in order, the
// first executable of that name wins (an empty or relative entry is the working directory: not followed).
// Directories it knows on a NixOS host (runtimeStateDir): store paths, the system profile (buildEnv rules,
// src/buildEnv.ts), /run/wrappers/bin (security.wrappers), /bin and /usr/bin (sh and env only) and, after a
// build, the built etc. A directory outside these holds host state: a lookup through it cannot be followed.
// Build mode reads the built files; eval mode knows a store directory's bin/ only through its package name
// and says what it could not look into.
import path from 'node:path';
import { describePriority, swBinWinner } from './buildEnv.js';
import type { HostFacts } from './context.js';
import { packageOf, parseStorePath } from './parse/storePath.js';
import { programName } from './shell/index.js';
import { exists, realpath, storeRootOf } from './storeFs.js';

export const SYSTEM_PROFILES = ['/run/current-system/sw/bin', '/nix/var/nix/profiles/system/sw/bin'];

export interface Resolution {
  /** Store path (root) the program resolves to, when found. */
  root?: string;
  /** The PATH entry (or absolute word) it was found through. */
  via?: string;
  /** The file that is executed (symlinks followed after a build). */
  file?: string;
  notes: string[];
}

export interface HostView {
  mode: 'build' | 'eval';
  facts: HostFacts;
  /** Built toplevel (build mode). */
  toplevel?: string;
}

export { programName };

/** The words every eval-mode note about unseen PATH entries starts with (checks count them for their summary). */
export const EVAL_UNSEEN = 'eval mode: not looked into';

/** A PATH value's directories, in order (empty entries dropped). */
export const splitPath = (value: string): string[] => value.split(':').filter((e) => e !== '');

/**
 * PATH directories whose contents the verifier knows on a NixOS host: store paths (built, or named by their
 * derivation), the system profile (sw/bin), /run/wrappers/bin (security.wrappers), /bin and /usr/bin (NixOS puts
 * only `sh` and `env` there: environment.binsh, environment.usrbinenv) and, after a build, /etc directories the
 * toplevel's etc holds (environment.etc, e.g. /etc/profiles/per-user/NAME/bin). Anything else (a home directory,
 * /usr/local/bin, /var/lib/…, a user's nix profile) is run-time state: a program found there, or after it, is not
 * decided by the repository, so the lookup cannot be followed. Returns why, or undefined for a known directory.
 */
export function runtimeStateDir(dir: string, program: string, view: HostView): string | undefined {
  if (!dir.startsWith('/')) return undefined; // relative entries are noted separately
  if (dir.startsWith('/nix/store/') || SYSTEM_PROFILES.includes(dir) || NIXOS_FIXED_DIRS.has(dir)) {
    const fixed = NIXOS_FIXED_PROGRAMS[dir];
    return fixed?.includes(program) ? `NixOS links ${dir}/${program} at activation, outside the store` : undefined;
  }
  if (dir.startsWith('/etc/')) {
    if (view.mode === 'build' && view.toplevel)
      return exists(path.join(view.toplevel, dir)) ? undefined : 'not in the built etc: state on the host';
    return 'an /etc directory: eval mode does not read the built etc';
  }
  return 'outside the store: its contents are state on the host, not part of the build';
}

const NIXOS_FIXED_DIRS = new Set(['/run/wrappers/bin', '/bin', '/usr/bin']);
/** What /bin and /usr/bin hold on NixOS (activation links them; nothing else is there). */
const NIXOS_FIXED_PROGRAMS: Readonly<Record<string, readonly string[]>> = { '/bin': ['sh'], '/usr/bin': ['env'] };

const runtimeNote = (dirs: readonly string[], word: string, where: string): string =>
  `cannot follow: PATH entr${dirs.length === 1 ? 'y' : 'ies'} ${dirs.join(', ')} come${dirs.length === 1 ? 's' : ''} before ${where === 'anywhere' ? `any bin/${word} the verifier can see` : where}, and may hold ${word} at run time`;

/** Resolves one PATH directory for `program`. */
function inDir(dir: string, program: string, view: HostView): Resolution | undefined {
  // NixOS fills /run/wrappers/bin at activation from security.wrappers: a wrapper of that name runs first.
  if (dir === '/run/wrappers/bin' && (view.facts.setuidWrappers ?? []).includes(program)) {
    return {
      root: `${dir}/${program}`,
      via: `${dir} (security.wrappers.${program}, a setuid wrapper made at activation)`,
      notes: [],
    };
  }
  if (NIXOS_FIXED_PROGRAMS[dir]) return undefined;
  if (view.mode === 'build') {
    const inEtc = dir.startsWith('/etc/') && view.toplevel ? path.join(view.toplevel, dir) : undefined;
    const real =
      SYSTEM_PROFILES.includes(dir) && view.toplevel ? path.join(view.toplevel, 'sw', 'bin') : (inEtc ?? dir);
    if (!real.startsWith('/nix/store/')) return undefined;
    const candidate = path.join(real, program);
    if (!exists(candidate)) return undefined;
    return {
      root: storeRootOf(candidate) ?? parseStorePath(candidate)?.root,
      via: real === dir ? dir : `${dir} (= ${real})`,
      file: realpath(candidate) ?? candidate,
      notes: [],
    };
  }
  if (SYSTEM_PROFILES.includes(dir)) {
    const w = swBinWinner(view.facts.systemPackages, program);
    if (!w?.winner.installed[0]) return undefined;
    const notes =
      w.candidates.length > 1
        ? [
            `sw/bin/${program} candidates: ${w.candidates.map(describePriority).join(', ')}; buildEnv keeps ${describePriority(w.winner)}`,
          ]
        : [];
    if (w.tiedWith.length)
      notes.push(`equal priority with ${w.tiedWith.map((t) => t.name).join(', ')}: a collision only a build can show`);
    // A package of another name with a lower meta.priority would win sw/bin/<program> silently if its bin/ has one.
    const winning = w.winner.priority ?? 5;
    const stronger = view.facts.systemPackages.filter((p) => !w.candidates.includes(p) && (p.priority ?? 5) < winning);
    if (stronger.length)
      notes.push(
        `${EVAL_UNSEEN}: ${stronger.length} system package${stronger.length === 1 ? '' : 's'} of higher priority (${stronger.map(describePriority).join(', ')}) may hold bin/${program} too; a build shows which one sw/bin links`,
      );
    const root = parseStorePath(w.winner.installed[0])?.root ?? w.winner.installed[0];
    return {
      root,
      via: `${dir} (system package ${describePriority(w.winner)}, evaluated)`,
      file: `${w.winner.installed[0]}/bin/${program}`,
      notes,
    };
  }
  const sp = parseStorePath(dir);
  if (!sp) return undefined;
  if (sp.name === program || packageOf(sp.name).pname === program)
    return { root: sp.root, via: `${dir} (by package name, evaluated)`, file: `${dir}/${program}`, notes: [] };
  return undefined;
}

/** Resolves a program word: an absolute path directly, a bare name through PATH directories in order. */
export function resolveProgram(word: string, dirs: readonly string[], view: HostView): Resolution {
  const notes: string[] = [];
  if (word.includes('/')) {
    if (!word.startsWith('/')) return { notes: [`${word}: a relative path, not resolvable`] };
    for (const profile of SYSTEM_PROFILES) {
      if (word.startsWith(`${profile}/`)) {
        const r = inDir(profile, programName(word), view);
        return r ?? { notes: [`${word}: not in the system profile`] };
      }
    }
    const sp = parseStorePath(word);
    if (!sp) return { notes: [`${word}: outside the store`] };
    if (view.mode === 'build' && !exists(word)) return { notes: [`${word} does not exist`] };
    return {
      root: view.mode === 'build' ? (storeRootOf(word) ?? sp.root) : sp.root,
      via: word,
      file: view.mode === 'build' ? (realpath(word) ?? word) : word,
      notes,
    };
  }
  // Eval mode sees a store directory's bin/ only through its package name: the earlier ones may hold the program too.
  const notLookedInto: string[] = [];
  const unknownDirs: string[] = [];
  for (const dir of dirs) {
    if (dir === '') continue;
    if (!dir.startsWith('/')) {
      notes.push(`${dir}: a relative PATH entry, skipped`);
      continue;
    }
    const r = inDir(dir, word, view);
    // A directory whose contents are run-time state comes first: what runs is not decided by the repository's build.
    if (r && unknownDirs.length) return { notes: [...notes, runtimeNote(unknownDirs, word, r.via ?? dir)] };
    if (r) {
      const unseen =
        view.mode === 'eval' && notLookedInto.length
          ? [
              `${EVAL_UNSEEN}: ${notLookedInto.length} earlier PATH entr${notLookedInto.length === 1 ? 'y' : 'ies'} (${notLookedInto.map((d) => parseStorePath(d)?.name ?? d).join(', ')}) may hold bin/${word} too; a build shows which one runs`,
            ]
          : [];
      return { ...r, notes: [...notes, ...r.notes, ...unseen] };
    }
    if (view.mode === 'eval' && dir.startsWith('/nix/store/')) notLookedInto.push(dir);
    const runtime = runtimeStateDir(dir, word, view);
    if (runtime) unknownDirs.push(`${dir} (${runtime})`);
  }
  if (unknownDirs.length) notes.push(runtimeNote(unknownDirs, word, 'anywhere'));
  return { notes };
}
