// The environment systemd starts a service with (systemd.exec(5) "Environment
// variables in spawned processes", "Environment="): `Environment=` lines in
// order (unit file, then drop-ins; an empty one resets), then each
// `EnvironmentFile=` in order, read at start so it overrides them (a leading `-`:
// a missing file is skipped), then `UnsetEnvironment=` removes names (or one
// exact `NAME=VALUE`). Inputs of an EnvironmentFile= and what this module does:
//  - a store path: read (the built file, or its derivation's text in eval mode);
//  - `/etc/<path>`: what NixOS links there, read through the FileReader (build
//    mode: the toplevel's etc/, following NixOS's /etc/static links; eval mode:
//    `environment.etc."<path>"`'s text or source);
//  - anything else (/run/secrets, /var/lib, a file no build shows), or an /etc
//    file the configuration does not define: NOT READABLE — it may set any
//    variable, so every variable it could set (PATH included) is unknown: the
//    result lists it in `unreadable` and the checks turn that into an error,
//    optional (`-`) or not.
// Not implemented: specifiers and `$VAR` references inside an environment file
// (systemd does not expand them either), PassEnvironment= (the manager's own
// environment: on NixOS it holds no PATH a unit did not set), ImportCredential=.
import type { ScriptSource } from '../execChain.js';
import { parseStorePath } from '../parse/storePath.js';
import { environmentAssignments, environmentFiles, listSetting, unitWords, whereIs, type UnitFile } from './unit.js';

export interface EnvValue {
  value: string;
  /** Where it was set: the unit line or the environment file. */
  from: string;
}

export interface ServiceEnvironment {
  vars: Map<string, EnvValue>;
  /** Names removed by UnsetEnvironment=, with the line. */
  unset: Map<string, string>;
  /** Environment files the verifier cannot read (outside the store): they may set anything. */
  unreadable: string[];
  notes: string[];
}

/** `KEY=VALUE` lines of an environment file (systemd's format: comments, quotes, no expansion). */
export function parseEnvironmentFile(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2];
    if (/^".*"$/.test(value) || /^'.*'$/.test(value)) value = value.slice(1, -1);
    out.push([m[1], value]);
  }
  return out;
}

/**
 * An environment file: its text (and where it was read), missing (a store file that is not there), or unreadable
 * (outside what the verifier sees).
 */
export type FileReader = (
  file: string,
) => Promise<{ text: string; source?: string } | { missing: string } | { unreadable: string }>;

/** What the verifier can read of `/etc/<path>`: undefined when the configuration does not put that file there. */
export type EtcReader = (file: string) => Promise<{ text: string; source: string } | { unreadable: string }>;

/**
 * Reads store files the way scripts are read (the built file, or in eval mode its derivation's text among `drvs`), and
 * /etc files through `etc`.
 */
export function storeReader(scripts: ScriptSource, drvs: readonly string[], etc?: EtcReader): FileReader {
  return async (p) => {
    if (p.startsWith('/etc/') && etc) return etc(p);
    if (!parseStorePath(p)) return { unreadable: `${p} is outside the store and /etc: it cannot be read` };
    const got = await scripts.scriptAt(p, drvs);
    return 'missing' in got ? { missing: got.missing } : { text: got.text };
  };
}

export async function serviceEnvironment(
  unit: UnitFile,
  source: string,
  read: FileReader,
): Promise<ServiceEnvironment> {
  const env: ServiceEnvironment = { vars: new Map(), unset: new Map(), unreadable: [], notes: [] };
  for (const a of environmentAssignments(unit))
    env.vars.set(a.name, { value: a.value, from: `${a.file ?? source}:${a.line}: Environment=` });
  for (const f of environmentFiles(unit)) {
    const optional = f.value.startsWith('-');
    const file = f.value.replace(/^-/, '');
    const at = whereIs(f, source);
    const got = await read(file);
    if ('unreadable' in got) {
      env.unreadable.push(`${file} (EnvironmentFile= at ${at})`);
      env.notes.push(
        `${at}: EnvironmentFile=${f.value} is read when the service starts and may set any variable (PATH too); ${got.unreadable}`,
      );
      continue;
    }
    if ('missing' in got) {
      if (!optional) env.notes.push(`${at}: EnvironmentFile=${file}: ${got.missing}`);
      if (!optional) env.unreadable.push(`${file} (EnvironmentFile= at ${at})`);
      continue;
    }
    for (const [k, v] of parseEnvironmentFile(got.text))
      env.vars.set(k, {
        value: v,
        from: `${file}${got.source && got.source !== file ? ` (${got.source})` : ''} (EnvironmentFile= at ${at}): `,
      });
  }
  for (const l of listSetting(unit, 'Service', 'UnsetEnvironment')) {
    for (const word of unitWords(l.value)) {
      const eq = word.indexOf('=');
      const name = eq > 0 ? word.slice(0, eq) : word;
      const current = env.vars.get(name);
      // `NAME=VALUE` only removes that exact assignment.
      if (eq > 0 && current?.value !== word.slice(eq + 1)) continue;
      env.vars.delete(name);
      env.unset.set(name, `${whereIs(l, source)}: UnsetEnvironment=${l.value}`);
    }
  }
  return env;
}
