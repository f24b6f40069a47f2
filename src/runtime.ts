// What each consumer of the claim can run: the packages (name, version) on the
// PATH in force where it runs its program, at one revision. Built from the same
// semantic modules the other checks use, in the same order each tool reads its
// inputs:
// - a systemd service (the sweep): the unit systemd starts (entrypointParity's serviceUnit: by
//   name, or through the timer that starts it), its environment (systemd/environment: Environment=,
//   EnvironmentFile=, UnsetEnvironment=), ExecStart followed through its scripts (execChain, shell)
//   to the first program that is not a shell script: the PATH exported there. Implemented. A chain
//   that stops at a program word computed at run time inside the claim's program (a wrapper that
//   runs its arguments, `exec "$@"`) ends at that wrapper's final PATH (pathSuperset's finalPath,
//   its `$PATH` = what the wrapper inherited). Anything else unfollowable is an error value.
// - a Drone step: every step of the pipeline that runs the claimed script on the exec runner
//   (drone/uses), the runner unit's PATH (drone/runnerEnv: DRONE_RUNNER_ENVIRON, DRONE_RUNNER_PATH,
//   the unit), the step's `environment.PATH` (stepPath), the PATH at the command, then the command
//   followed like ExecStart. Implemented. A step whose command cannot be followed is an error value.
// - a runner service: the PATH its jobs inherit (systemd/process). Implemented; not followed further. With a
//   job shell (systemd/jobShell) that is the claim's program: the PATH where its script finally runs.
// - the hosts' system packages: `environment.systemPackages`, what sw/bin is made from (buildEnv).
// - a derivation consumer: not compared (a closure, not a PATH); the check's evidence says so.
// A PATH directory is a tool by its store name (`git-lfs-3.6.1`, `openssl-3.3.3-bin` → openssl
// 3.3.3); /run/current-system/sw/bin (and the system profile) stands for every system package of the
// host; /run/wrappers/bin holds setuid wrappers made at activation (not packages: skipped, noted);
// any other directory outside the store is noted. Where a directory came from is the first step of
// the chain whose PATH holds it (file:line of the unit, script or step). Eval and build mode feed the
// same model: scripts come from derivations or from the built store (RunContext.scriptAt).
import path from 'node:path';
import { consumersOn, onHost, type Consumer, type DevShellConsumer, type JobShellSource } from './claim/types.js';
import type { RunContext, UnitView } from './context.js';
import { resolveJobShell } from './systemd/jobShell.js';
import { formatPosition, parseDroneYaml } from './drone/pipeline.js';
import { NixCommandError } from './errors.js';
import { runnerEnv, stepPath } from './drone/runnerEnv.js';
import { runsOnHost, scriptUses } from './drone/uses.js';
import { finalPath } from './checks/pathSuperset.js';
import { followToTarget, type ChainStart, type ScriptSource } from './execChain.js';
import { packageOf, parseStorePath } from './parse/storePath.js';
import { programName, SYSTEM_PROFILES, splitPath, type HostView } from './resolve.js';
import { resolvePath } from './shell/index.js';
import { serviceEnvironment, storeReader } from './systemd/environment.js';
import { processEnvironment } from './systemd/process.js';
import { execStart } from './systemd/unit.js';
import { serviceUnit } from './checks/entrypointParity.js';
import { systemPackagesLine } from './checks/hostParity.js';
import { devShellRun } from './checks/devShellConsumer.js';
import { OUTER_PATH } from './devShell.js';

export interface Tool {
  /** Package name without version (`git-lfs`). */
  pname: string;
  version: string;
  /** `git-lfs-3.6.1` */
  name: string;
  /** Where the consumer gets it: file:line of the step that put it on PATH, or the system packages. */
  from: string;
}

export interface ConsumerRuntime {
  /** Stable identity across revisions: consumer name, step, host. */
  key: string;
  /** For people: `the Drone step "recipe-test" on cc-ci`. */
  label: string;
  consumer: string;
  host: string;
  tools: Tool[];
  /** Why the runtime could not be computed (the consumer exists but cannot be followed, or nix failed). */
  problem?: string;
  notes: string[];
  /** Computed outside the consumer's `hosts:` (`alsoOn`): it exists there, but is not judged there. */
  offHost?: true;
}

