// HOW 4: the nightly sweep and the Drone step run the byte-identical wrapper store path.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { HostFacts, RunContext } from '../context.js';
import { CheckInputError } from '../errors.js';
import { parseDroneYaml, type DroneStep } from '../parse/droneYaml.js';
import { commandWord, findPathLines, invocationsOf, programName, shellWords, splitCommands } from '../parse/shellScript.js';
import { stripNixComments } from '../parse/nixText.js';
import { packageOf, parseStorePath, STORE_PATH_RE } from '../parse/storePath.js';
import { exists, readText, storeRootOf, wrapperScript } from '../storeFs.js';
import { sharedPackagePath } from './pathSuperset.js';
import { describeError, error, fail, pass, perHost, type CheckDefinition } from './types.js';

const SYSTEM_PROFILES = ['/run/current-system/sw/bin', '/nix/var/nix/profiles/system/sw/bin'];

export interface Resolution {
  /** Store path the program resolves to, when found. */
  root?: string;
  /** The PATH entry (or absolute word) it was found through. */
  via?: string;
  notes: string[];
}

/** Resolves a program through PATH entries the way a shell would, against a built host or its evaluation. */
export type ProgramResolver = (entries: readonly string[], program: string) => Resolution;

export function builtResolver(toplevel: string): ProgramResolver {
  return (entries, program) => {
    const notes: string[] = [];
    for (const entry of entries) {
      if (/^\$\{?PATH\}?$/.test(entry)) {
        notes.push(`${entry}: inherited from the caller, not resolved`);
        continue;
      }
      const dir = SYSTEM_PROFILES.includes(entry) ? path.join(toplevel, 'sw', 'bin') : entry;
      if (!dir.startsWith('/nix/store/')) {
        notes.push(`${entry}: not part of the build, skipped`);
        continue;
      }
      const candidate = path.join(dir, program);
      if (exists(candidate)) return { root: storeRootOf(candidate), via: entry === dir ? entry : `${entry} (= ${dir})`, notes };
    }
    return { notes };
  };
}

/** Eval mode: nothing is built, so a store dir provides `program` when its package is named so. */
export function evaluatedResolver(facts: HostFacts): ProgramResolver {
  return (entries, program) => {
    const notes: string[] = [];
    for (const entry of entries) {
      if (SYSTEM_PROFILES.includes(entry)) {
        const pkg = facts.systemPackages.find((p) => p.name === program || packageOf(p.name).pname === program);
        if (pkg?.installed[0]) {
          // Which package wins sw/bin/<program> is decided by the build; eval mode goes by the package's name.
          return { root: parseStorePath(pkg.installed[0])?.root ?? pkg.installed[0], via: `${entry} (system package ${pkg.name}, evaluated: the winner of sw/bin/${program} is only known after a build)`, notes };
        }
        continue;
      }
      const sp = parseStorePath(entry);
      if (!sp) {
        notes.push(`${entry}: not part of the evaluation, skipped`);
        continue;
      }
      if (sp.name === program || packageOf(sp.name).pname === program) return { root: sp.root, via: entry, notes };
    }
    return { notes };
  };
}

/** Resolves the program a script word names: absolute paths directly, bare names through PATH. */
export function resolveWord(word: string, entries: readonly string[], resolver: ProgramResolver, toplevel?: string): Resolution {
  if (word.startsWith('/')) {
    for (const profile of SYSTEM_PROFILES) {
      if (word.startsWith(`${profile}/`)) return resolver([profile], programName(word));
    }
    const sp = parseStorePath(word);
    if (sp) return { root: toplevel ? (storeRootOf(word) ?? sp.root) : sp.root, via: word, notes: [] };
    return { notes: [`${word}: outside the store, not resolvable`] };
  }
  return resolver(entries, programName(word));
}

export interface DroneUse {
  step: DroneStep;
  command: string;
  /** True when the command runs the script through the wrapper. */
  viaWrapper: boolean;
  program?: string;
}

