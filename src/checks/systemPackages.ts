// The system-packages consumer's two opt-in rules (docs/spec.md):
//  - includes_package: the shared package is in the host's system-path: `sw/bin/<program>` is its program
//    (build mode: the built link resolved; eval mode: the package's outPath is in the evaluated
//    environment.systemPackages and buildEnv's winner of bin/<program> by meta.priority then list order);
//  - required_programs_from: tools: each required program in sw/bin is the shared tool list's own, not merely
//    present: buildEnv (src/buildEnv.ts) keeps the lower meta.priority, then the earlier package, so another
//    package can shadow the tool. Build mode compares the files `sw/bin/<p>` and `<tool>/bin/<p>` resolve to;
//    eval mode compares buildEnv's winner (by names) with the tool list's outputs.
import path from 'node:path';
import type { HostFacts, RunContext, SystemPackage } from '../context.js';
import { systemPackagesExpr } from '../context.js';
import { describePriority, swBinWinner } from '../buildEnv.js';
import { nixString } from '../nix/client.js';
import { parseStorePath } from '../parse/storePath.js';
import { resolveProgram, type HostView } from '../resolve.js';
import { exists, realpath } from '../storeFs.js';
import type { SystemPackagesConsumer } from '../claim/types.js';

export interface SystemPackagesFinding {
  problems: string[];
  evidence: string[];
  unknowns: string[];
}

/** includes_package: sw/bin/<program> on this host is the shared package's program. */
export function systemPackagesInclude(
  ctx: Pick<RunContext, 'claim'>,
  host: string,
  view: HostView,
  consumer: SystemPackagesConsumer,
  expected: string,
  packageOut: string,
): SystemPackagesFinding {
  const out: SystemPackagesFinding = { problems: [], evidence: [], unknowns: [] };
  const { package: pkg, program } = ctx.claim.shared;
  const member = view.facts.systemPackages.find((p) => p.installed.includes(packageOut));
  out.evidence.push(
    `${host}: ${consumer.name}: environment.systemPackages ${member ? `holds pkgs.${pkg} (${describePriority(member)})` : `does NOT hold pkgs.${pkg} (${packageOut})`}`,
  );
  const r = resolveProgram(`/run/current-system/sw/bin/${program}`, [], view);
  out.evidence.push(...r.notes.map((n) => `${host}: ${n}`));
  if (!r.root) {
    out.problems.push(
      `${host}: ${consumer.name}: sw/bin/${program} is missing: pkgs.${pkg} is not in environment.systemPackages`,
    );
    return out;
  }
  out.evidence.push(`${host}: ${consumer.name}: sw/bin/${program} is ${r.file ?? r.root} via ${r.via}`);
  if (r.root !== expected)
    out.problems.push(
      `${host}: ${consumer.name}: sw/bin/${program} is ${r.root}, not ${expected}${member ? '' : ` (pkgs.${pkg} is not in environment.systemPackages)`}`,
    );
  else if (!member && view.mode === 'eval')
    out.problems.push(`${host}: ${consumer.name}: pkgs.${pkg} is not in environment.systemPackages`);
  return out;
}

/** pkgs.<tools_attr> of a host as system-package records (names, outputs linked, priority). */
export async function toolList(ctx: RunContext, host: string): Promise<SystemPackage[] | null> {
  const tools = `cfgs.${nixString(host)}.pkgs.${nixString(ctx.claim.shared.toolsAttr)}`;
  return ctx.nix.evalJson<SystemPackage[] | null>(
    'nixosConfigurations',
    `cfgs: if !builtins.isList (${tools} or null) then null else ${systemPackagesExpr(`{ environment.systemPackages = ${tools}; }`, '_: true')}`,
  );
}

/** required_programs_from: tools — each required program in sw/bin is the tool list's, by buildEnv's rules. */
export function requiredFromTools(
  ctx: Pick<RunContext, 'claim'>,
  host: string,
  facts: HostFacts,
  tools: readonly SystemPackage[],
  programs: readonly string[],
  toplevel: string | undefined,
): SystemPackagesFinding {
  const out: SystemPackagesFinding = { problems: [], evidence: [], unknowns: [] };
  const attr = ctx.claim.shared.toolsAttr;
  for (const p of programs) {
    if (toplevel) {
      const link = path.join(toplevel, 'sw', 'bin', p);
      const file = realpath(link);
      if (!file) continue; // missing: the presence rule already says so
      const own = tools.flatMap((t) => t.installed.map((o) => ({ tool: t, file: path.join(o, 'bin', p) })));
      const unbuilt = tools.flatMap((t) => t.installed).filter((o) => !exists(o));
      const holders = own.filter((o) => exists(o.file));
      const match = holders.find((o) => realpath(o.file) === file);
      if (match) {
        out.evidence.push(`${host}: sw/bin/${p} -> ${file}: ${attr}'s ${match.tool.name}`);
        continue;
      }
      if (holders.length === 0 && unbuilt.length) {
        out.unknowns.push(
          `${host}: ${attr} outputs ${unbuilt.join(', ')} are not in the store: whether they hold bin/${p} is not seen`,
        );
        continue;
      }
      const from = parseStorePath(file)?.name ?? file;
      out.problems.push(
        holders.length
          ? `${host}: sw/bin/${p} is ${file} (${from}), not ${attr}'s ${holders[0].file} (${holders[0].tool.name}): buildEnv kept another package`
          : `${host}: sw/bin/${p} is ${file} (${from}); no package of ${attr} has bin/${p}`,
      );
      continue;
    }
    const w = swBinWinner(facts.systemPackages, p);
    if (!w) continue; // not provided by name: the presence rule says so
    const winnerOut = w.winner.installed[0];
    const tool = tools.find((t) => winnerOut !== undefined && t.installed.includes(winnerOut));
    const named = tools.filter((t) => swBinWinner([t], p));
    // A package of another name with a lower meta.priority wins bin/<p> silently if its bin/ has one: only a build
    // lists its bin/.
    const winning = w.winner.priority ?? 5;
    const stronger = facts.systemPackages.filter((x) => !w.candidates.includes(x) && (x.priority ?? 5) < winning);
    if (tool && stronger.length) {
      out.unknowns.push(
        `${host}: eval mode cannot see whether ${stronger.map(describePriority).join(', ')} (higher priority than ${attr}'s ${tool.name}) hold bin/${p}; a build (mode: build) reads sw/bin`,
      );
      continue;
    }
    if (tool) {
      out.evidence.push(
        `${host}: sw/bin/${p} from ${describePriority(w.winner)}: ${attr}'s ${tool.name} (evaluated, buildEnv rules)`,
      );
      continue;
    }
    out.problems.push(
      `${host}: sw/bin/${p} is ${winnerOut ?? w.winner.name} (${describePriority(w.winner)}), not ${named.length ? `${attr}'s ${named[0].installed[0] ?? named[0].name} (${describePriority(named[0])})` : `from ${attr} (none of its packages is named ${p})`}: buildEnv keeps the lower meta.priority, then the earlier package (evaluated)`,
    );
  }
  return out;
}
