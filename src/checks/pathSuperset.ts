// HOW 3: the wrapper's `export PATH=` holds every expected name-version entry
// (`exact`: and nothing else).
import { claimSource } from '../claim/claim.js';
import type { RunContext } from '../context.js';
import { CheckInputError } from '../errors.js';
import { isDir } from '../storeFs.js';
import { analyzeScript, renderPath, resolvePath, type Invocation } from '../shell/index.js';
import { packageOf, parseDrvName, parseStorePath } from '../parse/storePath.js';
import { error, fail, pass, perHost, type CheckDefinition } from './types.js';
import { finalRun } from '../wrappers/index.js';
import { SYSTEM_PROFILES, type HostView } from '../resolve.js';
import { judgeLookup } from './toolLookup.js';

export interface ToolComparison {
  present: { expected: string; dir: string }[];
  missing: string[];
  /** Same package name, other version: named as drift, not just missing. */
  drift: { expected: string; found: string; dir: string }[];
  extras: string[];
}

/** Compares PATH store dirs with expected `name-version` entries (`-bin` outputs satisfy their package). */
export function compareTools(expected: readonly string[], entries: readonly string[]): ToolComparison {
  const dirs = entries
    .map((e) => ({ entry: e, sp: parseStorePath(e) }))
    .filter((d): d is { entry: string; sp: NonNullable<ReturnType<typeof parseStorePath>> } => d.sp !== undefined)
    .map((d) => ({ entry: d.entry, name: d.sp.name, pkg: packageOf(d.sp.name) }));
  const used = new Set<string>();
  const result: ToolComparison = { present: [], missing: [], drift: [], extras: [] };
  for (const want of expected) {
    const exact = dirs.find((d) => d.name === want || d.pkg.name === want);
    if (exact) {
      result.present.push({ expected: want, dir: exact.entry });
      used.add(exact.entry);
      continue;
    }
    const wantPkg = parseDrvName(want);
    const sameName = dirs.find((d) => d.pkg.pname === wantPkg.pname || parseDrvName(d.name).pname === wantPkg.pname);
    if (sameName) {
      result.drift.push({ expected: want, found: sameName.pkg.name, dir: sameName.entry });
      used.add(sameName.entry);
    } else {
      result.missing.push(want);
    }
  }
  result.extras = dirs.filter((d) => !used.has(d.entry)).map((d) => d.name);
  return result;
}

/** The shared package's store path, identical on every host, else a failure naming each. */
export async function sharedPackagePath(
  ctx: RunContext,
): Promise<{ outPath: string; drvPath: string; evidence: string[] } | { problem: string; evidence: string[] }> {
  const facts = await perHost(ctx.settings.hosts, (h) => ctx.hostFacts(h));
  const evidence: string[] = [];
  const paths = new Map<string, string[]>();
  for (const f of facts) {
    if (!f.value) throw f.error;
    const pkg = f.value.package;
    if (!pkg)
      throw new CheckInputError(
        `${f.host}: pkgs.${ctx.claim.shared.package} does not exist (${claimSource(ctx.claim, 'package', 'shared.package')})`,
      );
    evidence.push(`${f.host}: pkgs.${ctx.claim.shared.package} = ${pkg.out}`);
    paths.set(pkg.out, [...(paths.get(pkg.out) ?? []), f.host]);
  }
  if (paths.size !== 1) return { problem: `hosts disagree on pkgs.${ctx.claim.shared.package}`, evidence };
  const first = facts[0].value!.package!;
  return { outPath: first.out, drvPath: first.drvPath, evidence };
}

/**
 * The PATH in force where the wrapper finally runs its program: every assignment before
 * it counts, in order (a later `export PATH=` that replaces PATH wins over the first).
 */
export async function finalPath(
  script: string,
): Promise<{ run: Invocation; entries: string[]; shown: string } | { problem: string }> {
  const analysis = await analyzeScript(script, { inheritedPath: 'inherited' });
  const final = finalRun(analysis);
  if ('problem' in final) return final;
  const { run } = final;
  const p = resolvePath(run.path, undefined);
  if ('unknown' in p)
    return { problem: `the PATH at line ${run.line} (\`${run.text}\`) cannot be computed: ${p.unknown}` };
  // `export -n PATH`: the shell finds the program, but the program itself starts without PATH.
  if (!run.exportedVars.includes('PATH'))
    return { problem: `PATH is not exported to \`${run.text}\` (line ${run.line}): the program starts without it` };
  return { run, entries: p.entries.flatMap((e) => ('dir' in e ? [e.dir] : [])), shown: renderPath(p) };
}

/** When hosts disagree on the wrapper: what each host's wrapper PATH lacks (from its evaluated script text). */
async function perHostComparison(ctx: RunContext): Promise<string[]> {
  const lines: string[] = [];
  for (const host of ctx.settings.hosts) {
    const text = (await ctx.hostFacts(host)).package?.text;
    const fp = text ? await finalPath(text) : undefined;
    if (!fp || 'problem' in fp) continue;
    const expected = ctx.claim.expectedTools.entries;
    const cmp = compareTools(expected, fp.entries);
    const gaps = [
      ...cmp.missing.map((m) => `missing ${m}`),
      ...cmp.drift.map((d) => `drift ${d.found} (expected ${d.expected})`),
    ];
    lines.push(
      `${host}: its ${ctx.claim.shared.package} PATH ${gaps.length ? gaps.join(', ') : `has all ${expected.length} expected entries`}`,
    );
  }
  return lines;
}

