// HOW 4: the nightly sweep and the Drone step run the byte-identical wrapper store path.
// The sweep is what its timer starts: the unit's ExecStart, followed through its
// scripts to `exec cc-ci-run`. The Drone step is what the exec runner runs: the
// step's commands as shell, with the PATH the runner's unit and the pipeline give it.
import type { RunContext, UnitView } from '../context.js';
import { formatPosition, parseDroneYaml } from '../drone/pipeline.js';
import { runnerEnv, stepPath } from '../drone/runnerEnv.js';
import { runsOnHost, scriptUses } from '../drone/uses.js';
import { followToTarget } from '../execChain.js';
import { resolveProgram, splitPath, type HostView } from '../resolve.js';
import { renderPath, resolvePath } from '../shell/index.js';
import { serviceEnvironment, storeReader } from '../systemd/environment.js';
import { execStart, timerTarget } from '../systemd/unit.js';
import { sharedPackagePath } from './pathSuperset.js';
import { describeError, fail, pass, perHost, type CheckDefinition } from './types.js';

/**
 * The sweep's service as its timer starts it, or why there is none: `<sweep>.service`, else the
 * timer-started service whose command runs a store path named `<sweep>` (the wrapper).
 */
async function sweepUnit(ctx: RunContext, host: string): Promise<{ unit: UnitView; timer?: string; note?: string } | { problem: string }> {
  const s = ctx.settings;
  const name = `${s.sweep}.service`;
  const timers = await ctx.timers(host);
  const facts = await ctx.hostFacts(host);
  const startedBy = (service: string): UnitView[] => timers.filter((t) => timerTarget(t.name, t.unit) === service);
  const byName = await ctx.unit(host, name);
  if (byName) {
    const starting = startedBy(name);
    if (facts.hasUnits && starting.length === 0) {
      return { problem: `${host}: no timer starts ${name} (timers: ${timers.map((t) => t.name).join(', ') || 'none'}); the sweep never runs nightly` };
    }
    return { unit: byName, ...(starting[0] ? { timer: starting[0].source } : {}) };
  }
  // No unit of that name: the sweep may run under another service name, started by a timer.
  const wrapper = new RegExp(`/nix/store/[0-9a-z]{32}-${s.sweep.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(/|\\s|$)`);
  for (const timer of timers) {
    const target = timerTarget(timer.name, timer.unit);
    const unit = await ctx.unit(host, target);
    if (unit && execStart(unit.unit).some((e) => wrapper.test(e.program))) {
      return { unit, timer: timer.source, note: `${host}: no unit ${name}; ${target} (started by ${timer.name}) runs the ${s.sweep} wrapper` };
    }
  }
  const near = facts.serviceNames.filter((n) => /sweep|nightly/.test(n)).slice(0, 5);
  return { problem: `${host}: no systemd unit ${name} and no timer-started service runs a ${s.sweep} wrapper (PLUGIN_SWEEP)${near.length ? `; services with similar names: ${near.join(', ')}` : ''}` };
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

    // Drone: a file that does not parse, or a step Drone would reject, cannot run as claimed.
    const drone = await parseDroneYaml(ctx.readRepoFile(s.droneFile));
    for (const e of drone.errors) problems.push(`${formatPosition(s.droneFile, e.position)}: ${e.message}`);
    const uses = await scriptUses(drone.steps, s.droneScript, s.package);
    const running = uses.filter((u) => !u.step.neverRuns && !u.notRun);
    for (const u of uses.filter((x) => x.step.neverRuns)) {
      evidence.push(`${formatPosition(s.droneFile, u.step.position)}: step "${u.step.name}" runs \`${u.command}\` but can never run: ${u.step.neverRuns}`);
    }
    for (const u of uses.filter((x) => !x.step.neverRuns && x.notRun)) {
      evidence.push(`${formatPosition(s.droneFile, u.step.position)}: step "${u.step.name}": ${u.notRun}; not evidence for the claim`);
    }
    if (running.length === 0) problems.push(`no step of ${s.droneFile} that can run runs ${s.droneScript}`);
    for (const u of running) {
      const at = formatPosition(s.droneFile, u.step.position);
      if (u.unfollowable) problems.push(`${at}: step "${u.step.name}": ${u.unfollowable}`);
      else if (!u.viaWrapper) {
        const shadowed = u.program === s.package ? ` (a shell function named ${s.package} shadows the wrapper)` : '';
        problems.push(`${at}: step "${u.step.name}" bypasses ${s.package}: \`${u.command}\`${shadowed}`);
      }
      else if (!runsOnHost(u.step)) {
        problems.push(`${at}: step "${u.step.name}" runs in a ${u.step.pipelineType} pipeline${u.step.image ? ` (image ${u.step.image})` : ''}, not on the exec runner: the host's ${s.package} is not there`);
      }
    }
    const onHost = running.filter((u) => u.viaWrapper && !u.unfollowable && runsOnHost(u.step));

    const hosts = await perHost(s.hosts, async (host) => {
      const facts = await ctx.hostFacts(host);
      const toplevel = await ctx.builtToplevel(host);
      const view: HostView = { mode: s.mode, facts, ...(toplevel ? { toplevel } : {}) };
      const sweep = await sweepUnit(ctx, host);
      const runner = onHost.length ? await ctx.unit(host, `${s.runnerService}.service`) : undefined;
      return { view, sweep, runner };
    });
    for (const h of hosts) {
      if (!h.value) {
        const lines = describeError(h.host, h.error);
        problems.push(lines[0]!);
        evidence.push(...lines.slice(1));
        continue;
      }
      const { view, sweep, runner } = h.value;
      // The sweep: ExecStart (or the inline script), followed to the final run of the wrapper.
      if ('problem' in sweep) problems.push(sweep.problem);
      else {
        const unit = sweep.unit;
        const exec = execStart(unit.unit);
        const env = await serviceEnvironment(unit.unit, unit.source, storeReader(ctx, unit.context));
        evidence.push(...env.notes.map((n) => `${h.host}: note: ${n}`));
        const unitPath = env.unset.has('PATH') ? undefined : env.vars.get('PATH');
        if (sweep.note) evidence.push(sweep.note);
        if (sweep.timer) evidence.push(`${h.host}: ${sweep.timer} starts ${unit.name}`);
        evidence.push(`${h.host}: ${unit.source}${exec[0] ? `:${exec[0].line}: ${exec[0].text}` : ''}`);
        if (unitPath) evidence.push(`${h.host}: ${unitPath.from}PATH=${unitPath.value}`);
        if (exec.length > 1) evidence.push(`${h.host}: ${exec.length} ExecStart= lines; every one runs, the last is followed`);
        const lastExec = exec[exec.length - 1];
        const start = unit.inlineScript
          ? { inlineScript: { text: unit.inlineScript, source: `${unit.source} script` } }
          : lastExec
            ? { argv: [lastExec.program, ...lastExec.args], where: `${unit.source}:${lastExec.line}` }
            : {};
        const result = await followToTarget({ ...start, pathDirs: unitPath ? splitPath(unitPath.value) : undefined, drvs: unit.context }, s.package, view, ctx);
        evidence.push(...result.chain.map((c) => `${h.host}: sweep ${c}`));
        if (!result.ok) problems.push(`${h.host}: the sweep unit ${unit.name} does not reach ${s.package}: ${result.reason}`);
        else if (result.root !== expected) problems.push(`${h.host}: the sweep runs ${result.root} (via ${result.via}), not ${expected}`);
        else evidence.push(`${h.host}: sweep runs ${result.root} via ${result.via}`);
      }
      // The Drone step: the exec runner's PATH on this host, then the step's own shell.
      if (onHost.length === 0) continue;
      if (!runner) {
        problems.push(`${h.host}: no systemd unit ${s.runnerService}.service (PLUGIN_RUNNER_SERVICE): nothing runs the Drone step on this host`);
        continue;
      }
      const env = await runnerEnv(runner, view, ctx);
      evidence.push(...env.notes.map((n) => `${h.host}: note: ${n}`), ...env.chain.map((c) => `${h.host}: runner ${c}`));
      if (env.problem) {
        problems.push(`${h.host}: ${env.problem}`);
        continue;
      }
      for (const use of onHost) {
        const missingLabels = Object.entries(use.step.node ?? {}).filter(([k, v]) => env.labels[k] !== v);
        if (missingLabels.length) {
          problems.push(
            `${h.host}: pipeline "${use.step.pipeline}" asks for node labels ${missingLabels.map(([k, v]) => `${k}:${v}`).join(', ')}, which the runner (DRONE_RUNNER_LABELS ${Object.entries(env.labels).map(([k, v]) => `${k}:${v}`).join(',') || 'unset'}) does not have: it never runs the step`,
          );
          continue;
        }
        const p = stepPath(use.step, env);
        if (p.unknown || p.value === undefined) {
          problems.push(`${h.host}: step "${use.step.name}": ${p.unknown ?? `no PATH (${p.source})`}`);
          continue;
        }
        const inCommand = resolvePath(use.path, splitPath(p.value).map((dir) => ({ dir })));
        if ('unknown' in inCommand) {
          problems.push(`${h.host}: step "${use.step.name}": the PATH of \`${use.command}\` cannot be computed: ${inCommand.unknown}`);
          continue;
        }
        const dirs = inCommand.entries.flatMap((e) => ('dir' in e ? [e.dir] : []));
        evidence.push(`${h.host}: Drone step "${use.step.name}" PATH (${p.source}) = ${p.value}${renderPath(use.path) !== '$PATH' ? `; at \`${use.command}\`: ${renderPath(inCommand)}` : ''}`);
        const r = resolveProgram(use.program, dirs, view);
        if (!r.root) {
          problems.push(`${h.host}: step "${use.step.name}" cannot reach ${s.package} through ${p.source} (${[p.value, ...r.notes].join('; ')})`);
          continue;
        }
        evidence.push(`${h.host}: Drone step runs ${r.root} via ${r.via}`, ...r.notes.map((n) => `${h.host}: ${n}`));
        if (r.root !== expected) problems.push(`${h.host}: the Drone step "${use.step.name}" runs ${r.root}, not ${expected}`);
      }
    }
    if (problems.length) return fail(problems.join('; '), evidence);
    return pass(`sweep and Drone step both run ${expected}`, evidence);
  },
};