export interface RuntimeSnapshot {
  consumers: ConsumerRuntime[];
  /** Hosts or consumers absent at this revision (not errors: a consumer that does not exist yet). */
  absent: string[];
}

const toolOf = (storeName: string, from: string): Tool => {
  const p = packageOf(storeName);
  return { pname: p.pname, version: p.version, name: p.name, from };
};

/** The first chain step (`where:line: text  [PATH=…]`) whose PATH holds `dir`. */
function provenance(chain: readonly string[], dir: string, fallback: string): string {
  for (const c of chain) {
    const m = /^(.*?:\d+(?::\d+)?): .*\[PATH=(.*?)(?:, not exported)?\]$/.exec(c);
    if (m && m[2].split(':').includes(dir)) return m[1];
  }
  return fallback;
}

/**
 * The tools of a PATH: store directories by name, the system profile as the host's system packages. First on PATH wins.
 */
export function toolsOnPath(
  dirs: readonly string[],
  system: readonly Tool[],
  from: (dir: string) => string,
  notes: string[],
): Tool[] {
  const out = new Map<string, Tool>();
  const add = (t: Tool): void => {
    if (!out.has(t.pname)) out.set(t.pname, t);
  };
  for (const dir of dirs) {
    if (SYSTEM_PROFILES.includes(dir)) {
      for (const t of system) add({ ...t, from: `${dir} ← ${t.from}` });
      continue;
    }
    const sp = parseStorePath(dir);
    if (sp) {
      add(toolOf(sp.name, from(dir)));
      continue;
    }
    if (dir === '/run/wrappers/bin')
      notes.push(`${dir}: setuid wrappers made at activation (security.wrappers), not packages`);
    else notes.push(`${dir}: outside the store, not a package`);
  }
  return [...out.values()];
}

/** The host's system packages as tools (what sw/bin is built from), with the host config line that declares them. */
function systemTools(ctx: RunContext, host: string, facts: Awaited<ReturnType<RunContext['hostFacts']>>): Tool[] {
  let where = `environment.systemPackages of ${host}`;
  try {
    const line = systemPackagesLine(ctx, host, (rel) => ctx.readRepoFile(rel));
    if (line.line) where = `${line.file}:${line.line} (environment.systemPackages of ${host}, with its modules)`;
  } catch {
    // The config file is not where the claim says: the evaluated list is still the answer.
  }
  const tools = new Map<string, Tool>();
  for (const p of facts.systemPackages) {
    const sp = p.installed[0] ? parseStorePath(p.installed[0]) : undefined;
    const t = toolOf(sp?.name ?? p.name, where);
    if (!tools.has(t.pname)) tools.set(t.pname, t);
  }
  return [...tools.values()];
}

/**
 * Eval mode finds a script's text in a derivation named like its output: sw/bin's packages come from system-path's
 * inputs.
 */
async function systemDrvs(ctx: RunContext, host: string): Promise<string[]> {
  if (ctx.settings.mode === 'build') return [];
  const facts = await ctx.hostFacts(host);
  const top = await ctx.nix.derivation(facts.toplevel.drvPath);
  const sysPath = top.inputDrvs.find((d) => parseStorePath(d)?.name === 'system-path.drv');
  const inputs = sysPath ? (await ctx.nix.derivation(sysPath)).inputDrvs : [];
  return [...inputs, ...(facts.package ? [facts.package.drvPath] : [])];
}

/** Scripts looked up among the caller's derivations, then among `pool` (eval mode; build mode reads the store). */
const withPool = (ctx: RunContext, pool: readonly string[]): ScriptSource => ({
  scriptAt: (storePath, drvs) => ctx.scriptAt(storePath, [...new Set([...drvs, ...pool])]),
});

/**
 * When the chain cannot be followed past the claim's program (a wrapper that runs its arguments,
 * `exec "$@"`): the chain up to the program, then the PATH in force where the program's own script
 * finally runs (pathSuperset's finalPath, its `$PATH` being the PATH the program inherited).
 */
