// HOW 2: the grep proofs, with `grep -rn` semantics over the search dir; the
// definitions, counted with a Nix parser; each consumer module's own rules.
import { existsSync, statSync } from 'node:fs';
import { readBoundedText } from '../bounded.js';
import path from 'node:path';
import type { RunContext } from '../context.js';
import { formatHit, grepFile, grepRecursive, listFiles, type GrepHit } from '../parse/nixText.js';
import { parseNix, stripComments, type Definition } from '../nixSyntax/index.js';
import { programName } from '../resolve.js';
import { analyzeScript, shellFromNixQuoted, shellFromNixString } from '../shell/index.js';
import { claimSource } from '../claim/claim.js';
import { consumersOf, onHost, type Claim, type GrepProof, type ServiceConsumer } from '../claim/types.js';
import { execStart } from '../systemd/unit.js';
import { realpath } from '../storeFs.js';
import { error, fail, pass, type CheckDefinition, type CheckOutcome } from './types.js';
import { moduleOptionRules, withModuleOptions } from './moduleOptionConsumer.js';

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
  const items = m[2]
    .trim()
    .split(/\s+/)
    .filter((i) => i !== '');
  if (items.length !== 1) return false;
  const name = items[0].replace(/^pkgs\./, '').replace(/^"(.*)"$/, '$1');
  return name === pkg && (items[0].startsWith('pkgs.') || m[1] !== undefined);
}

/** Every definition in the .nix files under dir, with repository-relative files, and the files that do not parse. */
export function nixDefinitions(
  root: string,
  dir: string,
): {
  definitions: (Definition & { file: string })[];
  errors: { file: string; line: number; column: number; message: string }[];
} {
  const definitions: (Definition & { file: string })[] = [];
  const errors: { file: string; line: number; column: number; message: string }[] = [];
  const base = path.join(root, dir);
  if (!existsSync(base)) return { definitions, errors };
  for (const full of listFiles(base)) {
    if (!full.endsWith('.nix')) continue;
    const file = path.relative(root, full).split(path.sep).join('/');
    const text = readBoundedText(full, path.relative(root, full));
    const parsed = parseNix(text);
    for (const e of parsed.errors) errors.push({ file, ...e });
    // `inherit name;` re-exports a binding already in scope (counted where it is bound); function
    // arguments bind a caller's value. Neither defines the thing again.
    for (const d of parsed.definitions)
      if (d.kind !== 'formal' && d.kind !== 'argument' && d.kind !== 'inherit') definitions.push({ ...d, file });
  }
  return { definitions, errors };
}

const quoted = (pattern: string): string => (/\s/.test(pattern) ? JSON.stringify(pattern) : pattern);
const plural = (n: number): string => `${n} hit${n === 1 ? '' : 's'}`;

/** One grep proof of the claim, `grep -rn` over a directory (or one file), with its expected count and relations. */
export function grepProofRule(
  root: string,
  proof: GrepProof,
  claim: Pick<Claim, 'searchDir' | 'shared' | 'proofs'>,
  hitsOf: (p: GrepProof) => GrepHit[],
): Rule {
  const where = proof.in ?? claim.searchDir;
  const full = path.join(root, where);
  const isDirectory = existsSync(full) && statSync(full).isDirectory();
  const shown = `grep -rn ${quoted(proof.pattern)} ${isDirectory ? `${where.replace(/\/$/, '')}/` : where}`;
  const expected =
    proof.count !== undefined ? `exactly ${plural(proof.count)}` : `at least ${plural(proof.atLeast ?? 1)}`;
  const file = proof.inSharedFile ? claim.shared.file : proof.allIn;
  const other = proof.sameLineAs !== undefined ? claim.proofs.find((p) => p.id === proof.sameLineAs) : undefined;
  const name = `${shown} → ${expected}${file ? `, in ${file}` : ''}${other ? `, on the ${other.pattern} line` : ''}`;
  if (!existsSync(full)) return { name, ok: false, reason: `${where} does not exist`, hits: [] };
  const hits = hitsOf(proof);
  const countOk = proof.count !== undefined ? hits.length === proof.count : hits.length >= (proof.atLeast ?? 1);
  if (!countOk) return { name, ok: false, reason: plural(hits.length), hits };
  const elsewhere = file ? hits.filter((h) => !samePath(h.file, file)) : [];
  if (elsewhere.length)
    return {
      name,
      ok: false,
      reason:
        hits.length === 1
          ? `the hit is not in ${file}`
          : `hits outside ${file}: ${elsewhere.map((h) => `${h.file}:${h.line}`).join(', ')}`,
      hits,
    };
  if (other) {
    const lines = hitsOf(other);
    const off = hits.filter((h) => !lines.some((l) => l.file === h.file && l.line === h.line));
    if (off.length)
      return {
        name,
        ok: false,
        reason:
          hits.length === 1
            ? `the hit is not on the ${other.pattern} line`
            : `hits not on a ${other.pattern} line: ${off.map((h) => `${h.file}:${h.line}`).join(', ')}`,
        hits,
      };
  }
  return { name, ok: true, hits };
}