/** Steps that run `script`, and whether each goes through `pkg` (a `python3 script` bypasses the shared env). */
export function droneUses(steps: readonly DroneStep[], script: string, pkg: string): DroneUse[] {
  const target = path.posix.normalize(script);
  const uses: DroneUse[] = [];
  for (const step of steps) {
    for (const line of step.commands) {
      for (const cmd of splitCommands(line)) {
        const parsed = commandWord(cmd);
        if (!parsed) continue;
        const words = [parsed.program, ...parsed.args].map((w) => path.posix.normalize(w));
        if (!words.includes(target)) continue;
        uses.push({ step, command: cmd, viaWrapper: programName(parsed.program) === pkg, program: parsed.program });
      }
    }
  }
  return uses;
}

/** A step the exec runner runs on the host itself (an exec pipeline, no image). */
export const runsOnHost = (step: DroneStep): boolean => step.pipelineType === 'exec' && step.image === undefined;

/** PATH from systemd `Environment=` text (`serviceConfig.Environment`: a string or a list of `K=V` words). */
export function pathFromServiceEnvironment(value: unknown, key = 'PATH'): string | undefined {
  const items = Array.isArray(value) ? value : [value];
  let found: string | undefined;
  for (const item of items) {
    if (typeof item !== 'string') continue;
    for (const word of shellWords(item)) if (word.startsWith(`${key}=`)) found = word.slice(key.length + 1);
  }
  return found;
}

/** A PATH assignment written in the runner module's text, for when its service is not in the evaluated config. */
export function pathFromRunnerText(text: string): { value: string; key: string } | undefined {
  const code = stripNixComments(text);
  for (const key of ['DRONE_RUNNER_PATH', 'PATH']) {
    const m = new RegExp(`(?:^|[^A-Za-z_])${key}\\s*=\\s*(?:lib\\.mkForce\\s+|lib\\.mkDefault\\s+)?"([^"]*\\/[^"]*)"`).exec(code) ?? new RegExp(`"${key}=([^"]*\\/[^"]*)"`).exec(code);
    if (m) return { value: m[1]!, key };
  }
  return undefined;
}

export interface RunnerFacts {
  environment: Record<string, unknown>;
  serviceEnvironment: unknown;
}

/**
 * The PATH a Drone exec step sees: its own environment.PATH, else the runner's
 * DRONE_RUNNER_PATH, else the runner service's PATH (systemd `Environment=` lines
 * from serviceConfig come after `environment` ones, so they win).
 */
export function stepPath(step: DroneStep, runner: RunnerFacts | null, runnerText?: string): { value?: string; source: string } {
  if (typeof step.environment.PATH === 'string') return { value: step.environment.PATH, source: `step "${step.name}" environment.PATH` };
  if (runner) {
    const runnerPath = pathFromServiceEnvironment(runner.serviceEnvironment, 'DRONE_RUNNER_PATH') ?? runner.environment.DRONE_RUNNER_PATH;
    if (typeof runnerPath === 'string') return { value: runnerPath, source: 'runner DRONE_RUNNER_PATH' };
    const fromServiceConfig = pathFromServiceEnvironment(runner.serviceEnvironment);
    if (fromServiceConfig) return { value: fromServiceConfig, source: 'runner serviceConfig.Environment PATH' };
    if (typeof runner.environment.PATH === 'string') return { value: runner.environment.PATH, source: 'runner service environment.PATH (evaluated)' };
    return { source: 'none' };
  }
  const written = runnerText ? pathFromRunnerText(runnerText) : undefined;
  if (written) return { value: written.value, source: `${written.key} written in the runner module (its service is not in the evaluated config)` };
  return { source: 'none' };
}