async function throughProgram(
  ctx: RunContext,
  start: ChainStart,
  view: HostView,
  pool: readonly string[],
  why: string,
  allowAfter?: true | readonly string[],
): Promise<{ ok: true; pathDirs: string[]; chain: string[] } | { ok: false; reason: string }> {
  const program = ctx.claim.shared.program;
  const r = await followToTarget(
    start,
    program,
    view,
    withPool(ctx, pool),
    allowAfter !== undefined ? { allowAfter } : {},
  );
  if (!r.ok || !r.file) return { ok: false, reason: why };
  const script = await ctx.scriptAt(r.file, [...pool]);
  if ('missing' in script) return { ok: false, reason: why };
  const fp = await finalPath(script.text);
  if ('problem' in fp) return { ok: false, reason: `${script.source}: ${fp.problem}` };
  const pathDirs = fp.shown.split(':').flatMap((d) => (d === '$PATH' ? r.pathDirs : d === '' ? [] : [d]));
  return {
    ok: true,
    pathDirs,
    chain: [...r.chain, `${script.source}:${fp.run.line}: ${fp.run.text}  [PATH=${pathDirs.join(':')}]`],
  };
}

/**
 * Every consumer's runtime on every host of the claim, at the revision `ctx` reads. A consumer with
 * `hosts:` is computed on those hosts; `alsoOn` (no-drop: the hosts the base revision's spec gave it)
 * adds hosts, where it is kept, marked `offHost`, only when found and followed (see `offHostPresence`).
 */
export async function consumerRuntimes(
  ctx: RunContext,
  options: { alsoOn?: (consumer: Consumer, host: string) => boolean } = {},
): Promise<RuntimeSnapshot> {
  const out: RuntimeSnapshot = { consumers: [], absent: [] };
  const claim = ctx.claim;
  const judged = (host: string) =>
    claim.consumers.filter((c) => onHost(c, host) || (c.kind !== 'derivation' && options.alsoOn?.(c, host) === true));
  const scripts: ScriptSource = ctx;
  for (const host of ctx.settings.hosts) {
    let facts;
    let view: HostView;
    try {
      facts = await ctx.hostFacts(host);
      const toplevel = await ctx.builtToplevel(host);
      view = { mode: ctx.settings.mode, facts, ...(toplevel ? { toplevel } : {}) };
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      if (/is not in nixosConfigurations/.test(message)) {
        out.absent.push(`host ${host}`);
        continue;
      }
      for (const c of consumersOn(claim, host)) {
        out.consumers.push({
          key: `${c.name}@${host}`,
          label: `${c.name} on ${host}`,
          consumer: c.name,
          host,
          tools: [],
          problem: firstLine(err),
          notes: [],
        });
      }
      continue;
    }
    const system = systemTools(ctx, host, facts);
    // A consumer with `hosts:` has a runtime on those hosts only (and, beyondHosts, where it is found).
    for (const c of claim.consumers)
      if (c.kind !== 'derivation' && !onHost(c, host))
        out.absent.push(`${c.name} on ${host}: not on its hosts (${c.hosts?.join(', ') ?? ''})`);
    for (const c of judged(host)) {
      const offHost = !onHost(c, host);
      const before = out.consumers.length;
      const notes: string[] = [];
      const entry = (key: string, label: string, tools: Tool[], problem?: string): ConsumerRuntime => ({
        key: `${key}@${host}`,
        label: `${label} on ${host}`,
        consumer: c.name,
        host,
        tools,
        ...(problem ? { problem } : {}),
        notes,
      });
      try {
        if (c.kind === 'system-packages') {
          out.consumers.push(entry(c.name, 'the system packages (sw/bin)', system));
        } else if (c.kind === 'systemd-service' || c.kind === 'systemd-user-service') {
          const found = await serviceUnit(ctx, host, c);
          if ('problem' in found) {
            out.absent.push(`${c.name} on ${host}: ${found.problem}`);
            continue;
          }
          const unit = found.unit;
          const env = await serviceEnvironment(unit.unit, unit.source, storeReader(ctx, unit.context));
          const unitPath = env.unset.has('PATH') ? undefined : env.vars.get('PATH');
          const exec = execStart(unit.unit);
          const last = exec[exec.length - 1];
          const start = unit.inlineScript
            ? { inlineScript: { text: unit.inlineScript, source: `${unit.source} script` } }
            : last
              ? { argv: [last.program, ...last.args], where: `${unit.source}:${last.line}` }
              : {};
          // Eval mode: a script named on the unit's PATH is found among the unit's own inputs too, not only its
          // caller's.
          const pool = [...unit.context, ...(await systemDrvs(ctx, host))];
          // With allow_after the program is not the script's last command: its runtime is where the program runs.
          const r =
            c.allowAfter === undefined
              ? await followToTarget(
                  { ...start, pathDirs: unitPath ? splitPath(unitPath.value) : undefined, drvs: unit.context },
                  undefined,
                  view,
                  withPool(ctx, pool),
                )
              : { ok: false as const, reason: `${unit.name} does not reach ${ctx.claim.shared.program}` };
          const label = `the ${c.name} ${c.kind === 'systemd-user-service' ? 'user service' : 'service'} (${unit.name})`;
          const end = r.ok
            ? r
            : await throughProgram(
                ctx,
                { ...start, pathDirs: unitPath ? splitPath(unitPath.value) : undefined, drvs: unit.context },
                view,
                pool,
                r.reason,
                c.allowAfter,
              );
          if (!end.ok) out.consumers.push(entry(c.name, label, [], `cannot follow ${unit.name}: ${end.reason}`));
          else
            out.consumers.push(
              entry(
                c.name,
                label,
                toolsOnPath(end.pathDirs, system, (d) => provenance(end.chain, d, `${unit.source} PATH`), notes),
              ),
            );
        } else if (c.kind === 'runner-service') {
          const unit = await ctx.unit(host, c.unit);
          if (!unit) {
            out.absent.push(`${c.name} on ${host}: no unit ${c.unit}`);
            continue;
          }
          const proc = await processEnvironment(unit, view, scripts);
          const label = `the ${c.name} runner's jobs (${unit.name})`;
          const shell = c.jobShell ? await jobShellRuntime(ctx, host, view, c.jobShell, unit, proc) : undefined;
          if (shell && 'problem' in shell) out.consumers.push(entry(c.name, label, [], shell.problem));
          else if (shell)
            out.consumers.push(
              entry(
                c.name,
                label,
                toolsOnPath(shell.dirs, system, () => shell.source, notes),
              ),
            );
          else if (proc.problem || proc.path === undefined)
            out.consumers.push(entry(c.name, label, [], proc.problem ?? `${unit.name} starts without PATH`));
          else
            out.consumers.push(
              entry(
                c.name,
                label,
                toolsOnPath(splitPath(proc.path), system, () => proc.source, notes),
              ),
            );
        } else if (c.kind === 'drone-step') {
          out.consumers.push(...(await droneRuntimes(ctx, host, view, c, system)));
        }
      } catch (err) {
        out.consumers.push(entry(c.name, c.name, [], firstLine(err)));
      }
      // Off its hosts, only what is found and followed counts (a missing unit there is no problem).
      if (offHost)
        out.consumers.splice(
          before,
          out.consumers.length - before,
          ...out.consumers
            .slice(before)
            .filter((r) => !r.problem)
            .map((r) => ({ ...r, offHost: true as const })),
        );
      out.consumers.splice(
        before,
        out.consumers.length - before,
        ...out.consumers.slice(before).filter((r) => !r.problem),
      );
    }
  }
  for (const c of claim.consumers) if (c.kind === 'dev-shell') await devShellRuntime(ctx, c, out);
  return out;
}

