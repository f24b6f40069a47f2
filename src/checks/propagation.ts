// HOW 6: one edit to the shared tool list reaches every consumer. Proven on a
// temporary copy: a canary derivation is added to `tools_attr`, the copy is
// evaluated (never built), and each consumer must carry the canary.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onCleanup } from '../cleanup.js';
import { sweepBindings, type RunContext } from '../context.js';
import { CheckInputError } from '../errors.js';
import { attrPath, nixString } from '../nix/client.js';
import { findAssignments } from '../parse/nixText.js';
import { describeError, fail, pass, perHost, type CheckDefinition } from './types.js';

export interface Canary {
  name: string;
  /** A pure derivation: works with any nixpkgs or none; only evaluated, never built. */
  expr: string;
}

export function makeCanary(seed = randomBytes(4).toString('hex')): Canary {
  const name = `nixenv-verify-canary-${seed}`;
  return { name, expr: `(builtins.derivation { name = ${nixString(name)}; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "exit 1" ]; })` };
}

/**
 * Adds the canary to the list `attr` is defined as, with one text edit that
 * works for any list expression: `attr = (<value>) ++ [ canary ];`.
 */
export function insertCanary(text: string, attr: string, canary: Canary): { text: string; line: number } | undefined {
  const def = findAssignments(text, attr)[0];
  if (!def) return undefined;
  const value = text.slice(def.valueStart, def.valueEnd);
  return { text: `${text.slice(0, def.valueStart)}(${value}) ++ [ ${canary.expr} ]${text.slice(def.valueEnd)}`, line: def.line };
}

interface CopyFacts {
  canaryPath: string;
  canaryDrv: string;
  wrapper: { drvPath: string; out: string; text: string | null } | null;
  inSystemPackages: boolean;
  systemWrappers: string[];
  sweepDrvs: string[];
}

export function copyFactsExpr(ctx: Pick<RunContext, 'settings'>, canary: Canary): string {
  const s = ctx.settings;
  return `h: let
  cfg = h.config;
  pkg = h.pkgs.${nixString(s.package)} or null;
  canary = ${canary.expr};
  nameOf = p: p.pname or (builtins.parseDrvName (p.name or "")).name;
  sysPkgs = cfg.environment.systemPackages or [ ];
  ${sweepBindings(s.sweep)}
in {
  canaryPath = canary.outPath;
  canaryDrv = canary.drvPath;
  wrapper = if pkg == null then null else { drvPath = pkg.drvPath; out = pkg.outPath; text = pkg.text or null; };
  inSystemPackages = builtins.any (p: (p.name or "") == canary.name) sysPkgs;
  systemWrappers = map (p: p.outPath) (builtins.filter (p: nameOf p == ${nixString(s.package)}) sysPkgs);
  sweepDrvs = builtins.filter isSweep (builtins.concatMap ctxOf (builtins.attrValues (cfg.systemd.services or { })));
}`;
}

/** Copies the repository (with .git and submodule checkouts) to a temp dir removed on every way out. */
export function temporaryCopy(src: string): { dir: string; remove: () => void } {
  const parent = mkdtempSync(path.join(os.tmpdir(), 'nixenv-verify-propagation-'));
  const remove = onCleanup(() => rmSync(parent, { recursive: true, force: true }));
  const dir = path.join(parent, path.basename(src) || 'repo');
  try {
    cpSync(src, dir, { recursive: true, verbatimSymlinks: true });
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, remove };
}

export const propagationCheck: CheckDefinition = {
  id: 'propagation',
  title: 'One edit to the shared tool list reaches every consumer',
  async run(ctx) {
    const s = ctx.settings;
    const original = ctx.readRepoFile(s.packagesFile);
    const canary = makeCanary();
    const edited = insertCanary(original, s.toolsAttr, canary);
    if (!edited) {
      throw new CheckInputError(`no \`${s.toolsAttr} = …;\` definition in ${s.packagesFile} to add the canary to (PLUGIN_TOOLS_ATTR, PLUGIN_PACKAGES_FILE)`);
    }
    const copy = temporaryCopy(s.flake);
    try {
      writeFileSync(path.join(copy.dir, s.packagesFile), edited.text);
      const nix = await ctx.nix.withFlakeDir(copy.dir);
      const evidence = [`canary ${canary.name} added to ${s.toolsAttr} at ${s.packagesFile}:${edited.line} (in a temporary copy; nothing is built)`];
      const problems: string[] = [];
      const results = await perHost(s.hosts, async (host) => {
        const facts = await nix.evalJson<CopyFacts>(attrPath('nixosConfigurations', host), copyFactsExpr(ctx, canary));
        const wrapperText = facts.wrapper ? (facts.wrapper.text ?? (await nix.derivationEnv(facts.wrapper.drvPath)).text ?? '') : undefined;
        const sweepClosure = facts.sweepDrvs[0] ? await nix.drvClosure(facts.sweepDrvs[0]) : undefined;
        return { facts, wrapperText, sweepClosure };
      });
      for (const r of results) {
        if (!r.value) {
          const lines = describeError(r.host, r.error);
          problems.push(`${r.host}: the edited copy does not evaluate`);
          evidence.push(...lines);
          continue;
        }
        const { facts, wrapperText, sweepClosure } = r.value;
        const consumers: [string, boolean | undefined, string][] = [
          [`${s.package} wrapper PATH (Drone + sweep)`, wrapperText === undefined ? undefined : wrapperText.includes(facts.canaryPath), facts.wrapper?.out ?? `no pkgs.${s.package}`],
          [`${s.sweep} (its build inputs)`, sweepClosure === undefined ? undefined : sweepClosure.includes(facts.canaryDrv), facts.sweepDrvs[0] ?? 'no sweep service found'],
          [`${s.package} on the system PATH (what the Drone step runs)`, facts.systemWrappers.length === 0 ? undefined : facts.systemWrappers.every((p) => p === facts.wrapper?.out) && Boolean(wrapperText?.includes(facts.canaryPath)), facts.systemWrappers.join(', ') || `no ${s.package} in systemPackages`],
          ['environment.systemPackages', facts.inSystemPackages, 'evaluated list'],
        ];
        for (const [consumer, got, where] of consumers) {
          evidence.push(`${r.host}: ${consumer}: ${got === true ? 'has the canary' : got === false ? 'MISSING the canary' : 'cannot be checked'} (${where})`);
          if (got !== true) problems.push(`${r.host}: ${consumer} ${got === false ? 'did not get the canary' : 'cannot be checked'}`);
        }
      }
      if (problems.length) return fail(problems.join('; '), evidence);
      return pass(`canary reached the wrapper, the sweep, the system PATH and systemPackages on ${s.hosts.length} hosts`, evidence);
    } finally {
      copy.remove();
    }
  },
};
