// The PATH a drone-runner-exec step starts with. The runner process gets its
// environment from its systemd unit (Environment= lines in order, the last PATH
// wins); DRONE_RUNNER_PATH sets PATH for every step; the runner's global
// environment (DRONE_RUNNER_ENVIRON, `KEY:VALUE,…`) is combined over that; then
// the pipeline's `environment:` and the step's own, key by key.
import type { UnitView } from '../context.js';
import { effectiveEnv, environmentFiles } from '../systemd/unit.js';
import type { DroneStep } from './pipeline.js';

export interface RunnerEnv {
  /** PATH every step inherits from the runner, and where it came from. */
  path?: string;
  source: string;
  notes: string[];
}

/** `DRONE_RUNNER_ENVIRON=KEY:VALUE,KEY2:VALUE2` (envconfig map: entries split at commas, key at the first colon). */
export function parseRunnerEnviron(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of value.split(',')) {
    const colon = item.indexOf(':');
    if (colon > 0) out[item.slice(0, colon).trim()] = item.slice(colon + 1);
  }
  return out;
}

export function runnerEnv(unit: UnitView): RunnerEnv {
  const notes: string[] = [];
  for (const f of environmentFiles(unit.unit)) {
    notes.push(`${unit.source}:${f.line}: EnvironmentFile=${f.value} is read when the runner starts and could set PATH, DRONE_RUNNER_PATH or DRONE_RUNNER_ENVIRON; the verifier cannot read it`);
  }
  const environ = effectiveEnv(unit.unit, 'DRONE_RUNNER_ENVIRON');
  if (environ) {
    const p = parseRunnerEnviron(environ.value).PATH;
    if (p !== undefined) return { path: p, source: `${unit.source}:${environ.line}: DRONE_RUNNER_ENVIRON PATH`, notes };
  }
  const runnerPath = effectiveEnv(unit.unit, 'DRONE_RUNNER_PATH');
  if (runnerPath) return { path: runnerPath.value, source: `${unit.source}:${runnerPath.line}: DRONE_RUNNER_PATH`, notes };
  const p = effectiveEnv(unit.unit, 'PATH');
  if (p) return { path: p.value, source: `${unit.source}:${p.line}: Environment=PATH (the last one wins)`, notes };
  return { source: `${unit.source}: sets no PATH`, notes };
}

/** The PATH a step's shell starts with: its own or the pipeline's `environment.PATH` over the runner's. */
export function stepPath(step: DroneStep, runner: RunnerEnv): { value?: string; source: string; unknown?: string } {
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