export function singleSourceRules(ctx: Pick<RunContext, 'settings' | 'claim' | 'hostConfigFile'>): Rule[] {
  const root = ctx.settings.flake;
  const claim = ctx.claim;
  const { shared, searchDir } = claim;
  const rules: Rule[] = [];

  // The grep proofs, as the claim states them.
  const hitsOf = (p: GrepProof): GrepHit[] => {
    const where = p.in ?? searchDir;
    const full = path.join(root, where);
    if (!existsSync(full)) return [];
    return statSync(full).isDirectory() ? grepRecursive(root, where, p.pattern) : grepFile(root, where, p.pattern);
  };
  for (const proof of claim.proofs) rules.push(grepProofRule(root, proof, claim, hitsOf));

  // Definitions as Nix reads them (`name =`, `"name" =`, `inherit (x) name;`, `a.name =`, nested sets), found with a
  // Nix
  // parser in every .nix file of the repository: "declared once" holds for the repository, not only for search_dir.
  // A file that does not parse blocks the count inside search_dir; outside it (a template, say) it is named.
  const all = nixDefinitions(root, '.');
  const inSearchDir = (file: string): boolean =>
    searchDir === '.' || file === searchDir || file.startsWith(`${searchDir.replace(/\/$/, '')}/`);
  const defs = { definitions: all.definitions, errors: all.errors.filter((e) => inSearchDir(e.file)) };
  const unparsedElsewhere = all.errors.filter((e) => !inSearchDir(e.file));
  for (const attr of [shared.envAttr, shared.toolsAttr].filter((a): a is string => a !== undefined)) {
    const found = defs.definitions.filter((d) => d.name === attr || d.attrPath.includes(attr));
    const hits = found.map((d) => ({
      file: d.file,
      line: d.line,
      text: `${d.kind === 'binding' ? '' : `(${d.kind}) `}${d.text.split('\n')[0].trim()}`,
    }));
    rules.push({
      name: `${attr} defined exactly once, in ${shared.file}`,
      ok: defs.errors.length === 0 && found.length === 1 && samePath(found[0].file, shared.file),
      reason: defs.errors.length
        ? `${defs.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}`).join('; ')}: the verifier cannot count definitions in a file it cannot parse`
        : found.length === 1
          ? `defined in ${found[0].file}`
          : `${found.length} definitions`,
      hits: [
        ...hits,
        ...unparsedElsewhere.map((e) => ({
          file: e.file,
          line: e.line,
          text: `(not counted: not valid Nix, outside ${searchDir}) ${e.message}`,
        })),
      ],
    });
  }

  // The system-packages consumer: each host's config refers to the tool list (in code, not in a comment).
  const packagesConsumer = consumersOf(claim, 'system-packages').find((c) => c.configReferencesTools);
  if (packagesConsumer) {
    const toolDefs = defs.definitions.filter(
      (d) => d.name === shared.toolsAttr || d.attrPath.includes(shared.toolsAttr),
    );
    const isDefLine = (h: GrepHit): boolean => toolDefs.some((d) => d.file === h.file && d.line === h.line);
    // On its `hosts:` only (default every host).
    for (const host of ctx.settings.hosts.filter((h) => onHost(packagesConsumer, h))) {
      const file = ctx.hostConfigFile(host);
      const code = existsSync(path.join(root, file))
        ? stripComments(readBoundedText(path.join(root, file), file)).split('\n')
        : [];
      const refs = code.length
        ? grepFile(root, file, shared.toolsAttr).filter(
            (h) => !isDefLine(h) && (code[h.line - 1] ?? '').includes(shared.toolsAttr),
          )
        : [];
      rules.push({
        name: `${file} references ${shared.toolsAttr}`,
        ok: refs.length > 0,
        reason: existsSync(path.join(root, file)) ? `no reference in ${file}` : `${file} does not exist`,
        hits: refs,
      });
    }
  }

  // Each consumer's module: it exists, holds none of its forbidden texts, and (a service) takes only the shared
  // package.
  for (const consumer of claim.consumers) {
    if (!('module' in consumer) || consumer.module === undefined) continue;
    const module = consumer.module;
    const modulePath = path.join(root, module);
    if (!existsSync(modulePath)) {
      rules.push({ name: `${module} exists`, ok: false, reason: 'missing', hits: [] });
      continue;
    }
    for (const forbidden of consumer.moduleMustNotContain) {
      const hits = grepFile(root, module, forbidden);
      rules.push({ name: `${module} has no ${forbidden}`, ok: hits.length === 0, reason: plural(hits.length), hits });
    }
    if (consumer.kind !== 'systemd-service' || !consumer.moduleRuntimeInputsOnly) continue;
    const parsed = parseNix(readBoundedText(modulePath, module));
    const inputs = parsed.definitions.filter((d) => d.name === 'runtimeInputs' && d.value);
    const badInputs = inputs.filter((d) => !isOnlyPackage(stripComments(d.value!.text), shared.package));
    rules.push({
      name: `${module}: runtimeInputs = [ pkgs.${shared.package} ] only`,
      ok: parsed.errors.length === 0 && inputs.length > 0 && badInputs.length === 0,
      reason: parsed.errors.length
        ? `${module}:${parsed.errors[0].line}:${parsed.errors[0].column}: not valid Nix (${parsed.errors[0].message})`
        : inputs.length === 0
          ? 'no runtimeInputs definition'
          : `runtimeInputs = ${badInputs.map((d) => d.value!.text.replace(/\s+/g, ' ')).join(' / ')}`,
      hits: inputs.map((d) => ({ file: module, line: d.line, text: d.text.replace(/\s+/g, ' ') })),
    });
  }
  return rules;
}

/**
 * "it `exec`s cc-ci-run": a service module's script text (its `text` or `script` string)
 * read as shell; some command must be `exec` of the program.
 */
/**
 * module_execs_program judged with the unit (systemd.service(5) ExecStart=): a service without a script whose main
 * (last) ExecStart= runs the shared package's `bin/<program>` by its store path execs the program as surely as a
 * script's `exec <program>`. Every host that has the unit must run it so; none having it proves nothing.
 */
async function unitExecsProgram(ctx: RunContext, consumer: ServiceConsumer): Promise<GrepHit[]> {
  const program = ctx.claim.shared.program;
  const hits: GrepHit[] = [];
  for (const host of ctx.settings.hosts.filter((h) => onHost(consumer, h))) {
    let facts;
    let unit;
    try {
      facts = await ctx.hostFacts(host);
      unit = await ctx.unit(host, consumer.unit);
    } catch {
      return []; // the host does not evaluate: the other checks report it
    }
    if (!unit) continue;
    const main = execStart(unit.unit).pop();
    const want = facts.package ? `${facts.package.out}/bin/${program}` : undefined;
    const same = (p: string): boolean =>
      p === want || (ctx.settings.mode === 'build' && want !== undefined && realpath(p) === realpath(want));
    if (unit.inlineScript || !main || !want || !same(main.program)) return [];
    hits.push({
      file: main.file ?? unit.source,
      line: main.line,
      text: `${host}: ExecStart=${[main.program, ...main.args].join(' ')} (the unit runs ${want})`,
    });
  }
  return hits;
}

async function execsProgramRule(
  ctx: RunContext,
  module: string,
  allowAfter: boolean,
  consumer?: ServiceConsumer,
): Promise<Rule | undefined> {
  const program = ctx.claim.shared.program;
  const full = path.join(ctx.settings.flake, module);
  if (!existsSync(full)) return undefined;
  const parsed = parseNix(readBoundedText(full, module));
  const scripts = parsed.definitions.filter((d) => (d.name === 'text' || d.name === 'script') && d.value);
  const hits: GrepHit[] = [];
  const unknown: string[] = [];
  for (const d of scripts) {
    const literal = d.value!.text.trim();
    // A string literal (`'' … ''` or `"…"`) is read as Nix reads it; any other expression is not followed.
    const body =
      literal.startsWith("''") && literal.endsWith("''") && literal.length >= 4
        ? shellFromNixString(literal.slice(2, -2)).script
        : /^"(?:[^"\\]|\\.)*"$/s.test(literal)
          ? shellFromNixQuoted(literal.slice(1, -1)).script
          : undefined;
    if (body === undefined) {
      unknown.push(`${module}:${d.line}: ${d.name} is not a string literal`);
      continue;
    }
    const analysis = await analyzeScript(body, { inheritedPath: 'inherited' });
    const valueLine = d.line + (d.text.slice(0, d.text.indexOf(d.value!.text)).split('\n').length - 1);
    for (const inv of analysis.invocations) {
      // With allow_after the program may be run without exec (what runs after it is entrypoint-parity's to judge).
      if ((inv.exec || (allowAfter && !inv.conditional)) && programName(inv.program) === program)
        hits.push({ file: module, line: valueLine + inv.line - 1, text: inv.text });
    }
  }
  if (hits.length === 0 && consumer) hits.push(...(await unitExecsProgram(ctx, consumer)));
  const verb = allowAfter ? 'runs' : 'execs';
  return {
    name: `${module} ${verb} ${program}${allowAfter ? ' (allow_after: exec not required)' : ''}`,
    ok: hits.length > 0,
    reason: unknown.length
      ? `${unknown.join('; ')}; no \`${allowAfter ? '' : 'exec '}${program} …\` found`
      : `no \`${allowAfter ? '' : 'exec '}${program} …\` in the service's script`,
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
  const { toolsAttr, file: sharedFile } = ctx.claim.shared;
  const rules: Rule[] = [];
  for (const host of ctx.settings.hosts) {
    let pos: { file: string; line: number; column: number } | null;
    try {
      pos = (await ctx.hostFacts(host)).toolsPos;
    } catch {
      continue; // the host does not evaluate: the other checks report it
    }
    const file = pos ? repoRelative(pos.file) : undefined;
    rules.push({
      name: `${host}: the evaluated pkgs.${toolsAttr} is defined in ${sharedFile}`,
      ok: file !== undefined && samePath(file, sharedFile),
      reason: pos
        ? `the definition in effect is at ${file}:${pos.line}:${pos.column}`
        : `pkgs.${toolsAttr} does not exist on ${host}`,
      hits: pos
        ? [
            {
              file: file!,
              line: pos.line,
              text: `(builtins.unsafeGetAttrPos "${toolsAttr}" pkgs) column ${pos.column}`,
            },
          ]
        : [],
    });
  }
  return rules;
}

export function singleSourceOutcome(all: Rule[]): CheckOutcome {
  // The same rule asked twice (a module shared by the consumers one `{host}` unit expands to) is shown once.
  const seen = new Set<string>();
  const rules = all.filter((r) => {
    const key = JSON.stringify([r.name, r.ok, r.reason, r.hits]);
    return !seen.has(key) && seen.add(key);
  });
  const broken = rules.filter((r) => !r.ok);
  const evidence = rules.flatMap((r) => [
    `${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.ok ? '' : ` — ${r.reason}`}`,
    ...r.hits.map((h) => `     ${formatHit(h)}`),
  ]);
  if (broken.length === 0)
    return pass(`${rules.length} single-source rules hold (grep proofs, modules, definitions)`, evidence);
  return fail(broken.map((r) => `${r.name}: ${r.reason}`).join('; '), evidence);
}

export const singleSourceCheck: CheckDefinition = {
  id: 'single-source',
  title: 'The runtime is declared once (grep proofs)',
  async run(ctx) {
    const dir = ctx.claim.searchDir;
    if (!existsSync(path.join(ctx.settings.flake, dir))) {
      return error(`${dir}/ does not exist (${claimSource(ctx.claim, 'nix_dir', 'search_dir')})`, []);
    }
    const rules = singleSourceRules(ctx);
    for (const c of consumersOf(ctx.claim, 'systemd-service')) {
      const rule =
        c.moduleExecsProgram && c.module !== undefined
          ? await execsProgramRule(ctx, c.module, c.allowAfter !== undefined, c)
          : undefined;
      if (rule) rules.push(rule);
    }
    rules.push(...(await effectiveDefinitionRules(ctx)));
    // module-option consumers: the option's evaluated value is the shared list (src/checks/moduleOptionConsumer.ts).
    const optionRules = await moduleOptionRules(ctx);
    return withModuleOptions(
      singleSourceOutcome([...rules, ...optionRules]),
      optionRules,
      rules.filter((r) => !r.ok).length,
    );
  },
};
