// .drone.yml read the way Drone reads it: YAML 1.1 (go-yaml), every document,
// `kind: secret`/`signature` documents skipped, and `when`/`trigger` conditions
// that decide whether a step can run at all.
//
// Contract (pipeline-level `environment:`):
// - drone-runner-exec, engine/resource/exec.go: an exec pipeline's resource holds version, kind, type,
//   name, depends_on, clone, platform, trigger, workspace and steps, nothing else; the runner ignores any
//   other key, so a `type: exec` pipeline's `environment:` block reaches no step (FACTS.md, correction).
// - drone-runner-docker has a pipeline-level environment, applied under each step's own: kept for
//   `type: docker` (and the other container types), whose steps never reach the host's wrapper anyway.
// - Drone's `${VAR}` substitution (drone/envsubst) runs on the text before this parse: see envsubst.ts;
//   the caller passes the substituted text.
// yaml is a static import: the spec loader has loaded it already (a dynamic import of it would split the bundle).
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YamlNode } from 'yaml';

export interface Position {
  line: number;
  column: number;
}

export interface DroneStep {
  pipeline: string;
  pipelineType: string;
  name: string;
  /** Command lines, as the runner writes them into the step's shell script. */
  commands: string[];
  /** Step environment over the pipeline's: what the step adds to the runner's environment. */
  environment: Record<string, unknown>;
  /** Where each environment key came from ("step" or "pipeline"). */
  environmentSource: Record<string, 'step' | 'pipeline'>;
  /** Keys of an exec pipeline's `environment:` block, which drone-runner-exec ignores (evidence only). */
  ignoredPipelineEnv?: string[];
  image?: string;
  position: Position;
  /**
   * Why the step can never run in a successful build, when its conditions (or the pipeline's trigger) exclude every
   * case.
   */
  neverRuns?: string;
  /** The pipeline's `node:` labels: only a runner with all of them (DRONE_RUNNER_LABELS) takes it. */
  node?: Record<string, string>;
}

export interface DroneProblem {
  message: string;
  position?: Position;
}

export interface DroneFile {
  steps: DroneStep[];
  /** The file cannot run as written: parse errors, duplicate keys, commands that are not strings. */
  errors: DroneProblem[];
}

/** Every event Drone raises; a condition that admits none of them can never be met. */
export const DRONE_EVENTS = ['push', 'pull_request', 'tag', 'promote', 'rollback', 'cron', 'custom'] as const;

const asRecord = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

interface Condition {
  include: string[];
  exclude: string[];
}

/** A condition as Drone accepts it: a string, a list (include), or `{ include, exclude }`. */
export function readCondition(value: unknown): Condition {
  const list = (v: unknown): string[] =>
    Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : [String(v)];
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const r = value as Record<string, unknown>;
    return { include: list(r.include), exclude: list(r.exclude) };
  }
  return { include: list(value), exclude: [] };
}