/** The sweep's PATH entries before its exec line, with `$PATH` (or no PATH line) filled from the service's PATH. */
export function sweepEntries(script: string, beforeLine: number, servicePath: string | undefined): string[] {
  const lines = findPathLines(script).filter((l) => l.lineNo < beforeLine);
  const inherited = servicePath ? servicePath.split(':').filter((e) => e !== '') : [];
  if (lines.length === 0) return inherited;
  return lines[lines.length - 1]!.entries.flatMap((e) => (/^\$\{?PATH\}?$/.test(e) && inherited.length ? inherited : [e]));
}

async function sweepScript(ctx: RunContext, host: string, facts: HostFacts): Promise<{ text: string; source: string; toplevel?: string; foundIn?: string }> {
  const name = ctx.settings.sweep;
  if (ctx.settings.mode === 'eval') {
    const drv = facts.sweepDrvs[0];
    if (!drv) throw new CheckInputError(`no systemd service refers to a derivation named ${name} (PLUGIN_SWEEP)`);
    const env = await ctx.nix.derivationEnv(drv);
    return { text: env.text ?? env.buildCommand ?? '', source: `${drv} (derivation text)` };
  }
  const build = await ctx.hostBuild(host);
  if (!build.outcome.ok) throw new CheckInputError('the host did not build (see the build check)');
  // Anchored: `…-cc-ci-nightly-sweep`, not `unit-cc-ci-nightly-sweep.service`. The service that runs
  // the sweep names its store path (built with the toplevel); else search the toplevel's closure.
  const named = (p: string): boolean => parseStorePath(p)?.name === name;
  const fromService = [...new Set(facts.sweepCommands.flatMap((c) => [...c.matchAll(STORE_PATH_RE)].map((m) => parseStorePath(m[0])!.root)))].filter(named);
  let hits = fromService.filter((p) => exists(p));
  let where = 'the sweep service';
  if (hits.length === 0) {
    hits = (await ctx.nix.closure(build.toplevel)).filter(named);
    where = `the closure of ${build.toplevel}`;
  }
  if (hits.length === 0 && facts.sweepDrvs.length) {
    // Not reachable from the toplevel (a config whose toplevel does not carry units): build what the service runs.
    const built = await ctx.nix.buildDrvs(facts.sweepDrvs);
    if (!built.ok) throw built.error!;
    hits = built.outputs.flatMap((o) => Object.values(o.outputs)).filter((p) => parseStorePath(p)?.name === name);
    where = `the outputs of ${facts.sweepDrvs.join(', ')}`;
  }
  if (hits.length === 0) throw new CheckInputError(`no store path named …-${name} in ${where}, and no systemd service runs one (PLUGIN_SWEEP)`);
  const script = hits.map((h) => wrapperScript(h, name)).find((s) => s !== undefined);
  if (!script) throw new CheckInputError(`${hits[0]} has no bin/${name}`);
  return { text: readText(script), source: script, toplevel: build.toplevel, foundIn: where };
}