/**
 * A dev shell's runtime: the tools on the PATH `nix develop` gives it (src/devShell.ts), up to the caller's PATH. A
 * flake attribute, on no host: its key is `<name>@<attr>`.
 */
async function devShellRuntime(ctx: RunContext, c: DevShellConsumer, out: RuntimeSnapshot): Promise<void> {
  const notes: string[] = [];
  const entry = (tools: Tool[], problem?: string): ConsumerRuntime => ({
    key: `${c.name}@${c.attr}`,
    label: `the ${c.name} dev shell (${c.attr})`,
    consumer: c.name,
    host: c.attr,
    tools,
    ...(problem ? { problem } : {}),
    notes,
  });
  try {
    const run = await devShellRun(ctx, c);
    if ('problem' in run) out.absent.push(`${c.name} on ${c.attr}: ${run.problem}`);
    else if ('cannotFollow' in run) out.consumers.push(entry([], `cannot follow ${c.attr}: ${run.cannotFollow}`));
    else {
      const outer = run.path.dirs.indexOf(OUTER_PATH);
      const own = outer < 0 ? run.path.dirs : run.path.dirs.slice(0, outer);
      out.consumers.push(entry(toolsOnPath(own, [], () => `${c.attr} (the PATH nix develop gives)`, notes)));
    }
  } catch (err) {
    out.consumers.push(entry([], firstLine(err)));
  }
}

