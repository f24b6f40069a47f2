// The environment a drone-runner-exec step starts with.
//
// Contract, in the runner's own order (drone-runner-exec daemon/config.go FromEnviron, runtime/runner.go,
// engine/compiler/compiler.go + env.go/vars.go; runner-go environ/expand.go):
// 1. The runner process's environment: its systemd unit (Environment= in order, EnvironmentFile= over them,
//    UnsetEnvironment=; src/systemd/) and whatever its ExecStart runs before the runner binary (`env PATH=…`,
//    a start script; src/execChain.ts). Of it a step gets only PATH and USER (hostEnviron, vars.go).
// 2. The runner's global environment `config.Runner.Environ`, combined over (1):
//    a. DRONE_RUNNER_ENVIRON (envconfig map: `KEY:VALUE,…`, entries split at commas, key at the first colon);
//    b. over it, every variable of the file named by DRONE_RUNNER_ENVFILE, read with godotenv v1.3.0
//       (go.mod) `Read`: see parseGodotenv. A file the runner cannot read stops the runner (FromEnviron
//       returns the error): no step runs. A file the verifier cannot read leaves the step's PATH unproven.
//    c. over both, DRONE_RUNNER_PATH as PATH.
//    The same Environ is what `${VAR}` in .drone.yml is substituted from (runtime/runner.go; envsubst.ts).
// 3. Drone's build variables (DRONE_*, CI_*; they never set PATH), then the step's own `environment:`
//    (an exec pipeline has no pipeline-level one: pipeline.ts), whose PATH is expanded by runner-go's
//    environ.Expand: Go's os.Expand (`$NAME`, `${NAME}`) against the runner PROCESS's environment (1).
// Implemented: all of the above. Where the env file lives: a store path (the built file, or in eval mode
// its derivation's text), or `/etc/NAME` as the host has it (the caller's `readEtc`: the run context's reader of
// the built /etc in build mode and of `environment.etc` in eval mode; without one, the built toplevel's etc).
// Anything else (a runtime file) cannot be read: `problem`, which the check reports as "cannot follow".
import fs from 'node:fs';
import path from 'node:path';
import type { UnitView } from '../context.js';
import type { ScriptSource } from '../execChain.js';
import { parseStorePath } from '../parse/storePath.js';
import type { HostView } from '../resolve.js';
import { storeReader, type FileReader } from '../systemd/environment.js';
import { processEnvironment } from '../systemd/process.js';
import type { DroneStep } from './pipeline.js';

export interface EnvEntry {
  value: string;
  from: string;
}

export interface RunnerEnv {
  /** PATH every step inherits from the runner, and where it came from. */
  path?: string;
  source: string;
  notes: string[];
  /** The runner cannot be followed (an ExecStart or env file the verifier cannot read): no step PATH is known. */
  problem?: string;
  /** `problem` is outside what the verifier can read ("cannot follow"): an error, not a fail. */
  unknown?: boolean;
  /** DRONE_RUNNER_LABELS: a pipeline with `node:` labels only runs on a runner that has them all. */
  labels: Record<string, string>;
  /** How the runner process starts, for evidence. */
  chain: string[];
  /** The runner's global environment (config.Runner.Environ): `${VAR}` in .drone.yml is substituted from it. */
  environ?: Map<string, EnvEntry>;
  /** The runner process's own variables (what a step's `environment.PATH` `$NAME` expands against). */
  processVars?: Map<string, EnvEntry>;
  /** The runner process's PATH. */
  processPath?: string;
}

/** `KEY:VALUE,KEY2:VALUE2` (envconfig maps: entries split at commas, key at the first colon). */
export function parseRunnerEnviron(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of value.split(',')) {
    const colon = item.indexOf(':');
    if (colon > 0) out[item.slice(0, colon).trim()] = item.slice(colon + 1);
  }
  return out;
}

/**
 * godotenv v1.3.0 `Parse`: lines (blank or `#` lines skipped); `#` starts a comment unless inside quotes
 * (its segment-counting rule); the key/value split at the first `=`, or at the first `:` when it comes
 * earlier (YAML style); `export` before the key dropped; value trimmed of spaces; `'…'` literal; `"…"` with
 * `\n`/`\r` and `\X` unescaped; unless single-quoted, `$NAME`/`${NAME}` (NAME in [A-Z0-9_]) replaced by the
 * file's own earlier variables (else empty), `\$` kept as `$`. A line without a separator is an error.
 */
