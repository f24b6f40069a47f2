// HOW 4: every consumer runs the byte-identical shared wrapper store path.
// A systemd service is what systemd (its timer) starts: the unit's ExecStart,
// followed through its scripts to `exec <program>`. A Drone step is what the exec
// runner runs: the step's commands as shell, with the PATH the runner's unit and
// the pipeline give it. A runner service hands its own PATH to its jobs. A
// derivation must reference the package.
import path from 'node:path';
import type { RunContext, UnitView } from '../context.js';
import { formatPosition, parseDroneYaml } from '../drone/pipeline.js';
import { describeMarkers, runnerLookup, substitute, type Substituted } from '../drone/envsubst.js';
import { runnerEnv, stepPath, type EtcReader, type RunnerEnv } from '../drone/runnerEnv.js';
import { perBuildValues, runsOnHost, scriptUses, type DroneUse } from '../drone/uses.js';
import { followToTarget } from '../execChain.js';
import { EVAL_UNSEEN, programName, resolveProgram, splitPath, type HostView } from '../resolve.js';
import { renderPath, resolvePath } from '../shell/index.js';
import {
  consumersOn,
  type UserServiceConsumer,
  type DerivationConsumer,
  type DroneStepConsumer,
  type RunnerServiceConsumer,
  type ServiceConsumer,
} from '../claim/types.js';
import { serviceEnvironment, storeReader } from '../systemd/environment.js';
import { processEnvironment, type ProcessEnvironment } from '../systemd/process.js';
import { plainShell, resolveJobShell } from '../systemd/jobShell.js';
import { storeRootOf } from '../storeFs.js';
import { isSweepService, sweepNamedIn } from '../systemd/sweep.js';
import { startedAtBoot, timerNotLive } from '../systemd/timer.js';
import {
  execStart,
  execStartRule,
  listSetting,
  timerTarget,
  timerTriggers,
  unitWords,
  type UnitScope,
} from '../systemd/unit.js';
import { claimDeviations, claimSource, droneConsumer } from '../claim/claim.js';
import { sharedPackagePath } from './pathSuperset.js';
import { judgeDerivation } from '../derivationUse.js';
import { devShellReaches } from './devShellConsumer.js';
import { systemPackagesInclude } from './systemPackages.js';
import { describeError, error, fail, pass, perHost, type CheckDefinition } from './types.js';

