// HOW 1: every host's toplevel builds, with no collision (error or warning).
import path from 'node:path';
import type { HostFacts, RunContext } from '../context.js';
import { CheckInputError, NixCommandError } from '../errors.js';
import { findCollisions, stripAnsi, type Collision } from '../nix/logExcerpt.js';
import { parseStorePath } from '../parse/storePath.js';
import { isDir, listDir, readlink, realpath, sameContent } from '../storeFs.js';
import { nixGaveNoAnswer } from '../nix/client.js';
import { describeError, error, fail, pass, perHost, type CheckDefinition } from './types.js';

export interface BinCollision {
  bin: string;
  providers: { pkg: string; file: string }[];
  /** What the host's sw/bin/<bin> points to, when built. */
  winner?: string;
}

/**
 * Which packages of a host provide the same bin/ name with different files.
 * Independent of logs: system-path's builder only warns, and prints nothing
 * when it was built before.
 */
export function auditBinCollisions(facts: HostFacts, toplevel?: string): BinCollision[] {
  const byBin = new Map<string, { pkg: string; file: string; real: string; priority: number }[]>();
  for (const pkg of facts.systemPackages) {
    for (const out of pkg.installed) {
      for (const dir of ['bin', 'sbin']) {
        const binDir = path.join(out, dir);
        if (!isDir(binDir)) continue;
        for (const bin of listDir(binDir)) {
          const file = path.join(binDir, bin);
          const real = realpath(file);
          if (!real || isDir(real)) continue;
          const key = `${dir}/${bin}`;
          const list = byBin.get(key) ?? [];
          if (!list.some((p) => p.real === real)) list.push({ pkg: pkg.name, file, real, priority: pkg.priority ?? 5 });
          byBin.set(key, list);
        }
      }
    }
  }
  const found: BinCollision[] = [];
  for (const [bin, all] of byBin) {
    // buildEnv: a lower meta.priority wins without a word; only equals collide.
    const best = Math.min(...all.map((p) => p.priority));
    const providers = all.filter((p) => p.priority === best);
    if (providers.length < 2) continue;
    // buildEnv's checkCollisionContents: identical files are not a collision.
    const distinct = providers.filter((p, i) => !providers.slice(0, i).some((q) => sameContent(q.real, p.real)));
    if (distinct.length < 2) continue;
    const winner = toplevel ? readlink(path.join(toplevel, 'sw', bin)) : undefined;
    found.push({ bin, providers: distinct.map(({ pkg, file }) => ({ pkg, file })), ...(winner ? { winner } : {}) });
  }
  return found.sort((a, b) => a.bin.localeCompare(b.bin));
}

const describeCollision = (c: Collision): string =>
  `${c.warningOnly ? 'collision warning' : 'collision error'}: ${c.first} and ${c.second}`;

export function describeBinCollision(host: string, c: BinCollision): string {
  const who = c.providers.map((p) => `${p.pkg} (${p.file})`).join(' and ');
  return `${host}: ${c.bin} is provided by ${who}${c.winner ? `; sw/${c.bin} -> ${c.winner}` : ''}`;
}

async function evalOnly(ctx: RunContext): Promise<ReturnType<CheckDefinition['run']>> {
  const results = await perHost(ctx.settings.hosts, (h) => ctx.hostFacts(h));
  const evidence: string[] = (await ctx.nix.workTreeNotes.catch(() => [])).map((n) => `note: ${n}`);
  let failed = false;
  let errored = false;
  for (const r of results) {
    if (r.value) {
      evidence.push(`${r.host}: toplevel evaluates to ${r.value.toplevel.drvPath} (evaluated, not built)`);
    } else {
      if (r.error instanceof CheckInputError || nixGaveNoAnswer(r.error)) errored = true;
      else failed = true;
      evidence.push(...describeError(r.host, r.error));
    }
  }
  evidence.push(
    'eval mode: nothing was built, so build failures and system-path collision warnings are not seen; run with PLUGIN_MODE=build for them',
  );
  if (errored) return error('a host cannot be verified', evidence);
  if (failed) return fail('a host toplevel does not evaluate', evidence);
  return pass(`${results.length} host toplevels evaluate (not built)`, evidence);
}

export const buildCheck: CheckDefinition = {
  id: 'build',
  title: 'Every host builds with no collision',
  async run(ctx) {
    if (ctx.settings.mode === 'eval') return evalOnly(ctx);
    const results = await perHost(ctx.settings.hosts, async (host) => {
      const facts = await ctx.hostFacts(host);
      return { facts, build: await ctx.hostBuild(host) };
    });
    const evidence: string[] = (await ctx.nix.workTreeNotes.catch(() => [])).map((n) => `note: ${n}`);
    const problems: string[] = [];
    let errored = false;
    for (const r of results) {
      if (!r.value) {
        if (r.error instanceof CheckInputError || nixGaveNoAnswer(r.error)) errored = true;
        const firstError =
          r.error instanceof NixCommandError ? r.error.excerpt.find((l) => /error/i.test(l)) : undefined;
        problems.push(
          r.error instanceof CheckInputError
            ? r.error.message
            : `${r.host} does not evaluate${firstError ? `: ${firstError}` : ''}`,
        );
        evidence.push(...describeError(r.host, r.error));
        continue;
      }
      const { facts, build } = r.value;
      const log = stripAnsi(build.outcome.log);
      if (!build.outcome.ok) {
        const collisions = findCollisions(log);
        problems.push(collisions.length ? `${r.host} fails to build: collision` : `${r.host} fails to build`);
        evidence.push(...collisions.map((c) => `${r.host}: ${describeCollision(c)}`));
        evidence.push(...describeError(r.host, build.outcome.error));
        continue;
      }
      evidence.push(`${r.host}: built ${build.toplevel}`);
      // Warnings from this run's builder logs, else from Nix's stored log of system-path.
      let collisions = findCollisions(log);
      let stored = build.storedSystemPathLog;
      // Another host's build may have built a shared system-path meanwhile: its log is stored.
      const systemPath = facts.systemPath ?? realpath(path.join(build.toplevel, 'sw'));
      if (stored === undefined && !/system-path>/.test(log) && systemPath && parseStorePath(systemPath)) {
        stored = await ctx.nix.storedLog(
          systemPath,
          systemPath === facts.systemPath ? (facts.systemPathDrv ?? undefined) : undefined,
        );
      }
      if (stored)
        collisions = [
          ...collisions,
          ...findCollisions(stored).filter((c) => !collisions.some((k) => k.line.endsWith(c.line))),
        ];
      for (const c of collisions) {
        problems.push(`${r.host}: ${describeCollision(c)}`);
        evidence.push(`${r.host}: ${c.line}`);
      }
      const audited = auditBinCollisions(facts, build.toplevel);
      for (const c of audited) {
        if (!collisions.some((l) => l.line.includes(`/${c.bin}'`) || l.first.endsWith(`/${c.bin}`))) {
          problems.push(`${r.host}: collision on ${c.bin} (found by the audit; no log line)`);
        }
        evidence.push(`audit: ${describeBinCollision(r.host, c)}`);
      }
    }
    if (errored) return error(problems.join('; ') || 'a host cannot be verified', evidence);
    if (problems.length) return fail(problems.join('; '), evidence);
    return pass(`${results.length} hosts built, no collision`, evidence);
  },
};
