// From the expanded words of a simple command to what is launched: `exec`, `command`, `builtin`, `env`, `nice`,
// `nohup`, `time`, `timeout`, `setsid`, `stdbuf` and `sudo` are peeled off, collecting the environment changes
// they make on the way (env -i / -u / NAME=value / -C, exec -c, sudo's own PATH).

import { joinCwd } from './dirs.js';
import type { Unknown } from './types.js';
import { concrete, norm, type Val } from './value.js';

export interface Launch {
  /** Index of the program word among the fields. */
  programAt: number;
  /** Wrappers peeled off, outermost first. */
  via: string[];
  exec: boolean;
  /** Variables set (value) or removed (null) for the program, prefix assignments included. */
  env: Map<string, Val | null>;
  /** Names newly exported to the program. */
  exportedExtra: Set<string>;
  /** The inherited environment was dropped (env -i, exec -c). */
  cleared: boolean;
  /** Why the program is not looked up in the shell's PATH at all (command -p, sudo, env -S). */
  pathNote?: string;
  cwd: string | Unknown;
  /** Still inside the shell: the program may be a builtin or a function. */
  shellLevel: boolean;
  /** `command`, `builtin` or `exec` in front: functions are skipped. */
  noFunctions: boolean;
  /** Something the analysis cannot follow (reported as unfollowable). */
  issue?: string;
}

const OPTIONS_WITH_ARG: Record<string, string[]> = {
  nice: ['-n'],
  timeout: ['-s', '-k', '--signal', '--kill-after'],
  stdbuf: ['-i', '-o', '-e'],
  sudo: ['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U', '-T'],
  time: ['-f', '-o'],
};

/** Programs that run their arguments as a command, whether named bare or by a store path. */
const EXTERNAL_WRAPPERS = new Set(['env', 'nohup', 'setsid', ...Object.keys(OPTIONS_WITH_ARG)]);

export function peelWrappers(
  fields: Val[],
  prefixAssigns: Map<string, Val | null>,
  cwd: string | Unknown,
): Launch | 'redirections-only' {
  const l: Launch = {
    programAt: 0,
    via: [],
    exec: false,
    env: new Map(prefixAssigns),
    exportedExtra: new Set(prefixAssigns.keys()),
    cleared: false,
    cwd,
    shellLevel: true,
    noFunctions: false,
  };
  const unsetNames = new Set<string>();
  let i = 0;
  const at = (k: number) => (k < fields.length ? concrete(fields[k]) : undefined);
  /** `NAME=value` words after env/sudo: set for the program (the value may hold the caller's PATH). */
  const takeEnvAssignments = (k: number): number => {
    for (;;) {
      const f = fields[k];
      const head = f && f[0]?.t === 'str' ? f[0].v : undefined;
      const m = head ? /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(head) : null;
      if (!f || !m) return k;
      l.env.set(m[1], norm([{ t: 'str', v: head!.slice(m[0].length) }, ...f.slice(1)]));
      l.exportedExtra.add(m[1]);
      unsetNames.delete(m[1]);
      k++;
    }
  };
  let lastWrapperAt = 0;
  peel: for (;;) {
    const word = at(i);
    if (word === undefined) break;
    // External wrappers run the same way by full path (`/nix/store/…-coreutils/bin/env PATH=… prog`, as an ExecStart
    // has them).
    const w =
      word.startsWith('/') && EXTERNAL_WRAPPERS.has(word.slice(word.lastIndexOf('/') + 1))
        ? word.slice(word.lastIndexOf('/') + 1)
        : word;
    lastWrapperAt = i;
    if (w === 'exec' && i === 0) {
      l.via.push(w);
      l.exec = true;
      i++;
      while (at(i)?.startsWith('-')) {
        const o = at(i)!;
        if (o === '--') {
          i++;
          break;
        }
        if (o === '-a') i++;
        if (o.includes('c')) l.cleared = true;
        i++;
      }
      if (i >= fields.length) return 'redirections-only';
      l.noFunctions = true;
    } else if ((w === 'command' || w === 'builtin') && l.shellLevel) {
      if (w === 'command' && (at(i + 1) === '-v' || at(i + 1) === '-V')) break; // a lookup, not a run
      l.via.push(w);
      l.noFunctions = true;
      i++;
      if (w === 'command' && at(i) === '-p') {
        l.pathNote = "command -p looks the program up in the shell's default PATH, not $PATH";
        i++;
      }
    } else if (w === 'env') {
      l.via.push(w);
      l.shellLevel = false;
      i++;
      for (;;) {
        const o = at(i);
        if (o === undefined) break; // e.g. `PATH=/x:$PATH`, which holds the caller's PATH
        if (o === '-i' || o === '-' || o === '--ignore-environment') {
          l.cleared = true;
          l.env.clear();
          l.exportedExtra.clear();
        } else if (o === '-u' || o === '--unset') {
          unsetNames.add(at(i + 1) ?? '');
          i++;
        } else if (o.startsWith('--unset=') || (o.startsWith('-u') && o.length > 2)) {
          unsetNames.add(o.startsWith('--') ? o.slice(8) : o.slice(2));
        } else if (o === '-C' || o === '--chdir') {
          l.cwd = joinCwd(l.cwd, at(i + 1));
          i++;
        } else if (o.startsWith('--chdir=')) {
          l.cwd = joinCwd(l.cwd, o.slice(8));
        } else if (o.startsWith('-S') || o.startsWith('--split-string')) {
          l.issue = 'env -S splits a string into the command line; not followed';
          l.pathNote = 'env -S: command line built at run time';
          i = fields.length;
          break peel;
        } else if (o === '--') {
          i++;
          break;
        } else if (!o.startsWith('-') || o === '-') break;
        i++;
      }
      i = takeEnvAssignments(i);
      for (const n of unsetNames) l.env.set(n, null);
    } else if (w in OPTIONS_WITH_ARG || w === 'nohup' || w === 'setsid') {
      l.via.push(w);
      if (w !== 'time') l.shellLevel = false; // `time` is a shell keyword; the rest are programs
      i++;
      while (at(i)?.startsWith('-')) {
        const o = at(i)!;
        if (o === '--') {
          i++;
          break;
        }
        if ((OPTIONS_WITH_ARG[w] ?? []).includes(o)) i++;
        i++;
      }
      if (w === 'timeout' && at(i) !== undefined) i++; // the duration
      if (w === 'sudo') {
        l.pathNote = "sudo runs the program with its own PATH (secure_path), not the shell's";
        i = takeEnvAssignments(i);
      }
    } else break;
  }
  if (i >= fields.length) {
    // A wrapper with nothing to run (`env`, `env -i`, `command -p`): the wrapper itself is the program.
    i = lastWrapperAt;
    l.via.pop();
  }
  l.programAt = i;
  return l;
}