export const entrypointParityCheck: CheckDefinition = {
  id: 'entrypoint-parity',
  title: 'The sweep and the Drone step run the same wrapper store path',
  async run(ctx) {
    const s = ctx.settings;
    const pkg = await sharedPackagePath(ctx);
    const evidence: string[] = [];
    const problems: string[] = [];
    if ('problem' in pkg) return fail(pkg.problem, pkg.evidence);
    const expected = pkg.outPath;
    evidence.push(`${s.package} (check 3): ${expected}`);

    const drone = await parseDroneYaml(ctx.readRepoFile(s.droneFile));
    if (drone.errors.length) return error(`${s.droneFile} is not valid YAML`, drone.errors);
    const uses = droneUses(drone.steps, s.droneScript, s.package);
    if (uses.length === 0) {
      problems.push(`no step in ${s.droneFile} runs ${s.droneScript}`);
    }
    for (const use of uses.filter((u) => !u.viaWrapper)) {
      problems.push(`step "${use.step.name}" bypasses ${s.package}: \`${use.command}\``);
    }
    // Only the exec runner runs a step on the host, with the host's PATH; a container step cannot see the host's wrapper.
    for (const use of uses.filter((u) => u.viaWrapper && !runsOnHost(u.step))) {
      problems.push(
        `step "${use.step.name}" runs in a ${use.step.pipelineType} pipeline${use.step.image ? ` (image ${use.step.image})` : ''}, not on the exec runner: the host's ${s.package} is not there`,
      );
    }

    const runnerText = existsSync(ctx.repoPath(s.runnerFile)) ? ctx.readRepoFile(s.runnerFile) : undefined;
    const hosts = await perHost(s.hosts, async (host) => {
      const facts = await ctx.hostFacts(host);
      const sweep = await sweepScript(ctx, host, facts);
      return { facts, sweep };
    });
    let runnerHosts = 0;
    for (const h of hosts) {
      if (!h.value) {
        const lines = describeError(h.host, h.error);
        problems.push(lines[0]!);
        evidence.push(...lines.slice(1));
        continue;
      }
      const { facts, sweep } = h.value;
      const resolver = s.mode === 'eval' ? evaluatedResolver(facts) : builtResolver(sweep.toplevel!);
      // The sweep: the exec line, resolved through the PATH the wrapper sets just before it.
      const execs = invocationsOf(sweep.text, s.package);
      if (execs.length === 0) {
        problems.push(`${h.host}: the sweep does not run ${s.package} (${sweep.source})`);
      } else {
        const call = execs[execs.length - 1]!;
        const entries = sweepEntries(sweep.text, call.lineNo, facts.sweepServicePaths[0]);
        const r = resolveWord(call.word, entries, resolver, sweep.toplevel);
        evidence.push(`${h.host}: sweep ${sweep.source}:${call.lineNo}: ${call.text}${sweep.foundIn ? ` (found in ${sweep.foundIn})` : ''}`);
        if (!r.root) problems.push(`${h.host}: the sweep's ${s.package} cannot be resolved (${[...r.notes].join('; ') || 'no PATH line'})`);
        else {
          evidence.push(`${h.host}: sweep runs ${r.root} via ${r.via}`);
          if (r.root !== expected) problems.push(`${h.host}: the sweep runs ${r.root}, not ${expected}`);
        }
      }
      // The Drone step: the exec runner's PATH on this host.
      if (!facts.runner) {
        evidence.push(`${h.host}: no systemd service ${s.runnerService} in the evaluated config (PLUGIN_RUNNER_SERVICE)`);
        if (!runnerText) continue;
      }
      runnerHosts++;
      for (const use of uses.filter((u) => u.viaWrapper && runsOnHost(u.step))) {
        const p = stepPath(use.step, facts.runner, runnerText);
        if (!p.value) {
          problems.push(`${h.host}: the runner service has no PATH for step "${use.step.name}"`);
          continue;
        }
        const entries = p.value.split(':').filter((e) => e !== '');
        const r = resolveWord(use.program!, entries, resolver, sweep.toplevel);
        evidence.push(`${h.host}: Drone step "${use.step.name}" PATH (${p.source}) = ${p.value}`);
        if (!r.root) {
          problems.push(`${h.host}: the ${p.source.startsWith('step') ? `step's own PATH` : 'runner PATH'} cannot reach ${s.package} (${p.value})`);
        } else {
          evidence.push(`${h.host}: Drone step runs ${r.root} via ${r.via}`);
          if (r.root !== expected) problems.push(`${h.host}: the Drone step runs ${r.root}, not ${expected}`);
        }
      }
    }
    if (runnerHosts === 0 && uses.length && hosts.every((h) => h.value)) problems.push(`no host has the ${s.runnerService} service, and ${s.runnerFile} sets no PATH`);
    if (problems.length) return fail(problems.join('; '), evidence);
    return pass(`sweep and Drone step both run ${expected}`, evidence);
  },
};
