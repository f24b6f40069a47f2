// A module-option consumer (spec `kind: module-option`), judged by single-source: on each of its hosts, the option's
// value (`options.<path>.value`, evaluated: both modes read it the same way, nothing is built) is the shared tool list
// or the shared package, with the definitions in effect named by file:line (src/moduleOption.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readBoundedText } from '../bounded.js';
import type { RunContext } from '../context.js';
import { attrPath, nixGaveNoAnswer } from '../nix/client.js';
import { parseNix } from '../nixSyntax/index.js';
import { consumersOf, onHost, type ModuleOptionConsumer } from '../claim/types.js';
import { definitionLines, judgeOption, optionFactsExpr, type Located, type OptionAnswer } from '../moduleOption.js';
import type { GrepHit } from '../parse/nixText.js';
import { describeError, error, perHost, type CheckOutcome } from './types.js';

export interface ModuleOptionRule {
  name: string;
  ok: boolean;
  reason?: string;
  hits: GrepHit[];
  /** Outside the contract, or Nix gave no answer: never a pass, never a proven fail. */
  cannotFollow?: boolean;
  evidence: string[];
}

/** Where a definition's file is in the repository, and its line (the declaration's `default =` for the default). */
function locator(root: string, source: string, option: string, decls: { file: string; line: number | null }[]) {
  return (file: string, defaultInEffect: boolean): Located | undefined => {
    if (!file.startsWith(`${source}/`)) return undefined;
    const rel = file.slice(source.length + 1);
    const full = path.join(root, rel);
    const decl = decls.find((d) => d.file === file);
    const isDefault = defaultInEffect && decl !== undefined;
    if (!existsSync(full)) return { file: rel, line: 0, isDefault };
    const parsed = parseNix(readBoundedText(full, rel));
    if (isDefault) {
      // The `default =` of the declaration: the first one at or after the declaration's line.
      const from = decl.line ?? 0;
      const def = parsed.definitions
        .filter((d) => d.kind === 'binding' && d.name === 'default' && d.line >= from)
        .sort((a, b) => a.line - b.line)[0];
      return { file: rel, line: def?.line ?? decl.line ?? 0, isDefault };
    }
    return { file: rel, line: definitionLines(parsed.definitions, option)[0] ?? 0, isDefault };
  };
}

/** One rule per module-option consumer and host it is on. */
export async function moduleOptionRules(
  ctx: Pick<RunContext, 'nix' | 'settings' | 'claim'>,
  consumers: ModuleOptionConsumer[] = consumersOf(ctx.claim, 'module-option'),
): Promise<ModuleOptionRule[]> {
  if (!consumers.length) return [];
  const source = (await ctx.nix.flakeSource()).path;
  const rules: ModuleOptionRule[] = [];
  for (const c of consumers) {
    const { toolsAttr, package: pkg } = ctx.claim.shared;
    const sharedAttr = c.value === 'tools' ? toolsAttr : pkg;
    const sharedName = `pkgs.${sharedAttr}`;
    const hosts = ctx.settings.hosts.filter((h) => onHost(c, h));
    const answers = await perHost(hosts, (host) =>
      ctx.nix.evalJson<OptionAnswer>(attrPath('nixosConfigurations', host), optionFactsExpr(c.option, sharedAttr)),
    );
    for (const r of answers) {
      const name = `${c.name} on ${r.host}: the value of ${c.option} is ${sharedName} (${c.value === 'tools' ? 'same derivations, same order' : 'the same derivation'})`;
      if (!r.value) {
        const lines = describeError(r.host, r.error);
        rules.push({
          name,
          ok: false,
          cannotFollow: true,
          reason: nixGaveNoAnswer(r.error) ? `nix gave no answer: ${lines[0]}` : `does not evaluate: ${lines[0]}`,
          hits: [],
          evidence: lines.slice(1),
        });
        continue;
      }
      const decls = r.value.found && r.value.isOption ? r.value.decls : [];
      const j = judgeOption({
        host: r.host,
        option: c.option,
        value: c.value,
        sharedName,
        answer: r.value,
        locate: locator(ctx.settings.flake, source, c.option, decls),
      });
      const problems = [...j.problems, ...j.cannotFollow];
      rules.push({
        name,
        ok: problems.length === 0,
        ...(problems.length ? { reason: problems.join('; ') } : {}),
        ...(j.cannotFollow.length && !j.problems.length ? { cannotFollow: true } : {}),
        hits: j.hits,
        evidence: j.evidence,
      });
    }
  }
  return rules;
}

/**
 * single-source's outcome with the module-option rules: their evidence added; when the only broken rules are ones that
 * cannot be followed (an unknown option, a value that is not a list of derivations), an error, never a pass or a fail.
 */
export function withModuleOptions(outcome: CheckOutcome, rules: ModuleOptionRule[], otherBroken: number): CheckOutcome {
  const evidence = [...outcome.evidence, ...rules.flatMap((r) => r.evidence)];
  const broken = rules.filter((r) => !r.ok);
  if (outcome.status === 'fail' && otherBroken === 0 && broken.length && broken.every((r) => r.cannotFollow))
    return error(outcome.summary, evidence);
  return { ...outcome, evidence };
}