/** What one consumer on one host adds: problems (the claim fails), unknowns (cannot follow: an error) and evidence. */
interface Finding {
  problems: string[];
  evidence: string[];
  unknowns?: string[];
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The service as systemd starts it, or why there is none. Started by a timer: `<unit>` if a timer
 * starts it, else the timer-started service whose command runs a store path named like the unit.
 */
export async function serviceUnit(
  ctx: RunContext,
  host: string,
  consumer: ServiceConsumer | UserServiceConsumer,
): Promise<
  { unit: UnitView; timer?: string; note?: string; unknown?: string } | { problem: string; redirectedTo?: string[] }
> {
  const name = consumer.unit;
  const base = name.replace(/\.service$/, '');
  // A user service is read from the user managers' unit directory (/etc/systemd/user), with the same rules.
  const scope = scopeOf(consumer);
  const kindWord = scope === 'user' ? 'systemd user unit' : 'systemd unit';
  const facts = scope === 'user' ? await ctx.userUnitFacts(host) : await ctx.hostFacts(host);
  const byName = await ctx.unit(host, name, scope);
  if (!consumer.startedByTimer) {
    if (byName) return { unit: byName };
    return { problem: `${host}: no ${kindWord} ${name} (${consumer.name})` };
  }
  const timers = await ctx.timers(host, scope);
  // A timer that systemd starts and that can elapse (src/systemd/timer.ts).
  const live = timerNotLive;
  const started = startedAtBoot;
  const startedBy = (service: string): UnitView[] => timers.filter((t) => timerTarget(t.name, t.unit) === service);
  if (byName) {
    const starting = startedBy(name);
    const working = starting.filter((t) => live(t) === undefined);
    // The timers are known after a build (the built unit directory) and in eval mode from systemd.units or, in a
    // config without them, systemd.timers; a timer a systemd.packages package ships is not seen then.
    const known =
      facts.hasUnits ||
      (ctx.settings.mode === 'build' && (await ctx.builtToplevel(host).catch(() => undefined)) !== undefined) ||
      (facts.systemdPackages ?? []).length === 0;
    if (working.length === 0 && !known)
      return {
        unit: byName,
        unknown: `${host}: ${consumer.name}: cannot follow: no timer in the evaluated config starts ${name}, and the systemd.packages (${(facts.systemdPackages ?? []).map((p) => p.name).join(', ')}) may ship one (build mode reads the built unit directory)`,
      };
    if (working.length === 0) {
      const why = starting.map((t) => live(t)!);
      // A timer named like the service whose Unit= names another one (systemd.timer(5) Unit=): that one runs instead.
      const sameName = timers.filter((t) => t.name === name.replace(/\.service$/, '.timer'));
      const redirected = sameName.map((t) => timerTarget(t.name, t.unit)).filter((u) => u !== name);
      for (const t of sameName) {
        const target = timerTarget(t.name, t.unit);
        if (target === name) continue;
        const at = listSetting(t.unit, 'Timer', 'Unit').pop();
        why.push(
          `${t.name} starts ${target} (Unit= at ${at?.file ?? t.source}${at ? `:${at.line}` : ''}), not ${name}`,
        );
      }
      return {
        problem: `${host}: no timer starts ${name} (${why.join('; ') || `timers: ${timers.map((t) => t.name).join(', ') || 'none'}`}); ${consumer.name} never runs on its schedule`,
        ...(redirected.length ? { redirectedTo: redirected } : {}),
      };
    }
    const timer = working[0];
    return {
      unit: byName,
      ...(timer
        ? {
            timer: `${timer.source} (${timerTriggers(timer.unit)
              .map((l) => `${l.key}=${l.value}`)
              .join(', ')}; ${started(timer)!.join(' → ')})`,
          }
        : {}),
    };
  }
  // No unit of that name: the job may run under another service name, started by a timer.
  const wrapper = new RegExp(`/nix/store/[0-9a-z]{32}-${escapeRe(base)}(/|\\s|$)`);
  for (const timer of timers.filter((t) => live(t) === undefined)) {
    const target = timerTarget(timer.name, timer.unit);
    const unit = await ctx.unit(host, target, scope);
    if (unit && execStart(unit.unit).some((e) => wrapper.test(e.program))) {
      return {
        unit,
        timer: timer.source,
        note: `${host}: no unit ${name}; ${target} (started by ${timer.name}) runs the ${base} wrapper`,
      };
    }
  }
  const words = base.split(/[-_.]/).filter((w) => w.length > 3);
  const serviceNames: string[] =
    scope === 'user'
      ? Object.keys(facts.units).map((n) => n.replace(/\.service$/, ''))
      : (await ctx.hostFacts(host)).serviceNames;
  const near = serviceNames.filter((n) => words.some((w) => n.includes(w))).slice(0, 5);
  return {
    problem: `${host}: no ${kindWord} ${name} and no timer-started service runs a ${base} wrapper (${consumer.name})${near.length ? `; services with similar names: ${near.join(', ')}` : ''}`,
  };
}

/** Which manager runs a service consumer. */
const scopeOf = (consumer: ServiceConsumer | UserServiceConsumer): UnitScope =>
  consumer.kind === 'systemd-user-service' ? 'user' : 'system';

/**
 * The store path whose file runs when the shared package's program runs. A link tree (symlinkJoin, buildEnv)
 * links bin/<program> to another store path: after a build, consumers resolve through the links to that file,
 * so it is what they must reach. Eval mode compares the evaluated paths (the package itself).
 */
async function programRoot(ctx: RunContext, outPath: string): Promise<string> {
  if (ctx.settings.mode !== 'build') return outPath;
  await Promise.all(ctx.settings.hosts.map((h) => ctx.builtToplevel(h).catch(() => undefined)));
  return storeRootOf(path.join(outPath, 'bin', ctx.claim.shared.program)) ?? outPath;
}

/** A systemd service: its ExecStart (or inline script), followed to the final run of the program. */
async function serviceReaches(
  ctx: RunContext,
  host: string,
  view: HostView,
  consumer: ServiceConsumer | UserServiceConsumer,
  expected: string,
): Promise<Finding> {
  const out: Finding = { problems: [], evidence: [], unknowns: [] };
  const { program } = ctx.claim.shared;
  const found = await serviceUnit(ctx, host, consumer);
  if ('problem' in found) {
    // The unit the timer starts instead is what runs on the schedule: judged too (its findings as evidence).
    for (const target of found.redirectedTo ?? []) {
      const f = await serviceReaches(
        ctx,
        host,
        view,
        { ...consumer, name: `${consumer.name}'s timer target ${target}`, unit: target, startedByTimer: false },
        expected,
      );
      out.evidence.push(...f.evidence, ...f.problems.map((p) => `${host}: timer target: ${p}`));
    }
    return { ...out, problems: [found.problem] };
  }
  if (found.unknown) return { ...out, unknowns: [found.unknown] };
  const unit = found.unit;
  const exec = execStart(unit.unit);
  const env = await serviceEnvironment(unit.unit, unit.source, storeReader(ctx, unit.context, unit.etc));
  out.evidence.push(...env.notes.map((n) => `${host}: note: ${n}`));
  const unitPath = env.unset.has('PATH') ? undefined : env.vars.get('PATH');
  if (found.note) out.evidence.push(found.note);
  if (found.timer) out.evidence.push(`${host}: ${found.timer} starts ${unit.name}`);
  if (unit.dropIns?.length)
    out.evidence.push(
      `${host}: ${unit.name} drop-ins applied after the unit file, in order: ${unit.dropIns.join(', ')}`,
    );
  out.evidence.push(
    `${host}: ${unit.source}${exec[0] ? ` ${exec[0].file ?? unit.source}:${exec[0].line}: ${exec[0].text}` : ''}`,
  );
  if (unitPath) out.evidence.push(`${host}: ${unitPath.from}PATH=${unitPath.value}`);
  // systemd refusing the unit is proven whatever its environment; not when drop-ins eval mode cannot see may change
  // ExecStart=.
  const refused = unit.unseen?.length ? undefined : execStartRule(unit.unit, unit.source);
  if (refused) return { ...out, problems: [`${host}: ${consumer.name} (${unit.name}): ${refused}`] };
  // What the verifier cannot read decides nothing: drop-ins eval mode cannot see, an environment file it cannot read.
  if (unit.unseen?.length)
    return {
      ...out,
      unknowns: [
        `${host}: ${consumer.name} (${unit.name}): cannot follow: ${unit.unseen.join('; ')} (build mode reads the built unit directory)`,
      ],
    };
  if (env.unreadable.length)
    return {
      ...out,
      unknowns: [
        `${host}: ${consumer.name} (${unit.name}): cannot follow: ${env.unreadable.map((f) => `${f} may set PATH`).join('; ')} (only a file in the store or one NixOS writes into /etc can be read)`,
      ],
    };
  const lastExec = exec[exec.length - 1];
  const pathDirs = unitPath ? splitPath(unitPath.value) : undefined;
  /** A command of the unit that does not reach the program: a problem when it runs a sweep of the runner scripts. */
  const sweepWithout = async (
    e: { program: string; args: string[]; line: number; file?: string; text?: string },
    reason: string,
  ): Promise<void> => {
    const named = await sweepNamedIn(
      [{ text: [e.program, ...e.args].join(' '), source: `${e.file ?? unit.source}:${e.line}`, drvs: unit.context }],
      ctx,
    );
    if (named)
      out.problems.push(
        `${host}: ${consumer.name} (${unit.name}) ${e.file ?? unit.source}:${e.line} runs a sweep of the runner scripts without ${program} (${named}; ${reason})`,
      );
  };
  if (exec.length > 1) {
    // Type=oneshot runs every ExecStart= in order: an earlier one that runs the program runs it too, and must run the
    // shared one.
    out.evidence.push(
      `${host}: ${exec.length} ExecStart= lines (Type=oneshot runs them in order); the last is followed, the others are judged`,
    );
    for (const e of exec.slice(0, -1)) {
      const r = await followToTarget(
        { argv: [e.program, ...e.args], where: `${e.file ?? unit.source}:${e.line}`, pathDirs, drvs: unit.context },
        program,
        view,
        ctx,
      );
      if (r.ok && r.root !== expected)
        out.problems.push(
          `${host}: ${consumer.name} (${unit.name}) ${e.file ?? unit.source}:${e.line} runs ${r.root} (via ${r.via}), not ${expected}`,
        );
      else if (!r.ok) await sweepWithout(e, r.reason);
    }
  }
  // ExecStartPre=/ExecStartPost= run around the main command: one that runs a sweep of the runner scripts
  // without the program does the sweep's work outside the shared runtime.
  for (const key of ['ExecStartPre', 'ExecStartPost'])
    for (const l of listSetting(unit.unit, 'Service', key)) {
      const words = unitWords(l.value.replace(/^[-@:+!]+/, ''));
      const r = await followToTarget(
        { argv: words, where: `${l.file ?? unit.source}:${l.line}`, pathDirs, drvs: unit.context },
        program,
        view,
        ctx,
      );
      if (r.ok && r.root !== expected)
        out.problems.push(
          `${host}: ${consumer.name} (${unit.name}) ${key}= at ${l.file ?? unit.source}:${l.line} runs ${r.root}, not ${expected}`,
        );
      else if (!r.ok)
        await sweepWithout(
          { program: words[0] ?? '', args: words.slice(1), line: l.line, file: l.file, text: l.value },
          r.reason,
        );
    }
  const start = unit.inlineScript
    ? { inlineScript: { text: unit.inlineScript, source: `${unit.source} script` } }
    : lastExec
      ? { argv: [lastExec.program, ...lastExec.args], where: `${lastExec.file ?? unit.source}:${lastExec.line}` }
      : {};
  const result = await followToTarget(
    { ...start, pathDirs, drvs: unit.context },
    program,
    view,
    ctx,
    consumer.allowAfter !== undefined ? { allowAfter: consumer.allowAfter } : {},
  );
  out.evidence.push(...result.chain.map((c) => `${host}: ${consumer.name} ${c}`));
  // A user unit without PATH runs with its user manager's environment: a bare name is looked up in a PATH the
  // configuration does not set (the manager's own, from how the user's session started it): host state.
  if (!result.ok && scopeOf(consumer) === 'user' && !unitPath && /cannot be resolved/.test(result.reason))
    return {
      ...out,
      unknowns: [
        `${host}: ${consumer.name} (${unit.name}): cannot follow: ${result.reason}; the unit sets no PATH, so it runs with its user manager's PATH (state of the user's session, not of the configuration)`,
      ],
    };
  if (!result.ok)
    out.problems.push(`${host}: ${consumer.name} (${unit.name}) does not reach ${program}: ${result.reason}`);
  else if (result.root !== expected)
    out.problems.push(`${host}: ${consumer.name} runs ${result.root} (via ${result.via}), not ${expected}`);
  else out.evidence.push(`${host}: ${consumer.name} runs ${result.root} via ${result.via}`);
  return out;
}

/** A consumer's allow_after is its own: another sweep judged on its model allows nothing after the program. */
const withoutAllowAfter = (c: ServiceConsumer): ServiceConsumer => {
  const rest = { ...c };
  delete rest.allowAfter;
  return rest;
};

/**
 * Every other timer-started service that runs a sweep of the runner scripts (docs/systemd.md "Every sweep
 * timer"): each is judged like the named sweep consumer. Timers systemd never starts are left out.
 */
async function otherSweeps(ctx: RunContext, host: string, view: HostView, expected: string): Promise<Finding[]> {
  const named = ctx.claim.consumers.flatMap((c) => (c.kind === 'systemd-service' ? [c.unit] : []));
  const model = ctx.claim.consumers.find((c): c is ServiceConsumer => c.kind === 'systemd-service' && c.startedByTimer);
  if (!model) return [];
  const out: Finding[] = [];
  const seen = new Set(named);
  for (const timer of await ctx.timers(host)) {
    const target = timerTarget(timer.name, timer.unit);
    if (seen.has(target) || timerNotLive(timer) !== undefined) continue;
    seen.add(target);
    const unit = await ctx.unit(host, target);
    if (!unit) continue;
    const sweep = await isSweepService(unit, ctx);
    if (!sweep) continue;
    const f = await serviceReaches(
      ctx,
      host,
      view,
      { ...withoutAllowAfter(model), name: `sweep ${target} (started by ${timer.name})`, unit: target },
      expected,
    );
    out.push({
      ...f,
      evidence: [`${host}: ${target} runs a sweep (${sweep}): it is a sweep consumer too`, ...f.evidence],
    });
  }
  return out;
}

/** A runner service: its jobs start with the PATH its process has; the program must resolve there. */
async function runnerReaches(
  ctx: RunContext,
  host: string,
  view: HostView,
  consumer: RunnerServiceConsumer,
  expected: string,
): Promise<Finding> {
  const out: Finding = { problems: [], evidence: [] };
  const { program } = ctx.claim.shared;
  const unit = await ctx.unit(host, consumer.unit);
  if (!unit)
    return {
      ...out,
      problems: [`${host}: no systemd unit ${consumer.unit} (${consumer.name}): no runner runs the jobs on this host`],
    };
  const proc = await processEnvironment(unit, view, ctx);
  out.evidence.push(
    ...proc.notes.map((n) => `${host}: note: ${n}`),
    ...proc.chain.map((c) => `${host}: ${consumer.name} ${c}`),
  );
  if (proc.unknown) return { ...out, unknowns: [`${host}: ${consumer.name}: ${proc.unknown}`] };
  if (proc.problem) return { ...out, problems: [`${host}: ${consumer.name}: ${proc.problem}`] };
  if (consumer.jobShell) {
    const shell = await jobShellGives(ctx, host, view, consumer, unit, proc, expected);
    out.evidence.push(...shell.evidence);
    if (shell.unknown) return { ...out, unknowns: [`${host}: ${consumer.name}: ${shell.unknown}`] };
    if (shell.problem) return { ...out, problems: [`${host}: ${consumer.name}: ${shell.problem}`] };
    if (shell.viaWrapper) return out;
  }
  if (proc.path === undefined)
    return {
      ...out,
      problems: [
        `${host}: ${consumer.name}: ${unit.name} starts without PATH (${proc.source}): its jobs cannot find ${program}`,
      ],
    };
  out.evidence.push(`${host}: ${consumer.name} jobs inherit PATH (${proc.source}) = ${proc.path}`);
  const r = resolveProgram(program, splitPath(proc.path), view);
  if (!r.root)
    return {
      ...out,
      problems: [
        `${host}: ${consumer.name}: ${program} is not on the PATH its jobs inherit (${[proc.path, ...r.notes].join('; ')})`,
      ],
    };
  out.evidence.push(
    `${host}: ${consumer.name} jobs run ${r.root} via ${r.via}`,
    ...r.notes.map((n) => `${host}: ${n}`),
  );
  if (r.root !== expected) out.problems.push(`${host}: ${consumer.name} jobs run ${r.root}, not ${expected}`);
  return out;
}

/**
 * A runner's job shell (src/systemd/jobShell.ts): the shared program (its PATH applies: `viaWrapper`), bash or sh
 * (the runner's PATH applies: the caller's rule), or something the model cannot follow.
 */
async function jobShellGives(
  ctx: RunContext,
  host: string,
  view: HostView,
  consumer: RunnerServiceConsumer,
  unit: UnitView,
  proc: ProcessEnvironment,
  expected: string,
): Promise<{ evidence: string[]; unknown?: string; problem?: string; viaWrapper?: boolean }> {
  const { program } = ctx.claim.shared;
  const shell = await resolveJobShell(consumer.jobShell!, unit, proc, view, (file) => ctx.etcFile(host, file));
  const evidence =
    shell.value !== undefined ? [`${host}: ${consumer.name} job shell (${shell.where}) = ${shell.value}`] : [];
  if ('unknown' in shell) return { evidence, unknown: shell.unknown };
  const { found, argv } = shell;
  const [first] = argv;
  const setting = shell;
  if (!found.root) {
    const why = first.includes('/')
      ? found.notes.join('; ') || `${first} cannot be run`
      : [`${first} is not found on the runner's PATH (${proc.path ?? 'none'})`, ...found.notes].join('; ');
    return found.notes.some((n) => /cannot follow|outside the store/.test(n))
      ? { evidence, unknown: `cannot follow the job shell: ${why}` }
      : { evidence, problem: `its jobs cannot start: ${why}` };
  }
  if (found.root === expected) {
    evidence.push(
      `${host}: ${consumer.name} jobs run their commands through ${found.root} via ${found.via} (\`${setting.value}\`): the wrapper's PATH applies (path-superset)`,
    );
    return { evidence, viaWrapper: true };
  }
  if (programName(first) === program)
    return { evidence, problem: `its job shell runs ${found.root} (via ${found.via}), not ${expected}` };
  const plain = plainShell(argv, found.file ?? first, proc.vars);
  if ('unknown' in plain) return { evidence, unknown: `cannot follow the job shell: ${plain.unknown}` };
  evidence.push(
    `${host}: ${consumer.name} job shell ${found.file ?? first} is ${plain.shell}: the job's commands run with the runner's PATH`,
  );
  return { evidence };
}

/**
 * A Drone pipeline's steps that run the script through the program, after Drone's substitution with this runner's
 * environment.
 */
async function droneUses(
  ctx: RunContext,
  consumer: DroneStepConsumer,
  environ: RunnerEnv['environ'],
): Promise<{ onHost: DroneUse[]; problems: string[]; evidence: string[]; sub: Substituted }> {
  const { program } = ctx.claim.shared;
  const problems: string[] = [];
  const evidence: string[] = [];
  // drone-runner-exec substitutes `${…}` in the raw file (runtime/runner.go), then parses it.
  const sub = substitute(ctx.readRepoFile(consumer.pipeline), runnerLookup(environ));
  if (sub.error) problems.push(`${consumer.pipeline}:${sub.error.line}: ${sub.error.message}`);
  // A file that does not parse, or a step Drone would reject, cannot run as claimed.
  const drone = await parseDroneYaml(sub.text);
  for (const e of drone.errors) problems.push(`${formatPosition(consumer.pipeline, e.position)}: ${e.message}`);
  for (const st of drone.steps.filter((x) => x.ignoredPipelineEnv)) {
    evidence.push(
      `${formatPosition(consumer.pipeline, st.position)}: pipeline "${st.pipeline}" is type exec: drone-runner-exec ignores its environment: block (${st.ignoredPipelineEnv!.join(', ')})`,
    );
  }
  const uses = await scriptUses(drone.steps, consumer.runs, program);
  evidence.push(...perBuildValues(drone.steps, uses, sub, consumer.pipeline, consumer.runs, program));
  const running = uses.filter((u) => !u.step.neverRuns && !u.notRun);
  for (const u of uses.filter((x) => x.step.neverRuns)) {
    evidence.push(
      `${formatPosition(consumer.pipeline, u.step.position)}: step "${u.step.name}" runs \`${u.command}\` but can never run: ${u.step.neverRuns}`,
    );
  }
  for (const u of uses.filter((x) => !x.step.neverRuns && x.notRun)) {
    evidence.push(
      `${formatPosition(consumer.pipeline, u.step.position)}: step "${u.step.name}": ${u.notRun}; not evidence for the claim`,
    );
  }
  if (running.length === 0) problems.push(`no step of ${consumer.pipeline} that can run runs ${consumer.runs}`);
  for (const u of running) {
    const at = formatPosition(consumer.pipeline, u.step.position);
    if (u.unfollowable) problems.push(`${at}: step "${u.step.name}": ${u.unfollowable}`);
    else if (!u.viaWrapper) {
      problems.push(`${at}: step "${u.step.name}" bypasses ${program}: \`${u.command}\` runs ${u.program}`);
    } else if (!runsOnHost(u.step)) {
      problems.push(
        `${at}: step "${u.step.name}" runs in a ${u.step.pipelineType} pipeline${u.step.image ? ` (image ${u.step.image})` : ''}, not on the exec runner: the host's ${program} is not there`,
      );
    }
  }
  return {
    onHost: running.filter((u) => u.viaWrapper && !u.unfollowable && runsOnHost(u.step)),
    problems,
    evidence,
    sub,
  };
}

/**
 * The Drone steps on one host: the exec runner's environment there, the file substituted with it, then each step's own
 * shell.
 */
async function droneReaches(
  ctx: RunContext,
  host: string,
  view: HostView,
  consumer: DroneStepConsumer,
  expected: string,
  shared: Finding,
): Promise<Finding> {
  const out: Finding = { problems: [], evidence: [] };
  const { package: pkg } = ctx.claim.shared;
  const runner = await ctx.unit(host, consumer.runnerUnit);
  const env = runner ? await runnerEnv(runner, view, ctx, hostEtc(ctx, host)) : undefined;
  // What the steps run does not depend on the host unless the file reads the runner's variables: kept once.
  const used = await droneUses(ctx, consumer, env && !env.problem ? env.environ : undefined);
  for (const p of used.problems) if (!shared.problems.includes(p)) shared.problems.push(p);
  for (const e of used.evidence) if (!shared.evidence.includes(e)) shared.evidence.push(e);
  const onHost = used.onHost;
  if (onHost.length === 0) return out;
  if (!runner || !env)
    return {
      ...out,
      problems: [
        `${host}: no systemd unit ${consumer.runnerUnit} (${claimSource(ctx.claim, consumer === droneConsumer(ctx.claim) ? 'runner_service' : undefined, `consumers[${ctx.claim.consumers.indexOf(consumer)}].runner_unit`)}): nothing runs the Drone step on this host`,
      ],
    };
  out.evidence.push(...env.notes.map((n) => `${host}: note: ${n}`), ...env.chain.map((c) => `${host}: runner ${c}`));
  if (env.problem)
    return env.unknown
      ? { ...out, unknowns: [`${host}: ${env.problem}`] }
      : { ...out, problems: [`${host}: ${env.problem}`] };
  for (const use of onHost) {
    const missingLabels = Object.entries(use.step.node ?? {}).filter(([k, v]) => env.labels[k] !== v);
    if (missingLabels.length) {
      out.problems.push(
        `${host}: pipeline "${use.step.pipeline}" asks for node labels ${missingLabels.map(([k, v]) => `${k}:${v}`).join(', ')}, which the runner (DRONE_RUNNER_LABELS ${
          Object.entries(env.labels)
            .map(([k, v]) => `${k}:${v}`)
            .join(',') || 'unset'
        }) does not have: it never runs the step`,
      );
      continue;
    }
    const ownPath = use.step.environment.PATH;
    const substituted = typeof ownPath === 'string' ? describeMarkers(ownPath, used.sub, consumer.pipeline) : undefined;
    if (substituted) {
      out.problems.push(`${host}: step "${use.step.name}" environment.PATH: ${substituted}`);
      continue;
    }
    const p = stepPath(use.step, env);
    if (p.unknown || p.value === undefined) {
      out.problems.push(`${host}: step "${use.step.name}": ${p.unknown ?? `no PATH (${p.source})`}`);
      continue;
    }
    const inCommand = resolvePath(
      use.path,
      splitPath(p.value).map((dir) => ({ dir })),
    );
    if ('unknown' in inCommand) {
      out.problems.push(
        `${host}: step "${use.step.name}": the PATH of \`${use.command}\` cannot be computed: ${inCommand.unknown}`,
      );
      continue;
    }
    const dirs = inCommand.entries.flatMap((e) => ('dir' in e ? [e.dir] : []));
    out.evidence.push(
      `${host}: Drone step "${use.step.name}" PATH (${p.source}) = ${p.value}${renderPath(use.path) !== '$PATH' ? `; at \`${use.command}\`: ${renderPath(inCommand)}` : ''}`,
    );
    const r = resolveProgram(use.program, dirs, view);
    if (!r.root) {
      out.problems.push(
        `${host}: step "${use.step.name}" cannot reach ${pkg} through ${p.source} (${[p.value, ...r.notes].join('; ')})`,
      );
      continue;
    }
    out.evidence.push(`${host}: Drone step runs ${r.root} via ${r.via}`, ...r.notes.map((n) => `${host}: ${n}`));
    if (r.root !== expected)
      out.problems.push(`${host}: the Drone step "${use.step.name}" runs ${r.root}, not ${expected}`);
  }
  return out;
}

/** `/etc/NAME` as the host has it: the built /etc (build mode), `environment.etc` (eval mode); the context's reader. */
function hostEtc(ctx: RunContext, host: string): EtcReader {
  return async (name) => {
    const got = await ctx.etcFile(host, `/etc/${name}`);
    return 'text' in got ? got : { missing: got.unreadable };
  };
}

/**
 * A flake attribute's derivation (or the one at `through` under it) must reference the package, the way the spec's
 * `reference` says (src/derivationUse.ts): in its runtime closure, or run by its build.
 */
async function derivationReferences(
  ctx: RunContext,
  consumer: DerivationConsumer,
  expected: { outPath: string; drvPath: string },
): Promise<Finding> {
  const f = await judgeDerivation(ctx.nix, ctx.settings.mode, consumer, expected, ctx.claim.shared.program);
  return { problems: f.problems, evidence: f.evidence, unknowns: f.unknowns };
}

export const entrypointParityCheck: CheckDefinition = {
  id: 'entrypoint-parity',
  title: 'Every consumer runs the same wrapper store path',
  async run(ctx) {
    const s = ctx.settings;
    const claim = ctx.claim;
    const pkg = await sharedPackagePath(ctx);
    const evidence: string[] = [];
    const problems: string[] = [];
    const unknowns: string[] = [];
    if ('problem' in pkg) return fail(pkg.problem, pkg.evidence);
    const expected = await programRoot(ctx, pkg.outPath);
    evidence.push(
      `${claim.shared.package} (check 3): ${pkg.outPath}${expected !== pkg.outPath ? `; its bin/${claim.shared.program} links to ${expected}, the file every consumer must run` : ''}`,
    );

    const droneShared: Finding = { problems: [], evidence: [] };
    const hosts = await perHost(s.hosts, async (host) => {
      const facts = await ctx.hostFacts(host);
      const toplevel = await ctx.builtToplevel(host);
      const view: HostView = { mode: s.mode, facts, ...(toplevel ? { toplevel } : {}) };
      const findings: Finding[] = [];
      for (const c of consumersOn(claim, host)) {
        if (c.kind === 'systemd-service') findings.push(await serviceReaches(ctx, host, view, c, expected));
        else if (c.kind === 'runner-service') findings.push(await runnerReaches(ctx, host, view, c, expected));
        else if (c.kind === 'systemd-user-service') findings.push(await serviceReaches(ctx, host, view, c, expected));
        else if (c.kind === 'drone-step') findings.push(await droneReaches(ctx, host, view, c, expected, droneShared));
        else if (c.kind === 'system-packages' && c.includesPackage)
          findings.push(systemPackagesInclude(ctx, host, view, c, expected, pkg.outPath));
      }
      // The built-in claim speaks of "the nightly/weekly sweep timer": every timer-started sweep is a consumer.
      // The same claim read from a spec (what --print-spec prints) is the same claim; a spec that differs keeps
      // the units it names.
      if (s.spec === undefined || claimDeviations(claim).length === 0)
        findings.push(...(await otherSweeps(ctx, host, view, expected)));
      return findings;
    });
    problems.push(...droneShared.problems);
    evidence.push(...droneShared.evidence);
    for (const h of hosts) {
      if (!h.value) {
        const lines = describeError(h.host, h.error);
        problems.push(lines[0]);
        evidence.push(...lines.slice(1));
        continue;
      }
      for (const f of h.value) {
        problems.push(...f.problems);
        unknowns.push(...(f.unknowns ?? []));
        evidence.push(...f.evidence);
      }
    }
    // Flake attributes: a derivation's references (src/derivationUse.ts), a dev shell's PATH as `nix develop` gives
    // it (src/devShell.ts).
    for (const c of claim.consumers) {
      if (c.kind !== 'derivation' && c.kind !== 'dev-shell') continue;
      try {
        const f =
          c.kind === 'derivation'
            ? await derivationReferences(ctx, c, pkg)
            : await devShellReaches(ctx, c, expected, pkg.outPath);
        problems.push(...f.problems);
        unknowns.push(...(f.unknowns ?? []));
        evidence.push(...f.evidence);
      } catch (err) {
        const lines = describeError(c.name, err);
        problems.push(lines[0]);
        evidence.push(...lines.slice(1));
      }
    }
    // A consumer on some hosts only is judged there alone; one on none of the run's hosts is judged nowhere: said.
    for (const c of claim.consumers) {
      if (c.kind === 'derivation' || c.hosts === undefined) continue;
      const here = s.hosts.filter((h) => c.hosts!.includes(h));
      evidence.push(
        here.length
          ? `${c.name}: on ${here.join(', ')} only (its spec hosts: ${c.hosts.join(', ')}); not judged on ${s.hosts.filter((h) => !here.includes(h)).join(', ') || 'any other host'}`
          : `${c.name}: on none of the verified hosts (its spec hosts: ${c.hosts.join(', ')}): not judged`,
      );
    }
    // A module option holds the tool list; it runs nothing (single-source and propagation judge it).
    const named = claim.consumers
      .filter((c) => c.kind !== 'system-packages' && c.kind !== 'module-option')
      .map((c) => c.name);
    const judged = [
      ...named,
      ...claim.consumers.filter((c) => c.kind === 'system-packages' && c.includesPackage).map((c) => c.name),
    ];
    if (named.length === 0)
      return fail(
        'the claim names no consumer that runs the package (systemd-service, systemd-user-service, drone-step, runner-service, derivation or dev-shell)',
        evidence,
      );
    // A "cannot follow" is not a proven bypass: alone it makes the check an error, never a fail or a pass.
    const unproven = [...problems.filter((p) => p.includes('cannot follow')), ...unknowns];
    const proven = problems.filter((p) => !p.includes('cannot follow'));
    if (proven.length) return fail([...proven, ...unproven].join('; '), evidence);
    if (unproven.length) return error(unproven.join('; '), evidence);
    // Eval mode resolves a PATH lookup by package names: say how many lookups a build would settle.
    const unseen = evidence.filter((e) => e.includes(EVAL_UNSEEN)).length;
    return pass(
      `every consumer (${judged.join(', ')}) uses ${expected}${unseen ? `; eval mode: ${unseen} PATH lookup${unseen === 1 ? '' : 's'} had earlier entries it cannot look into (a build settles ${unseen === 1 ? 'it' : 'them'})` : ''}`,
      evidence,
    );
  },
};
