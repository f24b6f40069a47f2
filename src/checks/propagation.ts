// HOW 6: one edit to the shared tool list reaches every consumer. Proven on a
// temporary copy of exactly what Nix reads (the flake's source as Nix fetched it:
// tracked files, submodules included, whether or not the workspace has them
// checked out): a canary derivation is appended to `tools_attr`, the copy is
// evaluated (never built), and each consumer must carry the canary.
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { swBinWinner } from '../buildEnv.js';
import { onCleanup } from '../cleanup.js';
import { systemPackagesExpr, type EvaluatedUnit, type RunContext, type SystemPackage } from '../context.js';
import { CheckInputError } from '../errors.js';
import { attrPath, nixGaveNoAnswer, nixString } from '../nix/client.js';
import { appendToListDefinition } from '../nixSyntax/index.js';
import { parseStorePath, STORE_PATH_RE } from '../parse/storePath.js';
import { analyzeScript, resolvePath } from '../shell/index.js';
import { execStart, parseUnit } from '../systemd/unit.js';
import { describeError, error, fail, pass, perHost, type CheckDefinition } from './types.js';

export interface Canary {
  name: string;
  /** A pure derivation: works with any nixpkgs or none; only evaluated, never built. */
  expr: string;
}

/** The canary's name comes from what is verified (source hash and settings): the same input gives the same report. */
export function makeCanary(seed: string): Canary {
  const id = createHash('sha256').update(seed).digest('hex').slice(0, 12);
  const name = `nixenv-verify-canary-${id}`;
  // Shaped like a real package (pname, version, meta), so a filter on package attributes treats it as one.
  const drv = `builtins.derivation { name = ${nixString(`${name}-1.0`)}; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "exit 1" ]; }`;
  return { name: `${name}-1.0`, expr: `((${drv}) // { pname = ${nixString(name)}; version = "1.0"; meta = { mainProgram = ${nixString(name)}; }; })` };
}

interface CopyFacts {
  canaryPath: string;
  canaryDrv: string;
  wrapper: { drvPath: string; out: string; text: string | null } | null;
  systemPackages: SystemPackage[];
  sweepUnit: EvaluatedUnit | null;
  sweepService: { execStart: string; context: string[] } | null;
}

/** Only what the three consumers need: no toplevel, no walk over every service. */
export function copyFactsExpr(ctx: Pick<RunContext, 'settings'>, canary: Canary): string {
  const s = ctx.settings;
  const sweep = nixString(`${s.sweep}.service`);
  return `h: let
  cfg = h.config;
  pkg = h.pkgs.${nixString(s.package)} or null;
  canary = ${canary.expr};
  units = cfg.systemd.units or null;
  svcs = cfg.systemd.services or { };
  ctxOf = t: builtins.attrNames (builtins.getContext t);
  # Names for every system package; store paths (which force a package's derivation) only for those that
  # may provide bin/<package>: HOW 6 needs no more, and on real NixOS the rest is most of the evaluation.
  wanted = ${nixString(s.package)};
  mayProvide = p: (p.pname or null) == wanted || (p.meta.mainProgram or null) == wanted || (builtins.parseDrvName (p.name or "")).name == wanted;
in {
  canaryPath = canary.outPath;
  canaryDrv = canary.drvPath;
  wrapper = if pkg == null then null else { drvPath = pkg.drvPath; out = pkg.outPath; text = if builtins.isString (pkg.text or null) then pkg.text else null; };
  systemPackages = ${systemPackagesExpr('cfg', 'mayProvide')};
  sweepUnit = if units != null && units ? ${sweep} && builtins.isString (units.${sweep}.text or null) then { text = units.${sweep}.text; context = ctxOf units.${sweep}.text; } else null;
  sweepService = if units == null && svcs ? ${nixString(s.sweep)} then let x = toString (svcs.${nixString(s.sweep)}.serviceConfig.ExecStart or "") + (svcs.${nixString(s.sweep)}.script or ""); in { execStart = x; context = ctxOf x; } else null;
}`;
}

/** Copies a store path (read-only) into a temp dir removed on every way out, writable so one file can be edited. */
export function temporaryCopy(src: string): { dir: string; remove: () => void } {
  const parent = mkdtempSync(path.join(os.tmpdir(), 'nixenv-verify-propagation-'));
  const remove = onCleanup(() => rmSync(parent, { recursive: true, force: true }));
  const dir = path.join(parent, 'source');
  try {
    cpSync(src, dir, { recursive: true, verbatimSymlinks: true });
    makeWritable(dir);
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, remove };
}

function makeWritable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    const st = lstatSync(full);
    if (st.isSymbolicLink()) continue;
    if (st.isDirectory()) makeWritable(full);
    else chmodSync(full, st.mode & 0o111 ? 0o755 : 0o644);
  }
}

/** Does the PATH in force where the wrapper finally runs its program hold `dir`? */
export async function finalPathHas(script: string, dir: string): Promise<boolean | undefined> {
  const analysis = await analyzeScript(script, { inheritedPath: 'inherited' });
  const last = [...analysis.invocations].reverse().find((i) => i.exec && !i.conditional) ?? analysis.invocations[analysis.invocations.length - 1];
  if (!last) return undefined;
  const p = resolvePath(last.path, undefined);
  if ('unknown' in p) return undefined;
  return p.entries.some((e) => 'dir' in e && (e.dir === dir || e.dir.startsWith(`${dir}/`)));
}

