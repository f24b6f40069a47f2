// The environment a service's main process really starts with: its unit's
// environment (Environment= in order, EnvironmentFile= over them,
// UnsetEnvironment=), then whatever its ExecStart runs before the program
// (`env PATH=…`, a start script). Runner services hand this PATH to their jobs.
import type { UnitView } from '../context.js';
import { followToTarget, type ScriptSource } from '../execChain.js';
import { splitPath, type HostView } from '../resolve.js';
import { serviceEnvironment, storeReader } from './environment.js';
import { execStart, execStartRule } from './unit.js';

export interface ProcessEnvironment {
  /** The process's PATH, if it has one. */
  path?: string;
  /** Where that PATH came from, for evidence. */
  source: string;
  /** The unit's variables (after UnsetEnvironment=), by name. */
  vars: Map<string, { value: string; from: string }>;
  notes: string[];
  /** How the process starts, for evidence. */
  chain: string[];
  /** The ExecStart cannot be followed, or systemd refuses the unit: the PATH is unknown. */
  problem?: string;
  /**
   * Outside what the verifier can read (an EnvironmentFile= it cannot read, drop-ins eval mode cannot see): "cannot
   * follow", an error, not a fail.
   */
  unknown?: string;
}

export async function processEnvironment(
  unit: UnitView,
  view: HostView,
  scripts: ScriptSource,
): Promise<ProcessEnvironment> {
  const env = await serviceEnvironment(unit.unit, unit.source, storeReader(scripts, unit.context, unit.etc));
  const notes = [...env.notes];
  const unitPath = env.vars.get('PATH');
  const unset = env.unset.get('PATH');
  let path: string | undefined = unset ? undefined : unitPath?.value;
  let source = unset
    ? `${unset} (PATH removed)`
    : unitPath
      ? `${unitPath.from}PATH (the last assignment wins)`
      : `${unit.source}: sets no PATH`;
  const refused = unit.unseen?.length ? undefined : execStartRule(unit.unit, unit.source);
  if (refused) return { source, vars: env.vars, notes, chain: [], problem: `${unit.name}: ${refused}` };
  if (unit.unseen?.length)
    return {
      source,
      vars: env.vars,
      notes,
      chain: [],
      unknown: `cannot follow ${unit.name}: ${unit.unseen.join('; ')} (build mode reads the built unit directory)`,
    };
  if (env.unreadable.length)
    return {
      source,
      vars: env.vars,
      notes,
      chain: [],
      unknown: `cannot follow the environment of ${unit.name}: ${env.unreadable.map((f) => `${f} may set PATH`).join('; ')} (only a file in the store or one NixOS writes into /etc can be read)`,
    };
  const exec = execStart(unit.unit);
  const last = exec[exec.length - 1];
  if (!last) return { ...(path !== undefined ? { path } : {}), source, vars: env.vars, notes, chain: [] };
  const followed = await followToTarget(
    {
      argv: [last.program, ...last.args],
      where: `${last.file ?? unit.source}:${last.line}`,
      pathDirs: path === undefined ? [] : splitPath(path),
      drvs: unit.context,
    },
    undefined,
    view,
    scripts,
  );
  if (!followed.ok)
    return {
      source: `${last.file ?? unit.source}:${last.line}`,
      vars: env.vars,
      notes,
      chain: followed.chain,
      problem: `the ExecStart of ${unit.name} cannot be followed: ${followed.reason}`,
    };
  const started = followed.pathDirs.join(':');
  if (started !== (path ?? '')) {
    path = started;
    source = `${last.file ?? unit.source}:${last.line}: ExecStart (the PATH it starts ${followed.file ?? 'the program'} with)`;
  }
  return { ...(path !== undefined ? { path } : {}), source, vars: env.vars, notes, chain: followed.chain };
}
