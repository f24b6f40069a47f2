// The PATH a drone-runner-exec step starts with. The runner process gets its
// environment from its systemd unit (Environment= in order, EnvironmentFile=
// over them, UnsetEnvironment=) and from whatever its ExecStart runs before the
// runner binary (`env PATH=…`, a start script); DRONE_RUNNER_PATH sets PATH for
// every step; the runner's global environment (DRONE_RUNNER_ENVIRON, `KEY:VALUE,…`)
// is combined over that; then the pipeline's `environment:` and the step's own.
import type { UnitView } from '../context.js';
import type { ScriptSource } from '../execChain.js';
import type { HostView } from '../resolve.js';
import { processEnvironment } from '../systemd/process.js';
import type { DroneStep } from './pipeline.js';

export interface RunnerEnv {
  /** PATH every step inherits from the runner, and where it came from. */
  path?: string;
  source: string;
  notes: string[];
  /** The runner cannot be followed (an ExecStart the verifier cannot read): no step PATH is known. */
  problem?: string;
  /** `problem` is outside what the verifier can read ("cannot follow"): an error, not a fail. */
  unknown?: boolean;
  /** DRONE_RUNNER_LABELS: a pipeline with `node:` labels only runs on a runner that has them all. */
  labels: Record<string, string>;
  /** How the runner process starts, for evidence. */
  chain: string[];
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

export async function runnerEnv(unit: UnitView, view: HostView, scripts: ScriptSource): Promise<RunnerEnv> {
  const proc = await processEnvironment(unit, view, scripts);
  const labels = proc.vars.get('DRONE_RUNNER_LABELS') ? parseRunnerEnviron(proc.vars.get('DRONE_RUNNER_LABELS')!.value) : {};
  const base = { notes: proc.notes, labels, chain: proc.chain };
  if (proc.problem) return { ...base, source: proc.source, problem: proc.problem };
  if (proc.unknown) return { ...base, source: proc.source, problem: proc.unknown, unknown: true };
  const environ = proc.vars.get('DRONE_RUNNER_ENVIRON');
  if (environ) {
    const p = parseRunnerEnviron(environ.value).PATH;
    if (p !== undefined) return { ...base, path: p, source: `${environ.from}DRONE_RUNNER_ENVIRON PATH` };
  }
  const runnerPath = proc.vars.get('DRONE_RUNNER_PATH');
  if (runnerPath) return { ...base, path: runnerPath.value, source: `${runnerPath.from}DRONE_RUNNER_PATH` };
  return { ...base, ...(proc.path !== undefined ? { path: proc.path } : {}), source: proc.source };
}

/** The PATH a step's shell starts with: its own or the pipeline's `environment.PATH` over the runner's. */
export function stepPath(step: DroneStep, runner: Pick<RunnerEnv, 'path' | 'source'>): { value?: string; source: string; unknown?: string } {
  const own = step.environment.PATH;
  if (own !== undefined) {
    const where = step.environmentSource.PATH === 'pipeline' ? `pipeline "${step.pipeline}" environment.PATH` : `step "${step.name}" environment.PATH`;
    if (typeof own !== 'string' && typeof own !== 'number') return { source: where, unknown: `${where} is not a plain string (e.g. from_secret): its value is unknown` };
    // Drone expands ${PATH} in step environment values against the runner's environment.
    const value = String(own).replace(/\$\{PATH\}|\$PATH\b/g, runner.path ?? '');
    return { value, source: where };
  }
  return runner.path !== undefined ? { value: runner.path, source: runner.source } : { source: runner.source };
}
