// HOW 2: the grep proofs, with `grep -rn` semantics over nix_dir.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunContext } from '../context.js';
import { formatHit, grepFile, grepRecursive, listFiles, type GrepHit } from '../parse/nixText.js';
import { parseNix, stripComments, type Definition } from '../nixSyntax/index.js';
import { programName } from '../resolve.js';
import { analyzeScript, shellFromNixString } from '../shell/index.js';
import { error, fail, pass, type CheckDefinition, type CheckOutcome } from './types.js';

interface Rule {
  name: string;
  ok: boolean;
  /** Why, when not ok. */
  reason?: string;
  hits: GrepHit[];
}

const samePath = (a: string, b: string): boolean => path.posix.normalize(a) === path.posix.normalize(b);

/** `[ pkgs.cc-ci-run ]`, `[ pkgs."cc-ci-run" ]` or `with pkgs; [ cc-ci-run ]`: a list of that one package. */
export function isOnlyPackage(value: string, pkg: string): boolean {
  const m = /^(with\s+pkgs\s*;\s*)?\[(.*)\]$/s.exec(value.trim());
  if (!m) return false;
  const items = m[2]!.trim().split(/\s+/).filter((i) => i !== '');
  if (items.length !== 1) return false;
  const name = items[0]!.replace(/^pkgs\./, '').replace(/^"(.*)"$/, '$1');
  return name === pkg && (items[0]!.startsWith('pkgs.') || m[1] !== undefined);
}

/** Every definition in the .nix files under dir, with repository-relative files, and the files that do not parse. */
export function nixDefinitions(root: string, dir: string): { definitions: (Definition & { file: string })[]; errors: { file: string; line: number; column: number; message: string }[] } {
  const definitions: (Definition & { file: string })[] = [];
  const errors: { file: string; line: number; column: number; message: string }[] = [];
  const base = path.join(root, dir);
  if (!existsSync(base)) return { definitions, errors };
  for (const full of listFiles(base)) {
    if (!full.endsWith('.nix')) continue;
    const file = path.relative(root, full).split(path.sep).join('/');
    const text = readFileSync(full, 'utf8');
    const parsed = parseNix(text);
    for (const e of parsed.errors) errors.push({ file, ...e });
    // `inherit name;` re-exports a binding already in scope (counted where it is bound); function
    // arguments bind a caller's value. Neither defines the thing again.
    for (const d of parsed.definitions) if (d.kind !== 'formal' && d.kind !== 'argument' && d.kind !== 'inherit') definitions.push({ ...d, file });
  }
  return { definitions, errors };
}