export function parseGodotenv(text: string): { vars: [string, string][] } | { error: string; line: number } {
  const env = new Map<string, string>();
  const vars: [string, string][] = [];
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    const trimmed = line.replace(/^[ \n\t]+|[ \n\t]+$/g, '');
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (line.includes('#')) {
      let open = false;
      const keep: string[] = [];
      for (const seg of line.split('#')) {
        if (seg.split('"').length - 1 === 1 || seg.split("'").length - 1 === 1) {
          if (open) {
            open = false;
            keep.push(seg);
          } else open = true;
        }
        if (keep.length === 0 || open) keep.push(seg);
      }
      line = keep.join('#');
    }
    const eq = line.indexOf('=');
    const colon = line.indexOf(':');
    const at = colon !== -1 && (colon < eq || eq === -1) ? colon : eq;
    if (at === -1) return { error: "Can't separate key from value", line: i + 1 };
    let key = line.slice(0, at);
    if (key.startsWith('export')) key = key.slice('export'.length);
    key = key.replace(/^ +| +$/g, '');
    let value = line.slice(at + 1).replace(/^ +| +$/g, '');
    if (value.length > 1) {
      const single = /^'(.*)'$/.exec(value);
      const double = /^"(.*)"$/.exec(value);
      if (single || double) value = value.slice(1, -1);
      if (double) {
        value = value.replace(/\\./g, (m) => (m[1] === 'n' ? '\n' : m[1] === 'r' ? '\r' : m));
        value = value.replace(/\\([^$])/g, '$1');
      }
      if (!single) {
        value = value.replace(
          /(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?/g,
          (m, bs: string | undefined, _d: string, paren: string | undefined, name: string | undefined) =>
            bs === '\\' || paren === '(' ? m.slice(1) : name ? (env.get(name) ?? '') : m,
        );
      }
    }
    env.set(key, value);
    vars.push([key, value]);
  }
  return { vars };
}

/** Reads `/etc/NAME` as the host has it (the built /etc, or the evaluated `environment.etc`), from the caller. */
export type EtcReader = (name: string) => Promise<{ text: string; source: string } | { missing: string }>;

/** The env file's text: a store path, or a file NixOS writes into /etc; anything else is a runtime file. */
async function readEnvFile(
  file: string,
  view: HostView,
  read: FileReader,
  readEtc?: EtcReader,
): Promise<{ text: string; source: string } | { missing: string }> {
  if (parseStorePath(file)) {
    const got = await read(file);
    return 'text' in got
      ? { text: got.text, source: file }
      : { missing: 'missing' in got ? got.missing : got.unreadable };
  }
  const etc = /^\/etc\/(.+)$/.exec(path.posix.normalize(file));
  if (etc) {
    if (readEtc) return readEtc(etc[1]);
    if (view.toplevel) {
      const built = path.join(view.toplevel, 'etc', etc[1]);
      try {
        return { text: fs.readFileSync(built, 'utf8'), source: `${built} (${file} of the built system)` };
      } catch {
        return { missing: `${file} is not in the built system's etc (${built})` };
      }
    }
    return {
      missing: `${file} is written by the system at run time; eval mode has no reader for it here (build mode reads the built /etc)`,
    };
  }
  return { missing: `${file} is outside the store and /etc: it is a run-time file the verifier cannot read` };
}