/**
 * A runner whose job shell is the claim's program (src/systemd/jobShell.ts): its jobs get the PATH where the program's
 * script finally runs (its `$PATH` being the runner's). Undefined: bash or sh, the runner's PATH applies.
 */
async function jobShellRuntime(
  ctx: RunContext,
  host: string,
  view: HostView,
  source: JobShellSource,
  unit: UnitView,
  proc: { vars: Map<string, { value: string; from: string }>; path?: string },
): Promise<{ dirs: string[]; source: string } | { problem: string } | undefined> {
  const shell = await resolveJobShell(source, unit, proc, view, (file) => ctx.etcFile(host, file));
  if ('unknown' in shell) return { problem: shell.unknown };
  if (programName(shell.argv[0]) !== ctx.claim.shared.program) return undefined;
  if (!shell.found.file) return { problem: `the job shell ${shell.argv[0]} is not found` };
  const facts = await ctx.hostFacts(host);
  const script = await ctx.scriptAt(shell.found.file, [
    ...unit.context,
    ...(facts.package ? [facts.package.drvPath] : []),
  ]);
  if ('missing' in script) return { problem: script.missing };
  const fp = await finalPath(script.text);
  if ('problem' in fp) return { problem: `${script.source}: ${fp.problem}` };
  const inherited = proc.path === undefined ? [] : splitPath(proc.path);
  return {
    // The jobs run inside the program: its own package is part of their runtime, then the PATH it gives them.
    dirs: [
      path.dirname(shell.found.file),
      ...fp.shown.split(':').flatMap((d) => (d === '$PATH' ? inherited : d === '' ? [] : [d])),
    ],
    source: `the job shell ${shell.where} (${shell.argv[0]})`,
  };
}

async function droneRuntimes(
  ctx: RunContext,
  host: string,
  view: HostView,
  c: Extract<RunContext['claim']['consumers'][number], { kind: 'drone-step' }>,
  system: Tool[],
): Promise<ConsumerRuntime[]> {
  const out: ConsumerRuntime[] = [];
  const drone = await parseDroneYaml(ctx.readRepoFile(c.pipeline));
  const uses = (await scriptUses(drone.steps, c.runs, ctx.claim.shared.program)).filter(
    (u) => !u.step.neverRuns && !u.notRun && runsOnHost(u.step),
  );
  if (uses.length === 0) return out;
  const runner = await ctx.unit(host, c.runnerUnit);
  const drvs = await systemDrvs(ctx, host);
  for (const use of uses) {
    const notes: string[] = [];
    const at = formatPosition(c.pipeline, use.step.position);
    const base = {
      key: `${c.name}:${use.step.name}@${host}`,
      label: `the Drone step "${use.step.name}" on ${host}`,
      consumer: c.name,
      host,
      notes,
    };
    if (!runner) {
      out.push({ ...base, tools: [], problem: `no unit ${c.runnerUnit} runs Drone steps on ${host}` });
      continue;
    }
    const env = await runnerEnv(runner, view, ctx);
    const p = stepPath(use.step, env);
    if (env.problem || use.unfollowable || p.unknown || p.value === undefined) {
      out.push({
        ...base,
        tools: [],
        problem: env.problem ?? use.unfollowable ?? p.unknown ?? `no PATH (${p.source})`,
      });
      continue;
    }
    const inCommand = resolvePath(
      use.path,
      splitPath(p.value).map((dir) => ({ dir })),
    );
    if ('unknown' in inCommand) {
      out.push({
        ...base,
        tools: [],
        problem: `the PATH of \`${use.command}\` cannot be computed: ${inCommand.unknown}`,
      });
      continue;
    }
    const dirs = inCommand.entries.flatMap((e) => ('dir' in e ? [e.dir] : []));
    const r = await followToTarget(
      {
        inlineScript: { text: use.command, source: `${at} step "${use.step.name}"` },
        pathDirs: dirs,
        drvs: [...runner.context, ...drvs],
      },
      undefined,
      view,
      withPool(ctx, [...runner.context, ...drvs]),
    );
    const end = r.ok
      ? r
      : await throughProgram(
          ctx,
          {
            inlineScript: { text: use.command, source: `${at} step "${use.step.name}"` },
            pathDirs: dirs,
            drvs: [...runner.context, ...drvs],
          },
          view,
          [...runner.context, ...drvs],
          r.reason,
        );
    if (!end.ok) out.push({ ...base, tools: [], problem: `cannot follow \`${use.command}\`: ${end.reason}` });
    else
      out.push({
        ...base,
        tools: toolsOnPath(end.pathDirs, system, (d) => provenance(end.chain, d, p.source), notes),
      });
  }
  return out;
}

