// HOW 5: every host declares the same systemPackages line (the system-packages
// consumer), and each host's system PATH has its required programs (git-lfs, openssl).
import path from 'node:path';
import { existsSync } from 'node:fs';
import type { HostFacts, RunContext } from '../context.js';
import { parseNix, stripComments } from '../nixSyntax/index.js';
import { normaliseNix } from '../parse/nixText.js';
import { packageOf, parseStorePath } from '../parse/storePath.js';
import { isDir, realpath } from '../storeFs.js';
import { describePriority, swBinWinner } from '../buildEnv.js';
import { nixGaveNoAnswer } from '../nix/client.js';
import { consumersOf, onHost } from '../claim/types.js';
import { describeError, error, fail, pass, perHost, type CheckDefinition } from './types.js';
import { requiredFromTools, toolList } from './systemPackages.js';
import { judgeByDefinitions } from './systemPackagesDefinitions.js';

export interface PackagesLine {
  host: string;
  file: string;
  line?: number;
  statement?: string;
}

/**
 * The `environment.systemPackages = …;` statement(s) of a host config (also the nested `environment = { systemPackages
 * = …; }` form).
 */
export function systemPackagesLine(
  ctx: Pick<RunContext, 'hostConfigFile' | 'repoPath'>,
  host: string,
  read: (rel: string) => string,
): PackagesLine {
  const file = ctx.hostConfigFile(host);
  if (!existsSync(ctx.repoPath(file))) return { host, file };
  // Definitions as Nix reads them: `environment.systemPackages = …;`, `environment = { systemPackages = …; }`.
  const found = parseNix(read(file)).definitions.filter((d) => d.name === 'systemPackages' && d.value);
  if (found.length === 0) return { host, file };
  return {
    host,
    file,
    line: found[0].line,
    statement: found.map((f) => `systemPackages = ${stripComments(f.value!.text)};`).join(' '),
  };
}

/** Does any evaluated system package provide the program by name (git-lfs-3.6.1, openssl-3.3.3-bin)? */
export function packageProviding(facts: HostFacts, bin: string): string | undefined {
  const w = swBinWinner(facts.systemPackages, bin);
  return w ? describePriority(w.winner) : undefined;
}

/**
 * Eval mode: a system package that has `bin/<bin>` in an output already in the store (outputs are store paths: one
 * that exists is that derivation's output). Only the positive answer is read: a package not in the store, or what
 * propagated-user-env-packages bring, is not seen, so absence here proves nothing.
 */
export function storedProvider(facts: HostFacts, bin: string): { name: string; file: string } | undefined {
  if (!/^[^/]+$/.test(bin) || bin === '.' || bin === '..') return undefined;
  for (const p of facts.systemPackages)
    for (const out of p.installed) {
      const sp = parseStorePath(out);
      if (!sp || sp.subPath !== '') continue;
      const file = path.join(out, 'bin', bin);
      if (existsSync(file)) return { name: p.name, file };
    }
  return undefined;
}

const requiredPrograms = (ctx: Pick<RunContext, 'claim'>, host: string): string[] =>
  ctx.claim.hosts.find((h) => h.name === host)?.requiredPrograms ?? [];