export function singleSourceRules(ctx: Pick<RunContext, 'settings' | 'hostConfigFile'>): Rule[] {
  const s = ctx.settings;
  const root = s.flake;
  const rules: Rule[] = [];
  const count = (hits: GrepHit[]): string => `${hits.length} hit${hits.length === 1 ? '' : 's'}`;

  const withPackages = grepRecursive(root, s.nixDir, 'withPackages');
  const inPackages = withPackages.filter((h) => samePath(h.file, s.packagesFile));
  rules.push({
    name: `grep -rn withPackages ${s.nixDir}/ → exactly 1 hit, in ${s.packagesFile}`,
    ok: withPackages.length === 1 && inPackages.length === 1,
    reason: withPackages.length === 1 ? `the hit is not in ${s.packagesFile}` : `${count(withPackages)}`,
    hits: withPackages,
  });

  const pytest = grepRecursive(root, s.nixDir, 'pytest playwright');
  const sameLine = pytest.length === 1 && withPackages.length >= 1 && withPackages.some((w) => w.file === pytest[0]!.file && w.line === pytest[0]!.line);
  rules.push({
    name: `grep -rn "pytest playwright" ${s.nixDir}/ → exactly 1 hit, on the withPackages line`,
    ok: pytest.length === 1 && sameLine,
    reason: pytest.length === 1 ? 'the hit is not on the withPackages line' : count(pytest),
    hits: pytest,
  });

  // Definitions as Nix reads them (`name =`, `"name" =`, `inherit (x) name;`, `a.name =`, nested sets), found with a Nix parser.
  const defs = nixDefinitions(root, s.nixDir);
  for (const attr of [s.pyenvAttr, s.toolsAttr]) {
    const found = defs.definitions.filter((d) => d.name === attr || d.attrPath.includes(attr));
    const hits = found.map((d) => ({ file: d.file, line: d.line, text: `${d.kind === 'binding' ? '' : `(${d.kind}) `}${d.text.split('\n')[0]!.trim()}` }));
    rules.push({
      name: `${attr} defined exactly once, in ${s.packagesFile}`,
      ok: defs.errors.length === 0 && found.length === 1 && samePath(found[0]!.file, s.packagesFile),
      reason: defs.errors.length
        ? `${defs.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`).join('; ')}: the verifier cannot count definitions in a file it cannot parse`
        : found.length === 1
          ? `defined in ${found[0]!.file}`
          : `${found.length} definitions`,
      hits,
    });
  }
  const tools = grepRecursive(root, s.nixDir, s.toolsAttr);
  const toolDefs = defs.definitions.filter((d) => d.name === s.toolsAttr || d.attrPath.includes(s.toolsAttr));
  const isDefLine = (h: GrepHit): boolean => toolDefs.some((d) => d.file === h.file && d.line === h.line);
  for (const host of s.hosts) {
    const file = ctx.hostConfigFile(host);
    const code = existsSync(path.join(root, file)) ? stripComments(readFileSync(path.join(root, file), 'utf8')).split('\n') : [];
    const refs = tools.filter((h) => samePath(h.file, file) && !isDefLine(h) && (code[h.line - 1] ?? '').includes(s.toolsAttr));
    rules.push({
      name: `${file} references ${s.toolsAttr}`,
      ok: refs.length > 0,
      reason: existsSync(path.join(root, file)) ? `no reference in ${file}` : `${file} does not exist`,
      hits: refs,
    });
  }

  const sweepPath = path.join(root, s.sweepFile);
  if (!existsSync(sweepPath)) {
    rules.push({ name: `${s.sweepFile} exists`, ok: false, reason: 'missing', hits: [] });
    return rules;
  }
  for (const forbidden of ['withPackages', 'python3', '/run/current-system/sw/bin']) {
    const hits = grepFile(root, s.sweepFile, forbidden);
    rules.push({ name: `${s.sweepFile} has no ${forbidden}`, ok: hits.length === 0, reason: count(hits), hits });
  }
  const sweepSource = readFileSync(sweepPath, 'utf8');
  const sweepParse = parseNix(sweepSource);
  const inputs = sweepParse.definitions.filter((d) => d.name === 'runtimeInputs' && d.value);
  const badInputs = inputs.filter((d) => !isOnlyPackage(stripComments(d.value!.text), s.package));
  rules.push({
    name: `${s.sweepFile}: runtimeInputs = [ pkgs.${s.package} ] only`,
    ok: sweepParse.errors.length === 0 && inputs.length > 0 && badInputs.length === 0,
    reason: sweepParse.errors.length
      ? `${s.sweepFile}:${sweepParse.errors[0]!.line}:${sweepParse.errors[0]!.column}: not valid Nix (${sweepParse.errors[0]!.message})`
      : inputs.length === 0
        ? 'no runtimeInputs definition'
        : `runtimeInputs = ${badInputs.map((d) => d.value!.text.replace(/\s+/g, ' ')).join(' / ')}`,
    hits: inputs.map((d) => ({ file: s.sweepFile, line: d.line, text: d.text.replace(/\s+/g, ' ') })),
  });
  return rules;
}

/**
 * "it `exec`s cc-ci-run": the sweep's script text (the `text` or `script` string of the
 * sweep file) read as shell; some command must be `exec` of the wrapper.
 */
async function sweepExecRule(ctx: RunContext): Promise<Rule | undefined> {
  const s = ctx.settings;
  const full = path.join(s.flake, s.sweepFile);
  if (!existsSync(full)) return undefined;
  const parsed = parseNix(readFileSync(full, 'utf8'));
  const scripts = parsed.definitions.filter((d) => (d.name === 'text' || d.name === 'script') && d.value);
  const hits: GrepHit[] = [];
  const unknown: string[] = [];
  for (const d of scripts) {
    const literal = d.value!.text.trim();
    // `'' … ''` (the usual form) is read as Nix reads it; a "…" string or any other expression is not followed.
    const body = literal.startsWith("''") && literal.endsWith("''") && literal.length >= 4 ? shellFromNixString(literal.slice(2, -2)).script : undefined;
    if (body === undefined) {
      unknown.push(`${s.sweepFile}:${d.line}: ${d.name} is not an indented string literal`);
      continue;
    }
    const analysis = await analyzeScript(body, { inheritedPath: 'inherited' });
    const valueLine = d.line + (d.text.slice(0, d.text.indexOf(d.value!.text)).split('\n').length - 1);
    for (const inv of analysis.invocations) {
      if (inv.exec && programName(inv.program) === s.package) hits.push({ file: s.sweepFile, line: valueLine + inv.line - 1, text: inv.text });
    }
  }
  return {
    name: `${s.sweepFile} execs ${s.package}`,
    ok: hits.length > 0,
    reason: unknown.length ? `${unknown.join('; ')}; no \`exec ${s.package} …\` found` : `no \`exec ${s.package} …\` in the sweep's script`,
    hits,
  };
}