export const propagationCheck: CheckDefinition = {
  id: 'propagation',
  title: 'One edit to the shared tool list reaches every consumer',
  async run(ctx) {
    const s = ctx.settings;
    const source = await ctx.nix.flakeSource();
    const canary = makeCanary(JSON.stringify([source.narHash || source.path, s.package, s.toolsAttr, s.packagesFile, s.hosts, s.sweep]));
    const copy = temporaryCopy(source.path);
    try {
      const file = path.join(copy.dir, s.packagesFile);
      let original: string;
      try {
        original = readFileSync(file, 'utf8');
      } catch {
        throw new CheckInputError(`${s.packagesFile} is not part of the flake source Nix sees (${source.path}) (PLUGIN_PACKAGES_FILE)`);
      }
      const edited = appendToListDefinition(original, s.toolsAttr, canary.expr);
      if ('error' in edited) throw new CheckInputError(`${s.packagesFile}: ${edited.error} (PLUGIN_TOOLS_ATTR)`);
      writeFileSync(file, edited.text);
      const nix = await ctx.nix.withFlakeDir(copy.dir);
      const evidence = [
        `copied the flake source Nix sees (${source.path}) and appended canary ${canary.name} to ${s.toolsAttr} at ${s.packagesFile}:${edited.definition.line} (nothing is built)`,
      ];
      const problems: string[] = [];
      const results = await perHost(s.hosts, async (host) => {
        const facts = await nix.evalJson<CopyFacts>(attrPath('nixosConfigurations', host), copyFactsExpr(ctx, canary));
        const wrapperText = facts.wrapper ? (facts.wrapper.text ?? (await nix.derivationEnv(facts.wrapper.drvPath)).text ?? '') : undefined;
        // The sweep consumer: the derivations its unit's ExecStart names (the program, a `bash -c` script's
        // store paths), and everything they are built from.
        const unitText = facts.sweepUnit?.text;
        const command = unitText ? (execStart(parseUnit(unitText)).pop()?.text ?? '') : (facts.sweepService?.execStart ?? '');
        const context = facts.sweepUnit?.context ?? facts.sweepService?.context ?? [];
        const named = [...command.matchAll(STORE_PATH_RE)].map((m) => parseStorePath(m[0])?.name).filter((n): n is string => Boolean(n));
        const drvs = context.filter((d) => named.some((n) => parseStorePath(d)?.name === `${n}.drv`));
        const drv = drvs.join(', ') || undefined;
        const closures = await Promise.all(drvs.map((d) => nix.drvClosure(d)));
        const sweepClosure = drvs.length ? closures.flat() : undefined;
        return { facts, wrapperText, sweepClosure, sweepDrv: drv };
      });
      let noAnswer = false;
      for (const r of results) {
        if (!r.value) {
          if (nixGaveNoAnswer(r.error)) noAnswer = true;
          const lines = describeError(r.host, r.error);
          problems.push(`${r.host}: the edited copy does not evaluate`);
          evidence.push(...lines);
          continue;
        }
        const { facts, wrapperText, sweepClosure, sweepDrv } = r.value;
        const onWrapperPath = wrapperText === undefined ? undefined : await finalPathHas(wrapperText, facts.canaryPath);
        const winner = swBinWinner(facts.systemPackages, s.package)?.winner;
        const winnerOut = winner?.installed[0] ? parseStorePath(winner.installed[0])?.root : undefined;
        const consumers: [string, boolean | undefined, string][] = [
          [`${s.package} wrapper PATH (Drone + sweep)`, onWrapperPath, facts.wrapper?.out ?? `no pkgs.${s.package}`],
          [`${s.sweep} (what its unit starts, and its build inputs)`, sweepClosure === undefined ? undefined : sweepClosure.includes(facts.canaryDrv), sweepDrv ?? `no ${s.sweep} unit program found`],
          [
            `${s.package} on the system PATH (what the Drone step runs)`,
            winnerOut === undefined ? undefined : winnerOut === facts.wrapper?.out && onWrapperPath === true,
            winner ? `sw/bin/${s.package} from ${winner.name}` : `no ${s.package} in systemPackages`,
          ],
          ['environment.systemPackages', facts.systemPackages.some((p) => p.name === canary.name), 'evaluated list'],
        ];
        for (const [consumer, got, where] of consumers) {
          evidence.push(`${r.host}: ${consumer}: ${got === true ? 'has the canary' : got === false ? 'MISSING the canary' : 'cannot be checked'} (${where})`);
          if (got !== true) problems.push(`${r.host}: ${consumer} ${got === false ? 'did not get the canary' : 'cannot be checked'}`);
        }
      }
      // nix gave no answer (timeout, crash, unreadable output): that is not a verdict on the repository.
    if (noAnswer) return error(problems.join('; '), evidence);
    if (problems.length) return fail(problems.join('; '), evidence);
      return pass(`canary reached the wrapper, the sweep, the system PATH and systemPackages on ${s.hosts.length} hosts`, evidence);
    } finally {
      copy.remove();
    }
  },
};