/** One line for a consumer that could not be computed: a nix failure by its decisive log line, else the message. */
const firstLine = (err: unknown): string => {
  if (err instanceof NixCommandError) {
    const line = err.excerpt.find((l) => /error/i.test(l)) ?? err.excerpt[err.excerpt.length - 1] ?? err.command;
    return `${err.timedOut ? 'timed out: ' : ''}${line}`;
  }
  return ((err as Error)?.message ?? String(err)).split('\n')[0];
};

// ---------------------------------------------------------------------------
// The comparison of two snapshots.

export interface ToolChange {
  pname: string;
  from: string;
  to: string;
  /** Lower version at head (builtins.compareVersions). */
  downgrade: boolean;
}

export interface DroppedTool {
  tool: Tool;
  /**
   * What head offers instead: another version is a change, not a drop; here other consumers that still have it, or
   * nothing.
   */
  instead: string;
}

export interface ConsumerDiff {
  key: string;
  label: string;
  consumer: string;
  host: string;
  status: 'same' | 'changed' | 'new' | 'vanished' | 'error';
  added: Tool[];
  dropped: DroppedTool[];
  changed: ToolChange[];
  /** vanished: why it is missing at head; error: why a side could not be computed. */
  reason?: string;
  /** Every tool the consumer has at head (name-version), in PATH order: the runtime itself, not only its changes. */
  atHead: string[];
}

export interface RuntimeDiff {
  base: { rev: string; commit: string; source: string };
  consumers: ConsumerDiff[];
  notes: string[];
}

