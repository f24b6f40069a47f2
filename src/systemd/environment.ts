// The environment systemd starts a service with: `Environment=` lines in order,
// then each `EnvironmentFile=` (read at start, so it overrides them), then
// `UnsetEnvironment=` removes names. A file in the store is read (after a build,
// or from its derivation's text in eval mode); a file outside the store (a
// runtime secret) cannot be read, and the result says so.
import type { ScriptSource } from '../execChain.js';
import { parseStorePath } from '../parse/storePath.js';
import { environmentAssignments, environmentFiles, listSetting, unitWords, type UnitFile } from './unit.js';

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
    let value = m[2]!;
    if (/^".*"$/.test(value) || /^'.*'$/.test(value)) value = value.slice(1, -1);
    out.push([m[1]!, value]);
  }
  return out;
}

export type FileReader = (storePath: string) => Promise<{ text: string } | { missing: string }>;

/** Reads store files the way scripts are read: the built file, or (eval mode) its derivation's text among `drvs`. */
export function storeReader(scripts: ScriptSource, drvs: readonly string[]): FileReader {
  return async (p) => {
    const got = await scripts.scriptAt(p, drvs);
    return 'missing' in got ? { missing: got.missing } : { text: got.text };
  };
}

export async function serviceEnvironment(unit: UnitFile, source: string, read: FileReader): Promise<ServiceEnvironment> {
  const env: ServiceEnvironment = { vars: new Map(), unset: new Map(), unreadable: [], notes: [] };
  for (const a of environmentAssignments(unit)) env.vars.set(a.name, { value: a.value, from: `${source}:${a.line}: Environment=` });
  for (const f of environmentFiles(unit)) {
    const optional = f.value.startsWith('-');
    const file = f.value.replace(/^-/, '');
    if (!parseStorePath(file)) {
      env.unreadable.push(file);
      env.notes.push(`${source}:${f.line}: EnvironmentFile=${f.value} is read when the service starts and may set any variable; it is outside the store and cannot be read`);
      continue;
    }
    const got = await read(file);
    if ('missing' in got) {
      if (!optional) env.notes.push(`${source}:${f.line}: EnvironmentFile=${file}: ${got.missing}`);
      if (!optional) env.unreadable.push(file);
      continue;
    }
    for (const [k, v] of parseEnvironmentFile(got.text)) env.vars.set(k, { value: v, from: `${file} (EnvironmentFile= at ${source}:${f.line})` });
  }
  for (const l of listSetting(unit, 'Service', 'UnsetEnvironment')) {
    for (const word of unitWords(l.value)) {
      const eq = word.indexOf('=');
      const name = eq > 0 ? word.slice(0, eq) : word;
      const current = env.vars.get(name);
      // `NAME=VALUE` only removes that exact assignment.
      if (eq > 0 && current?.value !== word.slice(eq + 1)) continue;
      env.vars.delete(name);
      env.unset.set(name, `${source}:${l.line}: UnsetEnvironment=${l.value}`);
    }
  }
  return env;
}