export const pathSupersetCheck: CheckDefinition = {
  id: 'path-superset',
  title: 'The wrapper PATH carries every expected tool',
  async run(ctx) {
    const pkg = await sharedPackagePath(ctx);
    if ('problem' in pkg) return fail(pkg.problem, [...pkg.evidence, ...(await perHostComparison(ctx))]);
    const { outcome: fp, notes } = await ctx.wrapperRun();
    const evidence = [...pkg.evidence, ...fp.chain, ...notes];
    if (!fp.ok)
      return 'cannotFollow' in fp
        ? error(`cannot follow: ${fp.cannotFollow}`, evidence)
        : fail(`${fp.source}: ${fp.problem}`, evidence);
    const script = { source: fp.source };
    evidence.push(
      `line ${fp.run.line}: \`${fp.run.text}\` runs with PATH=${fp.shown} (${fp.entries.length} directories)`,
    );
    if (!fp.entries.some((e) => parseStorePath(e)))
      return fail(
        `${script.source}: no store directory on the PATH where line ${fp.run.line} runs its program`,
        evidence,
      );
    const { entries: expected, match } = ctx.claim.expectedTools;
    const cmp = compareTools(expected, fp.entries);
    // After a build a PATH entry must be a directory that exists (`curl.out` names `…-curl-8.12.1/bin`, which is not
    // there).
    if (ctx.settings.mode === 'build') {
      for (const p of cmp.present.filter((x) => !isDir(x.dir))) {
        cmp.present.splice(cmp.present.indexOf(p), 1);
        cmp.missing.push(`${p.expected} (${p.dir} is on PATH but does not exist)`);
      }
    }
    evidence.push(...cmp.present.map((p) => `ok      ${p.expected}: ${p.dir}`));
    // On PATH is not enough: each of an entry's programs must be the one PATH lookup finds (./toolLookup.ts).
    const pathValue = resolvePath(fp.run.path, undefined);
    const lookup =
      'unknown' in pathValue
        ? { problems: [], unknowns: [], evidence: [] }
        : judgeLookup(cmp.present, pathValue.entries, await lookupView(ctx, fp.entries));
    evidence.push(...lookup.evidence);
    evidence.push(...cmp.drift.map((d) => `DRIFT   ${d.expected}: found ${d.found} (${d.dir})`));
    evidence.push(...cmp.missing.map((m) => `MISSING ${m}`));
    // `exact`: no other store directory, and not the caller's PATH either (its directories are unknown).
    const inherits = match === 'exact' && fp.shown.split(':').includes('$PATH');
    if (cmp.extras.length)
      evidence.push(`${match === 'exact' ? 'EXTRA  ' : 'extra (information):'} ${cmp.extras.join(', ')}`);
    if (inherits) evidence.push(`EXTRA   the caller's $PATH is appended`);
    const total = expected.length;
    const unexpected = match === 'exact' ? [...cmp.extras, ...(inherits ? ["the caller's $PATH"] : [])] : [];
    evidence.push(...lookup.problems.map((p) => `SHADOWED ${p}`), ...lookup.unknowns.map((u) => `UNKNOWN ${u}`));
    if (cmp.missing.length || cmp.drift.length || unexpected.length || lookup.problems.length) {
      // The decisive fact first ("cc-ci-run's PATH lacks git-lfs-3.6.1"), the count after it.
      const parts = [
        ...(cmp.missing.length ? [`lacks ${cmp.missing.join(', ')}`] : []),
        ...(cmp.drift.length
          ? [`has version drift ${cmp.drift.map((d) => `${d.found} (expected ${d.expected})`).join(', ')}`]
          : []),
        ...(unexpected.length ? [`has entries not in the exact list: ${unexpected.join(', ')}`] : []),
        ...(lookup.problems.length ? [`finds another package first: ${lookup.problems.join('; ')}`] : []),
      ];
      return fail(
        `${ctx.claim.shared.program}'s PATH ${parts.join('; ')} (${cmp.present.length}/${total} expected entries)`,
        evidence,
      );
    }
    if (lookup.unknowns.length)
      return error(
        `cannot follow: which program PATH lookup finds for ${lookup.unknowns.length === 1 ? 'an expected entry' : `${lookup.unknowns.length} programs of expected entries`}: ${lookup.unknowns[0]}`,
        evidence,
      );
    return pass(
      `${total}/${total} expected entries on ${ctx.claim.shared.program}'s PATH${match === 'exact' ? ' (exactly)' : cmp.extras.length ? ` (+${cmp.extras.length} extra)` : ''}`,
      evidence,
    );
  },
};

/**
 * The host facts PATH lookup needs for the wrapper's directories: the first host's (the wrapper is one store path on
 * every host); its built toplevel only when the PATH names the system profile or an /etc directory.
 */
async function lookupView(ctx: RunContext, dirs: readonly string[]): Promise<HostView> {
  const host = ctx.settings.hosts[0];
  const facts = await ctx.hostFacts(host);
  const needsToplevel = dirs.some((d) => SYSTEM_PROFILES.includes(d) || d.startsWith('/etc/'));
  const toplevel =
    ctx.settings.mode === 'build' && needsToplevel ? await ctx.builtToplevel(host).catch(() => undefined) : undefined;
  return { mode: ctx.settings.mode, facts, ...(toplevel ? { toplevel } : {}) };
}