export const hostParityCheck: CheckDefinition = {
  id: 'host-parity',
  title: 'Hosts declare identical system packages and carry the required programs',
  async run(ctx) {
    const s = ctx.settings;
    const evidence: string[] = [];
    const problems: string[] = [];
    const consumer = consumersOf(ctx.claim, 'system-packages')[0];
    // Its `hosts:` (default every host) are the hosts whose systemPackages lines must be identical.
    const sameHosts = consumer ? s.hosts.filter((h) => onHost(consumer, h)) : [];
    const compareLines = consumer?.sameDefinition && sameHosts.length > 1;

    const lines = compareLines ? sameHosts.map((h) => systemPackagesLine(ctx, h, (rel) => ctx.readRepoFile(rel))) : [];
    for (const l of lines) {
      if (l.statement) evidence.push(`${l.file}:${l.line}: ${l.statement.replace(/\s+/g, ' ')}`);
      else if (!existsSync(ctx.repoPath(l.file))) problems.push(`${l.file}: no environment.systemPackages assignment`);
    }
    // A host config without the statement (a shared module gives every host the list): the hosts' definitions as the
    // module system records them are compared instead.
    const byDefinitions = lines.some((l) => !l.statement) ? await judgeByDefinitions(ctx, sameHosts, lines) : undefined;
    if (byDefinitions) {
      problems.push(...byDefinitions.problems);
      evidence.push(...byDefinitions.evidence);
    }
    const withLines = lines.filter((l) => l.statement);
    const distinct = new Set(withLines.map((l) => normaliseNix(l.statement!)));
    if (distinct.size > 1) {
      const first = withLines[0];
      for (const other of withLines.slice(1)) {
        if (normaliseNix(other.statement!) === normaliseNix(first.statement!)) continue;
        problems.push(`systemPackages lines differ: ${first.host} vs ${other.host}`);
        evidence.push(
          `- ${first.file}:${first.line}: ${first.statement!.replace(/\s+/g, ' ')}`,
          `+ ${other.file}:${other.line}: ${other.statement!.replace(/\s+/g, ' ')}`,
        );
      }
    }

    // required_programs_from: tools (opt-in): the tool list of each host it applies to, evaluated.
    const fromTools = (host: string): boolean =>
      consumer !== undefined && consumer.requiredProgramsFrom === 'tools' && onHost(consumer, host);
    const results = await perHost(s.hosts, async (host) => {
      const facts = await ctx.hostFacts(host);
      const tools = fromTools(host) ? await toolList(ctx, host) : undefined;
      if (s.mode === 'eval') return { facts, toplevel: undefined, tools };
      const build = await ctx.hostBuild(host);
      return { facts, toplevel: build.outcome.ok ? build.toplevel : undefined, tools };
    });
    const unknowns: string[] = [];
    let noAnswer = false;
    const unseen: string[] = [];
    for (const r of results) {
      if (!r.value) {
        if (nixGaveNoAnswer(r.error)) noAnswer = true;
        const lines = describeError(r.host, r.error);
        problems.push(lines[0]);
        evidence.push(...lines);
        continue;
      }
      const { facts, toplevel, tools } = r.value;
      if (tools === null) problems.push(`${r.host}: pkgs.${ctx.claim.shared.toolsAttr} is not a list`);
      else if (tools && (s.mode === 'eval' || toplevel)) {
        const f = requiredFromTools(ctx, r.host, facts, tools, requiredPrograms(ctx, r.host), toplevel);
        problems.push(...f.problems);
        unknowns.push(...f.unknowns);
        evidence.push(...f.evidence);
      }
      if (s.mode === 'build' && !toplevel) {
        problems.push(`${r.host} did not build, its sw/bin cannot be read`);
        continue;
      }
      const swBin = toplevel ? path.join(toplevel, 'sw', 'bin') : undefined;
      if (swBin && !isDir(swBin)) problems.push(`${r.host}: ${toplevel} has no sw/bin`);
      for (const bin of requiredPrograms(ctx, r.host)) {
        const pkg = packageProviding(facts, bin);
        const target = swBin ? realpath(path.join(swBin, bin)) : undefined;
        if (swBin) {
          if (!target) problems.push(`${r.host}: sw/bin/${bin} is missing`);
          evidence.push(
            `${r.host}: sw/bin/${bin} ${target ? `-> ${target}` : 'MISSING'}; systemPackages: ${pkg ?? 'no package named ' + bin}`,
          );
          const from = target ? parseStorePath(target) : undefined;
          if (from && packageOf(from.name).pname !== bin)
            evidence.push(`${r.host}: note: sw/bin/${bin} comes from ${from.name}, not from a package named ${bin}`);
        } else {
          // Eval mode knows packages by name and mainProgram only: a program of another name (ssh from openssh) is not
          // seen.
          // A program the claim names a package for (git-lfs: git-lfs-3.6.1 among the expected tools) is seen missing
          // when no system package is that package: a fail. Any other program eval mode cannot know about: said so.
          const claimed = pkg ? undefined : ctx.claim.expectedTools.entries.find((e) => packageOf(e).pname === bin);
          // A system package whose output is in the store already (an earlier build or substitute) shows its bin/:
          // buildEnv links every bin/ entry of its packages, so sw/bin has the program. Nothing is built to see it.
          const stored = pkg || claimed ? undefined : storedProvider(facts, bin);
          if (claimed) problems.push(`${r.host}: no system package provides ${bin} (the claim's ${claimed})`);
          else if (!pkg && !stored) unseen.push(`${r.host}: ${bin}`);
          evidence.push(
            `${r.host}: ${bin} ${pkg ? `from system package ${pkg}` : claimed ? `MISSING: no system package is ${claimed} or named ${bin}` : stored ? `from system package ${stored.name}: ${stored.file} is in the store (not built by this run)` : 'UNKNOWN in eval mode (no system package is named so, and none in the store has it; only a build shows which bin/ has it)'} (evaluated, not built)`,
          );
        }
      }
    }
    // nix gave no answer (timeout, crash, unreadable output): that is not a verdict on the repository.
    if (noAnswer || byDefinitions?.noAnswer) return error(problems.join('; '), evidence);
    if (problems.length) return fail(problems.join('; '), evidence);
    if (unknowns.length) return error(`cannot follow: ${unknowns.join('; ')}`, evidence);
    if (unseen.length)
      return error(
        `eval mode cannot know whether sw/bin has ${unseen.join(', ')} (no system package is named so); a build (mode: build) reads sw/bin`,
        evidence,
      );
    const programs = [...new Set(s.hosts.flatMap((h) => requiredPrograms(ctx, h)))];
    const shared = byDefinitions
      ? `${sameHosts.length} hosts share the same systemPackages definitions (${byDefinitions.files.join(', ')}); `
      : compareLines
        ? `${s.hosts.length} hosts share one systemPackages line; `
        : '';
    return pass(
      `${shared}${programs.length ? `${programs.join(', ')} on ${s.hosts.length > 1 ? 'every host' : s.hosts[0]}${s.hosts.some(fromTools) ? `, from ${ctx.claim.shared.toolsAttr}` : ''}` : 'no required programs'}`,
      evidence,
    );
  },
};