export async function runnerEnv(
  unit: UnitView,
  view: HostView,
  scripts: ScriptSource,
  readEtc?: EtcReader,
): Promise<RunnerEnv> {
  const proc = await processEnvironment(unit, view, scripts);
  const labels = proc.vars.get('DRONE_RUNNER_LABELS')
    ? parseRunnerEnviron(proc.vars.get('DRONE_RUNNER_LABELS')!.value)
    : {};
  const notes = [...proc.notes];
  const base = { notes, labels, chain: proc.chain };
  if (proc.problem) return { ...base, source: proc.source, problem: proc.problem };
  // The runner's own environment cannot be read (an unreadable EnvironmentFile=): every step's PATH is unproven.
  if (proc.unknown) return { ...base, source: proc.source, problem: proc.unknown, unknown: true };
  const environ = new Map<string, EnvEntry>();
  const environVar = proc.vars.get('DRONE_RUNNER_ENVIRON');
  if (environVar)
    for (const [k, v] of Object.entries(parseRunnerEnviron(environVar.value)))
      environ.set(k, { value: v, from: `${environVar.from}DRONE_RUNNER_ENVIRON ${k}` });
  const envFile = proc.vars.get('DRONE_RUNNER_ENVFILE');
  if (envFile && envFile.value !== '') {
    const got = await readEnvFile(envFile.value, view, storeReader(scripts, unit.context), readEtc);
    const where = `DRONE_RUNNER_ENVFILE=${envFile.value} (${envFile.from.replace(/: ?$/, '')})`;
    if ('missing' in got)
      return {
        ...base,
        source: where,
        problem: `cannot follow: the runner reads every step's variables from ${where}, which cannot be read: ${got.missing}`,
      };
    const parsed = parseGodotenv(got.text);
    if ('error' in parsed)
      return {
        ...base,
        source: where,
        problem: `${got.source}:${parsed.line}: godotenv cannot parse the runner's env file (${parsed.error}): the runner does not start`,
      };
    for (const [k, v] of parsed.vars) environ.set(k, { value: v, from: `${got.source} (${where}) ${k}` });
    notes.push(`the runner's env file ${got.source} sets ${parsed.vars.map(([k]) => k).join(', ') || 'nothing'}`);
  }
  const runnerPath = proc.vars.get('DRONE_RUNNER_PATH');
  if (runnerPath && runnerPath.value !== '')
    environ.set('PATH', { value: runnerPath.value, from: `${runnerPath.from}DRONE_RUNNER_PATH` });
  const processVars = new Map<string, EnvEntry>(proc.vars);
  if (proc.path !== undefined) processVars.set('PATH', { value: proc.path, from: proc.source });
  else processVars.delete('PATH');
  const more = { environ, processVars, ...(proc.path !== undefined ? { processPath: proc.path } : {}) };
  const p = environ.get('PATH');
  if (p) return { ...base, ...more, path: p.value, source: p.from };
  return { ...base, ...more, ...(proc.path !== undefined ? { path: proc.path } : {}), source: proc.source };
}

/**
 * Go's os.Expand as runner-go's environ.Expand applies it to a step's PATH: `${NAME}` and `$NAME` from the
 * runner process's environment; a name the unit does not set makes the value unknown (systemd adds some).
 */
function osExpand(
  value: string,
  vars: ReadonlyMap<string, EnvEntry> | undefined,
  processPath: string | undefined,
): { value: string } | { unknown: string } {
  let unknown: string | undefined;
  const out = value.replace(
    /\$(?:\{([^}]*)\}|([A-Za-z0-9_]+)|([*#$@!?\-0-9]))/g,
    (_m, braced: string | undefined, bare: string | undefined, special: string | undefined) => {
      const name = braced ?? bare ?? special ?? '';
      if (name === 'PATH') {
        if (processPath === undefined && vars)
          unknown ??= 'the runner process has no PATH its unit or start chain sets (systemd would give a default)';
        return processPath ?? '';
      }
      if (vars === undefined) {
        unknown ??= `$${name} is expanded from the runner process's environment, which is not known here`;
        return '';
      }
      const v = vars.get(name);
      // systemd and the start chain may add variables the unit does not name: not guessed.
      if (!v) unknown ??= `$${name} is not set by the runner's unit; its value in the runner process is not known`;
      return v ? v.value : '';
    },
  );
  return unknown ? { unknown } : { value: out };
}

/** The PATH a step's shell starts with: the step's own `environment.PATH` (expanded) over the runner's. */
export function stepPath(
  step: DroneStep,
  runner: Pick<RunnerEnv, 'path' | 'source' | 'processPath' | 'processVars'>,
): { value?: string; source: string; unknown?: string } {
  const own = step.environment.PATH;
  if (own !== undefined) {
    const where =
      step.environmentSource.PATH === 'pipeline'
        ? `pipeline "${step.pipeline}" environment.PATH`
        : `step "${step.name}" environment.PATH`;
    if (typeof own !== 'string' && typeof own !== 'number')
      return { source: where, unknown: `${where} is not a plain string (e.g. from_secret): its value is unknown` };
    // runner-go environ.Expand: os.Expand against the runner process's environment.
    // Without the process's variables (a caller that only knows the step PATH), $PATH is that PATH.
    const e = osExpand(String(own), runner.processVars, runner.processVars ? runner.processPath : runner.path);
    if ('unknown' in e) return { source: where, unknown: `cannot follow: ${where} \`${String(own)}\`: ${e.unknown}` };
    return { value: e.value, source: where };
  }
  return runner.path !== undefined ? { value: runner.path, source: runner.source } : { source: runner.source };
}