/** Go's filepath.Match on names without `/` (events, statuses): `*`, `?`, `[…]`. */
export function globMatch(pattern: string, value: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) return false; // Go: ErrBadPattern, no match
      re += `[${pattern
        .slice(i + 1, end)
        .replace(/^\^/, '^')
        .replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(value);
}

/** runner-go's Condition.Match: excluded wins, then an include list must match, an empty condition matches. */
export function conditionMatches(c: Condition, value: string): boolean {
  if (c.exclude.some((p) => globMatch(p, value))) return false;
  if (c.include.length === 0) return true;
  return c.include.some((p) => globMatch(p, value));
}

/**
 * Why a `when:` / `trigger:` block can never be met in a successful build, or
 * undefined when it can be. Only what is decidable without the build is judged:
 * the event (a fixed set) and the status (a step only on failure is not the normal run).
 */
export function neverRunsReason(conditions: Record<string, unknown>): string | undefined {
  if ('event' in conditions) {
    const c = readCondition(conditions.event);
    if (!DRONE_EVENTS.some((e) => conditionMatches(c, e)))
      return `its event condition ${JSON.stringify(conditions.event)} admits none of ${DRONE_EVENTS.join(', ')}`;
  }
  if ('status' in conditions) {
    const c = readCondition(conditions.status);
    if (!conditionMatches(c, 'success'))
      return `it runs only when the build has failed (status ${JSON.stringify(conditions.status)})`;
  }
  return undefined;
}

export async function parseDroneYaml(text: string): Promise<DroneFile> {
  const lc = new LineCounter();
  const steps: DroneStep[] = [];
  const errors: DroneProblem[] = [];
  const pos = (node: YamlNode | null | undefined): Position | undefined => {
    const offset = node?.range?.[0];
    if (offset === undefined) return undefined;
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const docs = parseAllDocuments(text, { version: '1.1', lineCounter: lc, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) errors.push({ message: 'empty document stream' });
  for (const doc of list as Document.Parsed[]) {
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const lp = e.linePos?.[0];
        errors.push({
          message: e.message.split('\n')[0],
          ...(lp ? { position: { line: lp.line, column: lp.col } } : {}),
        });
      }
      continue;
    }
    if (doc.contents === null) continue;
    const data = asRecord(doc.toJS({ maxAliasCount: 100 }));
    if (data.kind !== undefined && data.kind !== 'pipeline') continue; // secrets, signatures, templates
    const pipeline = typeof data.name === 'string' ? data.name : 'default';
    const pipelineType = typeof data.type === 'string' ? data.type : 'docker';
    // engine/resource/exec.go: an exec pipeline has no `environment:` field; only container runners apply one.
    const pipelineEnv = pipelineType === 'exec' ? {} : asRecord(data.environment);
    const ignoredEnv =
      pipelineType === 'exec' && data.environment !== undefined ? Object.keys(asRecord(data.environment)) : [];
    // A linux exec runner only takes pipelines for its OS (platform.os defaults to linux).
    const platform = asRecord(data.platform);
    const osNever =
      platform.os !== undefined && String(platform.os).toLowerCase() !== 'linux'
        ? `platform.os is ${String(platform.os)}: a linux runner never takes it`
        : undefined;
    const triggerNever = osNever ?? (data.trigger !== undefined ? neverRunsReason(asRecord(data.trigger)) : undefined);
    const node =
      data.node !== undefined
        ? Object.fromEntries(Object.entries(asRecord(data.node)).map(([k, v]) => [k, String(v)]))
        : undefined;
    const stepNames = new Set(
      (Array.isArray(data.steps) ? data.steps : []).map((x, i) =>
        typeof asRecord(x).name === 'string' ? (asRecord(x).name as string) : `step-${i + 1}`,
      ),
    );
    const stepsNode = doc.get('steps', true);
    if (!isSeq(stepsNode)) continue;
    stepsNode.items.forEach((item, index) => {
      if (!isMap(item)) {
        errors.push({
          message: `pipeline "${pipeline}": step ${index + 1} is not a map`,
          ...(pos(item as YamlNode) ? { position: pos(item as YamlNode)! } : {}),
        });
        return;
      }
      // The document's own values: aliases and YAML 1.1 merge keys (`<<: *base`) resolved as go-yaml does.
      const step = asRecord((Array.isArray(data.steps) ? data.steps : [])[index]);
      const name = typeof step.name === 'string' ? step.name : `step-${index + 1}`;
      const commands: string[] = [];
      const commandsNode = item.get('commands', true);
      const nodes = isSeq(commandsNode) ? commandsNode.items : commandsNode !== undefined ? [commandsNode] : [];
      const values = Array.isArray(step.commands)
        ? step.commands
        : step.commands === undefined || step.commands === null
          ? []
          : [step.commands];
      values.forEach((value, j) => {
        const node = nodes[j] as YamlNode | undefined;
        if (value !== null && typeof value === 'object') {
          // A map or a list cannot be a command: Drone rejects the file.
          const at = pos(node) ?? pos(commandsNode) ?? pos(item);
          errors.push({
            message: `step "${name}" of pipeline "${pipeline}": a commands item is a ${Array.isArray(value) ? 'list' : 'map'}, not a string (Drone rejects the file; quote the command)`,
            ...(at ? { position: at } : {}),
          });
          return;
        }
        // go-yaml gives a string field a scalar's own text (`42`, `yes`).
        commands.push(node && isScalar(node) && typeof node.source === 'string' ? node.source : String(value));
      });
      const own = asRecord(step.environment);
      const environment: Record<string, unknown> = { ...pipelineEnv, ...own };
      const environmentSource: Record<string, 'step' | 'pipeline'> = {};
      for (const k of Object.keys(pipelineEnv)) environmentSource[k] = 'pipeline';
      for (const k of Object.keys(own)) environmentSource[k] = 'step';
      const when = step.when !== undefined ? neverRunsReason(asRecord(step.when)) : undefined;
      const never = osNever
        ? `the pipeline's ${osNever}`
        : triggerNever
          ? `the pipeline's trigger: ${triggerNever}`
          : when
            ? `its when: ${when}`
            : undefined;
      // Drone's linter rejects a dependency on a step that does not exist: the pipeline never starts.
      const deps = Array.isArray(step.depends_on)
        ? step.depends_on.map(String)
        : step.depends_on !== undefined
          ? [String(step.depends_on)]
          : [];
      for (const d of deps.filter((x) => !stepNames.has(x))) {
        const at = pos(item.get('depends_on', true));
        errors.push({
          message: `step "${name}" of pipeline "${pipeline}" depends on "${d}", which is not a step of the pipeline (Drone rejects the pipeline)`,
          ...(at ? { position: at } : {}),
        });
      }
      steps.push({
        pipeline,
        pipelineType,
        name,
        commands,
        environment,
        environmentSource,
        ...(typeof step.image === 'string' ? { image: step.image } : {}),
        position: pos(item) ?? { line: 0, column: 0 },
        ...(never ? { neverRuns: never } : {}),
        ...(node ? { node } : {}),
        ...(ignoredEnv.length ? { ignoredPipelineEnv: ignoredEnv } : {}),
      });
    });
  }
  return { steps, errors };
}

export const formatPosition = (file: string, p?: Position): string => (p ? `${file}:${p.line}:${p.column}` : file);
