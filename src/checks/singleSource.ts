// HOW 2: the grep proofs, with `grep -rn` semantics over nix_dir.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunContext } from '../context.js';
import { findAssignments, formatHit, grepFile, grepRecursive, stripNixComments, type GrepHit } from '../parse/nixText.js';
import { invocationsOf } from '../parse/shellScript.js';
import { error, fail, pass, type CheckDefinition, type CheckOutcome } from './types.js';

interface Rule {
  name: string;
  ok: boolean;
  /** Why, when not ok. */
  reason?: string;
  hits: GrepHit[];
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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

  const pyenvDefs = grepRecursive(root, s.nixDir, new RegExp(`(^|[^A-Za-z0-9_'-])${escapeRe(s.pyenvAttr)}\\s*=(?!=)`));
  rules.push({
    name: `${s.pyenvAttr} defined exactly once, in ${s.packagesFile}`,
    ok: pyenvDefs.length === 1 && samePath(pyenvDefs[0]!.file, s.packagesFile),
    reason: pyenvDefs.length === 1 ? `defined in ${pyenvDefs[0]!.file}` : `${pyenvDefs.length} definitions`,
    hits: pyenvDefs,
  });

  const tools = grepRecursive(root, s.nixDir, s.toolsAttr);
  const defRe = new RegExp(`(^|[^A-Za-z0-9_'-])${escapeRe(s.toolsAttr)}\\s*=(?!=)`);
  const defs = tools.filter((h) => defRe.test(stripNixComments(h.text)));
  rules.push({
    name: `${s.toolsAttr} defined once, in ${s.packagesFile}`,
    ok: defs.length === 1 && samePath(defs[0]!.file, s.packagesFile),
    reason: defs.length === 1 ? `defined in ${defs[0]!.file}` : `${defs.length} definitions`,
    hits: tools,
  });
  for (const host of s.hosts) {
    const file = ctx.hostConfigFile(host);
    const refs = tools.filter((h) => samePath(h.file, file) && !defRe.test(h.text) && stripNixComments(h.text).includes(s.toolsAttr));
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
  const sweepText = stripNixComments(readFileSync(sweepPath, 'utf8'));
  const inputs = findAssignments(sweepText, 'runtimeInputs');
  const badInputs = inputs.filter((a) => !isOnlyPackage(a.value, s.package));
  rules.push({
    name: `${s.sweepFile}: runtimeInputs = [ pkgs.${s.package} ] only`,
    ok: inputs.length > 0 && badInputs.length === 0,
    reason: inputs.length === 0 ? 'no runtimeInputs assignment' : `runtimeInputs = ${badInputs.map((a) => a.value.replace(/\s+/g, ' ')).join(' / ')}`,
    hits: inputs.map((a) => ({ file: s.sweepFile, line: a.line, text: a.statement.replace(/\s+/g, ' ') })),
  });
  const execs = invocationsOf(sweepText, s.package).filter((i) => i.viaExec);
  rules.push({
    name: `${s.sweepFile} execs ${s.package}`,
    ok: execs.length > 0,
    reason: `no \`exec ${s.package} …\` line`,
    hits: execs.map((e) => ({ file: s.sweepFile, line: e.lineNo, text: e.text })),
  });
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
    return singleSourceOutcome(singleSourceRules(ctx));
  },
};
