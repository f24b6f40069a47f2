// The claim's "superset-or-equal of every prior list (nothing dropped)", computed
// against the base revision instead of a typed list: every tool any consumer
// had at base is still there for that consumer at head. The base is evaluated
// only (both modes), from a private copy of its files (src/base.ts); head is
// read the way the run's mode reads it. Each consumer's tools come from
// src/runtime.ts (the same semantic modules the other checks use).
// - no base (a CLI run without --base, a push that opens a branch): skip, saying why.
// - a tool gone from a consumer: fail, naming consumer, tool, where base provided it, what head has.
// - another version: reported (a downgrade named); not a failure.
// - a consumer new at head: reported. A consumer gone at head: fail unless the spec's `retired` names it.
// - a side that cannot be computed (the base does not evaluate, a step cannot be followed): error.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseSpec } from '../claim/load.js';
import { symlinkLeavingRepo } from '../claim/source.js';
import { onHost, type Claim, type Consumer } from '../claim/types.js';
import { consumerRuntimes, diffLines, diffRuntimes, diffSummary, offHostPresence } from '../runtime.js';
import { error, fail, pass, skip, type CheckDefinition } from './types.js';

/**
 * Where a repository's Nix files name a package (`file:line`, by the word, comments skipped): the
 * list a reviewer edits. A textual pointer beside the evaluated source, never the evidence itself.
 */
export function declaredAt(root: string, searchDir: string, pname: string): string[] {
  const word = new RegExp(`(^|[^A-Za-z0-9_'.-])${pname.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_'-])`);
  const hits: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const st = statSync(full, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(full);
      else if (name.endsWith('.nix')) {
        readFileSync(full, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (word.test(line.replace(/#.*$/, ''))) hits.push(`${path.relative(root, full)}:${i + 1}`);
          });
      }
    }
  };
  const start = path.join(root, searchDir);
  if (existsSync(start)) walk(start);
  return hits;
}

/**
 * For each head consumer with `hosts:`, whether the base revision's own spec (a repository spec, read
 * from the base's private copy) has it on a host: no `hosts:` there means every host. A pinned or
 * built-in spec cannot change with the revision: nothing to add. A base spec that is missing or does
 * not parse adds nothing either (its consumers are then head's).
 */
export function baseSpecHosts(
  spec: string | undefined,
  baseTree: string,
  head: Claim,
): Map<string, (host: string) => boolean> {
  const out = new Map<string, (host: string) => boolean>();
  if (spec === undefined || path.isAbsolute(spec) || !head.consumers.some((c) => c.kind !== 'derivation' && c.hosts))
    return out;
  const file = path.join(baseTree, spec);
  let claim: Claim;
  try {
    if (symlinkLeavingRepo(baseTree, file)) return out;
    claim = parseSpec(readFileSync(file, 'utf8'), spec);
  } catch {
    return out;
  }
  for (const c of claim.consumers) if (c.kind !== 'derivation') out.set(c.name, (host) => onHost(c, host));
  return out;
}

export const noDropCheck: CheckDefinition = {
  id: 'no-drop',
  title: 'No consumer lost a tool it had at the base revision',
  async run(ctx) {
    const cmp = ctx.comparison;
    if (!cmp || 'none' in cmp.choice)
      return skip(
        cmp && 'none' in cmp.choice
          ? cmp.choice.none
          : 'no base revision given (--base REV, PLUGIN_BASE): nothing is compared',
        [],
      );
    const choice = cmp.choice;
    const short = choice.commit.slice(0, 12);
    const opened = await cmp.open!();
    // A consumer the base revision's spec put on more hosts than head's: looked for there on both sides,
    // so a change cannot narrow `hosts:` and drop the consumer from a host unseen.
    const widerAtBase = baseSpecHosts(ctx.settings.spec, opened.ctx.settings.flake, ctx.claim);
    const alsoOn = (c: Consumer, host: string): boolean => widerAtBase.get(c.name)?.(host) ?? false;
    const [base, head] = await Promise.all([
      consumerRuntimes(opened.ctx, { alsoOn }),
      consumerRuntimes(ctx, { alsoOn }),
    ]).then(([b, h]) => {
      const judged = offHostPresence(b, h);
      return [judged.base, judged.head] as const;
    });
    const evidence = [
      `base ${choice.rev}${choice.rev !== choice.commit ? ` (${choice.commit})` : ''}: ${choice.source}; evaluated from a private copy of its files`,
      ...opened.notes.map((n) => `base: note: ${n}`),
    ];
    // Nothing at base evaluated: the comparison has no left side.
    if (base.consumers.length === 0 || base.consumers.every((c) => c.problem)) {
      const why = base.consumers.find((c) => c.problem)?.problem ?? base.absent[0] ?? 'no consumer found';
      return error(`the base revision ${short} (${choice.source}) does not evaluate: ${why}`, [
        ...evidence,
        ...base.absent.map((a) => `base: absent: ${a}`),
      ]);
    }
    const diff = diffRuntimes(base, head, { rev: choice.rev, commit: choice.commit, source: choice.source });
    diff.notes.push(...opened.notes);
    cmp.diff = diff;
    const retired = ctx.claim.retired ?? [];
    const problems: string[] = [];
    const errors: string[] = [];
    for (const c of diff.consumers) {
      evidence.push(`${c.label}: ${c.status}${c.reason ? ` (${c.reason})` : ''}`, ...diffLines(c).map((l) => `  ${l}`));
      if (c.status === 'error') errors.push(`${c.label}: ${c.reason}`);
      if (c.status === 'vanished') {
        if (
          [c.consumer, `${c.consumer}@${c.host}`, c.key, c.key.replace(/@[^@]*$/, '')].some((k) => retired.includes(k))
        )
          evidence.push(`  retired by the spec: not a failure`);
        else
          problems.push(
            `${c.label} is gone at head (${c.reason}); it had ${c.dropped.map((d) => d.tool.name).join(', ') || 'no tools'} (list ${c.key.replace(/@[^@]*$/, '')} under the spec's \`retired\` if that is intended)`,
          );
        continue;
      }
      for (const d of c.dropped) {
        const listed = declaredAt(opened.ctx.settings.flake, ctx.claim.searchDir, d.tool.pname);
        problems.push(
          `${c.label} dropped ${d.tool.name} (base: ${d.tool.from}${listed.length ? `, listed at ${listed.slice(0, 3).join(', ')}` : ''}; head: ${d.instead})`,
        );
      }
    }
    for (const c of ctx.claim.consumers.filter((x) => x.kind === 'derivation'))
      evidence.push(`${c.name}: a derivation consumer, not compared (its closure is not a PATH)`);
    const summary = diffSummary(diff);
    if (problems.length) return fail(`${problems.join('; ')} — against ${short}`, evidence);
    if (errors.length) return error(`cannot compare with ${short}: ${errors.join('; ')}`, evidence);
    return pass(`nothing dropped since ${short} (${choice.source}): ${summary}`, evidence);
  },
};