/** `/nix/store/<hash>-source/nix/modules/packages.nix` -> `nix/modules/packages.nix`. */
export const repoRelative = (file: string): string => file.replace(/^\/nix\/store\/[0-9a-z]{32}-[^/]+\//, '');

/**
 * The evaluator's word on where pkgs.<tools_attr> comes from (builtins.unsafeGetAttrPos on the
 * final pkgs): the definition that is in effect must be the one in packages_file.
 */
async function effectiveDefinitionRules(ctx: RunContext): Promise<Rule[]> {
  const s = ctx.settings;
  const rules: Rule[] = [];
  for (const host of s.hosts) {
    let pos: { file: string; line: number; column: number } | null;
    try {
      pos = (await ctx.hostFacts(host)).toolsPos;
    } catch {
      continue; // the host does not evaluate: the other checks report it
    }
    const file = pos ? repoRelative(pos.file) : undefined;
    rules.push({
      name: `${host}: the evaluated pkgs.${s.toolsAttr} is defined in ${s.packagesFile}`,
      ok: file !== undefined && samePath(file, s.packagesFile),
      reason: pos ? `the definition in effect is at ${file}:${pos.line}:${pos.column}` : `pkgs.${s.toolsAttr} does not exist on ${host}`,
      hits: pos ? [{ file: file!, line: pos.line, text: `(builtins.unsafeGetAttrPos "${s.toolsAttr}" pkgs) column ${pos.column}` }] : [],
    });
  }
  return rules;
}

export function singleSourceOutcome(rules: Rule[]): CheckOutcome {
  const broken = rules.filter((r) => !r.ok);
  const evidence = rules.flatMap((r) => [
    `${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.ok ? '' : ` — ${r.reason}`}`,
    ...r.hits.map((h) => `     ${formatHit(h)}`),
  ]);
  if (broken.length === 0) return pass(`${rules.length} grep proofs hold`, evidence);
  return fail(broken.map((r) => `${r.name}: ${r.reason}`).join('; '), evidence);
}

export const singleSourceCheck: CheckDefinition = {
  id: 'single-source',
  title: 'The runtime is declared once (grep proofs)',
  async run(ctx) {
    if (!existsSync(path.join(ctx.settings.flake, ctx.settings.nixDir))) {
      return error(`${ctx.settings.nixDir}/ does not exist (PLUGIN_NIX_DIR)`, []);
    }
    const rules = singleSourceRules(ctx);
    const sweepRule = await sweepExecRule(ctx);
    if (sweepRule) rules.push(sweepRule);
    rules.push(...(await effectiveDefinitionRules(ctx)));
    return singleSourceOutcome(rules);
  },
};