/** builtins.compareVersions: components split at `.`/`-`, numbers compared as numbers, a number above a word. */
export function compareVersions(a: string, b: string): number {
  const split = (v: string): string[] => v.split(/[.-]/).flatMap((c) => c.match(/\d+|\D+/g) ?? []);
  const xs = split(a);
  const ys = split(b);
  for (let i = 0; i < Math.max(xs.length, ys.length); i++) {
    const x = xs[i];
    const y = ys[i];
    if (x === y) continue;
    if (x === undefined) return y === 'pre' ? 1 : -1;
    if (y === undefined) return x === 'pre' ? -1 : 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return Math.sign(d);
      continue;
    }
    if (x === 'pre') return -1;
    if (y === 'pre') return 1;
    if (nx) return 1;
    if (ny) return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * No-drop with consumers on some hosts only: an entry outside its `hosts:` at head (on a host the base
 * revision's spec gave it) is compared for presence alone. At base and at head: both dropped (not judged
 * there). At base only: kept, so it vanishes (a change that narrows `hosts:` and removes the consumer
 * from that host fails unless `retired` names it). At head only: dropped.
 */
export function offHostPresence(
  base: RuntimeSnapshot,
  head: RuntimeSnapshot,
): { base: RuntimeSnapshot; head: RuntimeSnapshot } {
  const headKeys = new Set(head.consumers.map((c) => c.key));
  return {
    base: { ...base, consumers: base.consumers.filter((c) => !c.offHost || !headKeys.has(c.key)) },
    head: { ...head, consumers: head.consumers.filter((c) => !c.offHost) },
  };
}

export function diffRuntimes(base: RuntimeSnapshot, head: RuntimeSnapshot, info: RuntimeDiff['base']): RuntimeDiff {
  const consumers: ConsumerDiff[] = [];
  const headBy = new Map(head.consumers.map((c) => [c.key, c]));
  const baseBy = new Map(base.consumers.map((c) => [c.key, c]));
  const shell = (c: ConsumerRuntime, status: ConsumerDiff['status'], reason?: string): ConsumerDiff => ({
    key: c.key,
    label: c.label,
    consumer: c.consumer,
    host: c.host,
    status,
    added: [],
    dropped: [],
    changed: [],
    ...(reason ? { reason } : {}),
    atHead: (headBy.get(c.key)?.tools ?? []).map((t) => t.name),
  });
  for (const b of base.consumers) {
    const h = headBy.get(b.key);
    if (!h) {
      const why = head.absent.find((a) => a.startsWith(`${b.consumer} on ${b.host}`) || a === `host ${b.host}`);
      consumers.push({
        ...shell(b, 'vanished', why ?? `head has no ${b.label}`),
        dropped: b.tools.map((tool) => ({ tool, instead: 'nothing: the consumer is gone' })),
      });
      continue;
    }
    if (b.problem || h.problem) {
      consumers.push(shell(b, 'error', b.problem ? `at base: ${b.problem}` : `at head: ${h.problem!}`));
      continue;
    }
    const headTools = new Map(h.tools.map((t) => [t.pname, t]));
    const baseTools = new Map(b.tools.map((t) => [t.pname, t]));
    const d = shell(b, 'same');
    for (const t of b.tools) {
      const now = headTools.get(t.pname);
      if (!now) {
        const elsewhere = head.consumers
          .filter((o) => o.host === h.host && o.tools.some((x) => x.pname === t.pname))
          .map((o) => o.label);
        d.dropped.push({
          tool: t,
          instead: `nothing named ${t.pname} on its PATH at head${elsewhere.length ? ` (still on ${elsewhere.join(', ')})` : ''}`,
        });
      } else if (now.version !== t.version) {
        d.changed.push({
          pname: t.pname,
          from: t.name,
          to: now.name,
          downgrade: compareVersions(now.version, t.version) < 0,
        });
      }
    }
    for (const t of h.tools) if (!baseTools.has(t.pname)) d.added.push(t);
    if (d.added.length || d.dropped.length || d.changed.length) d.status = 'changed';
    consumers.push(d);
  }
  for (const h of head.consumers)
    if (!baseBy.has(h.key))
      consumers.push({
        ...shell(h, h.problem ? 'error' : 'new', h.problem ? `at head: ${h.problem}` : undefined),
        added: h.problem ? [] : h.tools,
      });
  return { base: info, consumers, notes: [] };
}

/**
 * One line per change, nvd-like: `+ git-lfs-3.6.1`, `- jq-1.7.1`, `~ curl 8.11.0 → 8.12.1`, `↓ curl 8.12.1 → 8.11.0
 * (downgrade)`.
 */
export function diffLines(d: ConsumerDiff): string[] {
  return [
    ...d.added.map((t) => `+ ${t.name}`),
    ...d.dropped.map((x) => `- ${x.tool.name} (from ${x.tool.from}; head: ${x.instead})`),
    ...d.changed.map((c) => `${c.downgrade ? '↓' : '~'} ${c.from} → ${c.to}${c.downgrade ? ' (DOWNGRADE)' : ''}`),
  ];
}

/**
 * The reviewer's one-line reading of the diff: `added git-lfs-3.6.1, openssl-3.3.3 for the Drone step "recipe-test" on
 * cc-ci; dropped: none`.
 */
export function diffSummary(diff: RuntimeDiff): string {
  const parts: string[] = [];
  // Consumers that gained the same tools are named together.
  const byAdded = new Map<string, string[]>();
  for (const c of diff.consumers.filter((x) => x.status === 'changed' && x.added.length)) {
    const k = c.added.map((t) => t.name).join(', ');
    byAdded.set(k, [...(byAdded.get(k) ?? []), c.label]);
  }
  for (const [tools, who] of byAdded) parts.push(`added ${tools} for ${who.join(', ')}`);
  const changed = diff.consumers.flatMap((c) =>
    c.changed.map((x) => `${x.from} → ${x.to}${x.downgrade ? ' (downgrade)' : ''} for ${c.label}`),
  );
  if (changed.length) parts.push(`changed ${changed.join(', ')}`);
  const news = diff.consumers.filter((c) => c.status === 'new').map((c) => c.label);
  if (news.length) parts.push(`new: ${news.join(', ')}`);
  const dropped = diff.consumers.flatMap((c) => c.dropped.map((x) => `${x.tool.name} from ${c.label}`));
  const vanished = diff.consumers.filter((c) => c.status === 'vanished').map((c) => c.label);
  if (vanished.length) parts.push(`gone: ${vanished.join(', ')}`);
  if (!parts.length && !dropped.length) return `no change against ${diff.base.rev.slice(0, 12)}; dropped: none`;
  return `${parts.join('; ')}${parts.length ? '; ' : ''}dropped: ${dropped.length ? dropped.join(', ') : 'none'}`;
}
