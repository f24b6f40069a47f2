// HOW 6: one edit to the shared tool list reaches every consumer. Proven on a
// temporary copy of exactly what Nix reads (the flake's source as Nix fetched it:
// tracked files, submodules included, whether or not the workspace has them
// checked out): a canary derivation is appended to `tools_attr`, the copy is
// evaluated (never built), and each consumer the claim names must carry the canary.
// The canary is drawn at random for each run (makeCanary) and masked in every output
// (maskCanary), so nothing about it can be predicted and reports stay byte-identical.
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, lstatSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { privateTempDir } from '../tempDir.js';
import path from 'node:path';
import { readBoundedText } from '../bounded.js';
import { swBinWinner } from '../buildEnv.js';
import { onCleanup } from '../cleanup.js';
import {
  consumerUnits,
  nixList,
  NIXOS_SERVICE_OF,
  systemPackagesExpr,
  type EvaluatedUnit,
  type ServiceDefinition,
  type SystemPackage,
} from '../context.js';
import { CheckInputError } from '../errors.js';
import { attrPath, nixGaveNoAnswer, nixString, type NixClient } from '../nix/client.js';
import { groupedHostEval } from '../nix/hostGroups.js';
import { effectiveConcurrency } from '../settings.js';
import { appendToListDefinition } from '../nixSyntax/index.js';
import { parseStorePath, STORE_PATH_RE } from '../parse/storePath.js';
import { programName, splitPath } from '../resolve.js';
import { claimSource } from '../claim/claim.js';
import {
  consumersOf,
  consumersOn,
  onHost,
  type Claim,
  type JobShellPlace,
  type RunnerServiceConsumer,
} from '../claim/types.js';
import { configValue, shellWords } from '../systemd/jobShell.js';
import { environmentAssignments, execStart, parseUnit } from '../systemd/unit.js';
import { describeError, error, fail, pass, perHost, type CheckDefinition } from './types.js';
import { DerivationFiles, followWrapper } from '../wrappers/index.js';
import { devShellPath } from '../devShell.js';
import { shellFacts } from './devShellConsumer.js';
import { judgedAttr } from '../derivationUse.js';
import {
  copyUnitView,
  moduleOptionReached,
  systemPackagesReached,
  unitPath,
  wrapperCarriesList,
} from './propagationView.js';
import { optionFactsExpr, type OptionAnswer } from '../moduleOption.js';

export interface Canary {
  /** Its derivation name, `<pname>-<version>`, as it appears in evaluated package lists. */
  name: string;
  pname: string;
  version: string;
  /**
   * A pure derivation: works with any nixpkgs or none; only evaluated, never built. Always CANARY_EXPR_LENGTH
   * characters.
   */
  expr: string;
  /** The random words in expr (builder and script names), masked like the name. */
  words: string[];
}

/** Every canary expression has this length (padded), so the source positions after it do not vary from run to run. */
export const CANARY_EXPR_LENGTH = 480;
/** What the outputs show instead of the canary's name, and instead of the hash of a store path that holds it. */
export const CANARY_MASK = '<canary>';
export const CANARY_PATH_MASK = '<with-canary>';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const BASE32 = '0123456789abcdfghijklmnpqrsvwxyz';

/** Random bytes source: crypto's by default; tests may pass a fixed one. */
export type RandomBytes = (n: number) => Buffer;

/**
 * A canary drawn at random for each run (crypto.randomBytes): nothing about its
 * name, version or shape can be predicted from the repository or from this code,
 * so a wrapper cannot let "things shaped like the canary" through while keeping
 * its own list. The name is one to three lowercase words of random lengths, the
 * version one to three random numbers, and the derivation looks like a stdenv
 * package (a store-path builder running a store-path script, pname, version,
 * meta.mainProgram), all of them random. Reports stay byte-identical for the same
 * input because every output masks it (maskCanary), not because it is predictable.
 */
export function makeCanary(random: RandomBytes = randomBytes): Canary {
  const bytes = random(256);
  let at = 0;
  const next = (n: number): number => bytes[at++ % bytes.length] % n;
  const word = (min: number, max: number, alphabet = LETTERS): string =>
    Array.from({ length: min + next(max - min + 1) }, () => alphabet[next(alphabet.length)]).join('');
  // One to three words, at least 8 letters in all: a random word that short could be a word of the evidence.
  const words = [word(4, 9)];
  while (words.length < 3 && (words.join('').length < 8 || next(3) === 0)) words.push(word(4, 9));
  const pname = words.join('-');
  const version = Array.from({ length: 1 + next(3) }, (_, i) => String(i === 0 ? 1 + next(40) : next(100))).join('.');
  const name = `${pname}-${version}`;
  const builder = `/nix/store/${word(32, 32, BASE32)}-${word(3, 8)}-${1 + next(9)}.${next(20)}/bin/${word(2, 6)}`;
  const script = `/nix/store/${word(32, 32, BASE32)}-${word(4, 10)}.sh`;
  const drv = `builtins.derivation { name = ${nixString(name)}; inherit pname version; system = "x86_64-linux"; builder = ${nixString(builder)}; args = [ "-e" ${nixString(script)} ]; }`;
  const body = `(let pname = ${nixString(pname)}; version = ${nixString(version)}; in (${drv}) // { inherit pname version; meta = { mainProgram = ${nixString(pname)}; }; }`;
  if (body.length + 1 > CANARY_EXPR_LENGTH)
    throw new Error('internal: the canary expression is longer than CANARY_EXPR_LENGTH');
  return {
    name,
    pname,
    version,
    expr: `${body}${' '.repeat(CANARY_EXPR_LENGTH - body.length - 1)})`,
    words: [builder, script],
  };
}

const escapeRe = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Text with the canary masked: its expression, its name (and alone its pname, its quoted
 * version, its random builder words) as CANARY_MASK, and the hash of every store path in
 * `withCanary` (paths that hold or depend on it) as CANARY_PATH_MASK.
 */
export function maskCanary(text: string, canary: Canary, withCanary: readonly string[] = []): string {
  let out = text.split(canary.expr.trim()).join(CANARY_MASK);
  for (const p of withCanary) {
    const hash = parseStorePath(p)?.hash;
    if (hash) out = out.split(hash).join(CANARY_PATH_MASK);
  }
  for (const w of [...canary.words, canary.name, canary.pname]) out = out.split(w).join(CANARY_MASK);
  return out.replace(new RegExp(`"${escapeRe(canary.version)}"`, 'g'), `"${CANARY_MASK}"`);
}

interface CopyFacts {
  canaryPath: string;
  canaryDrv: string;
  wrapper: { drvPath: string; out: string; text: string | null } | null;
  systemPackages: SystemPackage[];
  /** The consumers' units by name (evaluated text), or their service definitions when the config has no units. */
  units: Record<string, EvaluatedUnit | null>;
  services: Record<string, ServiceDefinition | null>;
  /** Texts of the /etc files runner job shells are read from (environment.etc by target), by path. */
  etcTexts?: Record<string, string | null>;
}

/** Only what the consumers need: no toplevel, no walk over every service. */
export function copyFactsExpr(claim: Pick<Claim, 'shared' | 'consumers'>, canary: Canary): string {
  // The services' and runner services' units; a Drone step is judged by sw/bin, its runner unit is not evaluated.
  const units = consumerUnits({ consumers: claim.consumers.filter((c) => c.kind !== 'drone-step') });
  const etcFiles = [
    ...new Set(
      claim.consumers.flatMap((c) =>
        c.kind === 'runner-service' && c.jobShell
          ? [c.jobShell, ...(c.jobShell.overriddenBy ?? [])].flatMap((p) =>
              p.from === 'file' ? [p.file.replace(/^\/etc\//, '')] : [],
            )
          : [],
      ),
    ),
  ];
  return `h: let
  cfg = h.config;
  pkg = h.pkgs.${nixString(claim.shared.package)} or null;
  canary = ${canary.expr};
  units = cfg.systemd.units or null;
  svcs = cfg.systemd.services or { };
  ctxOf = t: builtins.attrNames (builtins.getContext t);
  byName = f: names: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  # Names for every system package; store paths (which force a package's derivation) only for those that
  # may provide bin/<program>: HOW 6 needs no more, and on real NixOS the rest is most of the evaluation.
  wanted = ${nixString(claim.shared.program)};
  mayProvide = p: (p.pname or null) == wanted || (p.meta.mainProgram or null) == wanted || (builtins.parseDrvName (p.name or "")).name == wanted;
${NIXOS_SERVICE_OF}
in {
  canaryPath = canary.outPath;
  canaryDrv = canary.drvPath;
  wrapper = if pkg == null then null else { drvPath = pkg.drvPath; out = pkg.outPath; text = if builtins.isString (pkg.text or null) then pkg.text else null; };
  systemPackages = ${systemPackagesExpr('cfg', 'mayProvide')};
  units = byName (n: if units != null && units ? \${n} && builtins.isString (units.\${n}.text or null) then { text = units.\${n}.text; context = ctxOf units.\${n}.text; } else null) ${nixList(units)};
  etcTexts = let etc = cfg.environment.etc or { }; in byName (t: let hits = builtins.filter (n: (etc.\${n}.enable or true) && (etc.\${n}.target or n) == t) (builtins.attrNames etc); in if hits == [ ] then null else etc.\${builtins.head hits}.text or null) ${nixList(etcFiles)};
  services = byName serviceOf ${nixList(units.map((u) => u.replace(/\.service$/, '')))};
}`;
}

/** Copies a store path (read-only) into a temp dir removed on every way out, writable so one file can be edited. */
export function temporaryCopy(src: string): { dir: string; remove: () => void } {
  // Mode 0700, owned by the verifier, under a sticky or private base: no build user can write or replace it.
  const parent = privateTempDir('nixenv-verify-propagation-');
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

/**
 * The derivations a service runs: those its ExecStart names (the program, a `bash -c` script's store
 * paths) and those on the PATH its unit sets (where its script finds programs), with everything they
 * are built from.
 */
async function serviceClosure(
  nix: NixClient,
  facts: CopyFacts,
  unitName: string,
): Promise<{ closure?: string[]; drv?: string }> {
  // The unit as the other checks read it: its systemd.units text, else its service definition as NixOS writes it.
  const view = copyUnitView(facts, unitName);
  const pathValue = unitPath(view);
  const command = view ? `${execStart(view.unit).pop()?.text ?? ''} ${view.inlineScript ?? ''} ${pathValue ?? ''}` : '';
  const context = view?.context ?? [];
  const named = [...command.matchAll(STORE_PATH_RE)]
    .map((m) => parseStorePath(m[0])?.name)
    .filter((n): n is string => Boolean(n));
  const drvs = context.filter((d) => named.some((n) => parseStorePath(d)?.name === `${n}.drv`));
  if (drvs.length === 0) return {};
  const closures = await Promise.all(drvs.map((d) => nix.drvClosure(d)));
  // Listed by name: store order follows hashes, which change with the (random) canary.
  const byName = (a: string, b: string): number =>
    (parseStorePath(a)?.name ?? a).localeCompare(parseStorePath(b)?.name ?? b) || a.localeCompare(b);
  // Shown (and masked as holding the canary when it is reached): the derivations that carry it, else all of them.
  const carrying = drvs.filter((_, i) => closures[i].includes(facts.canaryDrv));
  return { closure: closures.flat(), drv: [...(carrying.length ? carrying : drvs)].sort(byName).join(', ') };
}

/**
 * Which wrapper a runner's jobs find first on the PATH its unit sets: the shared one (carrying the canary), the system
 * profile's, or another.
 */
function runnerFinds(
  facts: CopyFacts,
  unitName: string,
  program: string,
  wrapperHasCanary: boolean | undefined,
): [boolean | undefined, string] {
  const view = copyUnitView(facts, unitName);
  if (view === undefined) return [undefined, `no evaluated unit ${unitName}`];
  const value = unitPath(view);
  if (value === undefined) return [undefined, `${unitName} sets no PATH`];
  for (const dir of splitPath(value)) {
    if (facts.wrapper && dir === `${facts.wrapper.out}/bin`) return [wrapperHasCanary, `PATH of ${unitName}: ${dir}`];
    if (dir === '/run/current-system/sw/bin') {
      const winner = swBinWinner(facts.systemPackages, program)?.winner;
      const out = winner?.installed[0] ? parseStorePath(winner.installed[0])?.root : undefined;
      if (out)
        return [
          out === facts.wrapper?.out && wrapperHasCanary === true,
          `PATH of ${unitName}: sw/bin/${program} from ${winner!.name}`,
        ];
    }
  }
  return [false, `no ${facts.wrapper?.out ?? program}/bin on the PATH of ${unitName}`];
}

/**
 * A runner whose job shell the spec names (src/systemd/jobShell.ts), on the edited copy: the shared wrapper as the
 * shell carries the canary when the wrapper does; bash or sh leave it to the runner's PATH (undefined: the caller
 * asks runnerFinds); anything else cannot be checked.
 */
function jobShellFinds(
  facts: CopyFacts,
  consumer: RunnerServiceConsumer,
  program: string,
  wrapperHasCanary: boolean | undefined,
): [boolean | undefined, string] | undefined {
  const source = consumer.jobShell!;
  const text = facts.units[consumer.unit]?.text;
  const unit = text === undefined ? undefined : parseUnit(text);
  const valueAt = (place: JobShellPlace): string | undefined => {
    let value: string | undefined;
    if (place.from === 'env' && unit)
      value = environmentAssignments(unit)
        .filter((a) => a.name === place.name)
        .pop()?.value;
    else if (place.from === 'arg' && unit) {
      const args = execStart(unit).pop()?.args ?? [];
      for (let i = 0; i < args.length; i++)
        if (args[i] === place.name) value = args[i + 1];
        else if (args[i].startsWith(`${place.name}=`)) value = args[i].slice(place.name.length + 1);
    } else if (place.from === 'file') {
      const etcText = facts.etcTexts?.[place.file.replace(/^\/etc\//, '')];
      const v = typeof etcText === 'string' ? configValue(etcText, place.key) : undefined;
      if (v && 'value' in v) value = v.value;
    }
    return value;
  };
  // The runner's precedence (systemd/jobShell.ts): the places over the spec's first, then its own, then the default.
  let value: string | undefined;
  for (const place of [...(source.overriddenBy ?? []), source]) if ((value = valueAt(place)) !== undefined) break;
  value ??= source.default;
  if (value === undefined) return [undefined, `no job shell found for ${consumer.unit}`];
  const words = shellWords(value);
  if ('unknown' in words) return [undefined, `job shell: ${words.unknown}`];
  const [first] = words.argv;
  if (facts.wrapper && first === `${facts.wrapper.out}/bin/${program}`)
    return [wrapperHasCanary, `job shell of ${consumer.unit}: ${first}`];
  if (first === '/bin/sh' || ['bash', 'sh'].includes(programName(first))) return undefined;
  if (programName(first) === program)
    return first.includes('/')
      ? [false, `job shell of ${consumer.unit}: ${first}, not ${facts.wrapper?.out ?? program}/bin/${program}`]
      : undefined;
  return [undefined, `job shell of ${consumer.unit}: ${first}, neither ${program} nor bash or sh`];
}

export const propagationCheck: CheckDefinition = {
  id: 'propagation',
  title: 'One edit to the shared tool list reaches every consumer',
  async run(ctx) {
    const s = ctx.settings;
    const { package: pkg, program, toolsAttr, file: sharedFile } = ctx.claim.shared;
    const source = await ctx.nix.flakeSource();
    const canary = makeCanary();
    const copy = temporaryCopy(source.path);
    try {
      const file = path.join(copy.dir, sharedFile);
      let original: string;
      try {
        original = readBoundedText(file, sharedFile);
      } catch (e) {
        if (e instanceof CheckInputError) throw e;
        throw new CheckInputError(
          `${sharedFile} is not part of the flake source Nix sees (${source.path}) (${claimSource(ctx.claim, 'packages_file', 'shared.file')})`,
        );
      }
      const edited = appendToListDefinition(original, toolsAttr, canary.expr);
      if ('error' in edited)
        throw new CheckInputError(
          `${sharedFile}: ${edited.error} (${claimSource(ctx.claim, 'tools_attr', 'shared.tools_attr')})`,
        );
      writeFileSync(file, edited.text);
      const nix = await ctx.nix.withFlakeDir(copy.dir);
      const evidence = [
        `copied the flake source Nix sees (${source.path}) and appended canary ${canary.name} to ${toolsAttr} at ${sharedFile}:${edited.definition.line} (nothing is built)`,
      ];
      const problems: string[] = [];
      // Store paths that hold the canary or depend on it: their hashes change from run to run, so outputs mask them.
      const withCanary: string[] = [];
      // The copy's hosts in groups, one evaluation each, as the head's (src/nix/hostGroups.ts).
      const copyExpr = copyFactsExpr(ctx.claim, canary);
      const copyFacts = groupedHostEval<CopyFacts>({
        hosts: s.hosts,
        slots: effectiveConcurrency(s, s.hosts.length),
        perHost: copyExpr,
        evalGroup: (apply) => nix.evalJson<Record<string, CopyFacts | null>>('nixosConfigurations', apply),
        alone: (host) => nix.evalJson<CopyFacts>(attrPath('nixosConfigurations', host), copyExpr),
      });
      const results = await perHost(s.hosts, async (host) => {
        const facts = await copyFacts(host);
        // The wrapper model (src/wrappers) on the edited copy's derivations: the PATH its program finally gets.
        const wrapperRun = facts.wrapper
          ? await followWrapper(
              new DerivationFiles((d) => nix.derivation(d), [facts.wrapper.drvPath]),
              `${facts.wrapper.out}/bin/${program}`,
            )
          : undefined;
        const services = await Promise.all(
          consumersOf(ctx.claim, 'systemd-service')
            .filter((c) => onHost(c, host))
            .map(async (c) => ({
              consumer: c,
              ...(await serviceClosure(nix, facts, c.unit)),
            })),
        );
        // User services: their units in systemd.user.units of the copy (a config without them: its
        // systemd.user.services, as NixOS writes them), judged like a system service's.
        const userConsumers = consumersOf(ctx.claim, 'systemd-user-service').filter((c) => onHost(c, host));
        const user = userConsumers.length
          ? await nix.evalJson<Pick<CopyFacts, 'units' | 'services'>>(
              attrPath('nixosConfigurations', host),
              `h: let
  units = (h.config.systemd.user or { }).units or null;
  svcs = (h.config.systemd.user or { }).services or { };
  ctxOf = t: builtins.attrNames (builtins.getContext t);
  byName = f: names: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
${NIXOS_SERVICE_OF}
in {
  units = byName (n: if units != null && units ? \${n} && builtins.isString (units.\${n}.text or null) then { text = units.\${n}.text; context = ctxOf units.\${n}.text; } else null) ${nixList(userConsumers.map((c) => c.unit))};
  services = byName serviceOf ${nixList(userConsumers.map((c) => c.unit.replace(/\.service$/, '')))};
}`,
            )
          : { units: {}, services: {} };
        const userServices = await Promise.all(
          userConsumers.map(async (c) => ({
            consumer: c,
            ...(await serviceClosure(nix, { ...facts, units: user.units, services: user.services }, c.unit)),
          })),
        );
        // Module options: the option's value on the copy (the same evaluation single-source reads at head).
        const options = await Promise.all(
          consumersOf(ctx.claim, 'module-option')
            .filter((c) => onHost(c, host))
            .map(async (c) => ({
              consumer: c,
              answer: await nix.evalJson<OptionAnswer>(
                attrPath('nixosConfigurations', host),
                optionFactsExpr(c.option, c.value === 'tools' ? toolsAttr : pkg),
              ),
            })),
        );
        return { facts, wrapperRun, services, userServices, options };
      });
      // Dev shells: the PATH `nix develop` gives the copy's shell (src/devShell.ts, its derivation attributes).
      const shells = await Promise.all(
        consumersOf(ctx.claim, 'dev-shell').map(async (c) => {
          try {
            const drv = await nix.evalJson<string | null>(
              c.attr,
              'd: if builtins.isAttrs d && d ? drvPath then d.drvPath else null',
            );
            if (!drv) return { consumer: c, drv, dirs: undefined, why: `${c.attr} is not a derivation` };
            const shell = await nix.derivation(drv);
            const run = await devShellPath(shellFacts('eval', drv, shell, (d) => nix.derivation(d)));
            return run.ok
              ? { consumer: c, drv, dirs: run.dirs }
              : { consumer: c, drv, dirs: undefined, why: `cannot follow: ${run.cannotFollow}` };
          } catch (err) {
            return { consumer: c, drv: null, dirs: undefined, error: describeError(c.name, err) };
          }
        }),
      );
      // Derivation consumers are flake attributes, not host attributes: evaluated once.
      const derivations = await Promise.all(
        consumersOf(ctx.claim, 'derivation').map(async (c) => {
          try {
            // `through:` the derivation judged is the attribute under it (an image's stream): the canary must reach it.
            const drv = await nix.evalJson<string | null>(
              judgedAttr(c),
              'd: if builtins.isAttrs d && d ? drvPath then d.drvPath else null',
            );
            return { consumer: c, drv, closure: drv ? await nix.drvClosure(drv) : undefined };
          } catch (err) {
            return { consumer: c, drv: null, closure: undefined, error: describeError(c.name, err) };
          }
        }),
      );
      let noAnswer = false;
      let canaryDrv: string | undefined;
      const wrapperDrvs: string[] = []; // an image (image: true) must get the canary through the edited wrapper
      const reached: string[] = [];
      for (const r of results) {
        if (!r.value) {
          if (nixGaveNoAnswer(r.error)) noAnswer = true;
          const lines = describeError(r.host, r.error);
          problems.push(`${r.host}: the edited copy does not evaluate`);
          evidence.push(...lines);
          continue;
        }
        const { facts, wrapperRun, services, userServices, options } = r.value;
        canaryDrv = facts.canaryDrv;
        if (facts.wrapper) wrapperDrvs.push(facts.wrapper.drvPath);
        withCanary.push(facts.canaryPath, facts.canaryDrv);
        const onWrapperPath = wrapperRun?.ok
          ? wrapperRun.entries.some((e) => e === facts.canaryPath || e.startsWith(`${facts.canaryPath}/`))
          : undefined;
        // A wrapper built from the edited list depends on the canary (its hash changes every run) even when its
        // final PATH lacks it: masked like every path that holds it. A PATH holding the canary's store path is built
        // from it (its hash differs from the head's); only otherwise is the head's wrapper asked for, which costs a
        // head evaluation when no other check has made one.
        const headOut = onWrapperPath
          ? undefined
          : await ctx.hostFacts(r.host).then(
              (f) => f.package?.out,
              () => undefined,
            );
        if (facts.wrapper && facts.wrapper.out !== headOut) withCanary.push(facts.wrapper.out, facts.wrapper.drvPath);
        if (wrapperRun && !wrapperRun.ok)
          evidence.push(
            `${r.host}: ${pkg} wrapper: ${'cannotFollow' in wrapperRun ? `cannot follow: ${wrapperRun.cannotFollow}` : wrapperRun.problem}`,
          );
        // A consumer with `hosts:` is judged on those hosts only.
        const here = consumersOn(ctx.claim, r.host);
        const runners = here
          .filter((c) => c.kind !== 'system-packages' && c.kind !== 'module-option')
          .map((c) => c.name);
        const consumers: [string, boolean | undefined, string][] = [
          [
            `${pkg} wrapper PATH (${runners.join(' + ') || 'the shared package'})`,
            onWrapperPath,
            facts.wrapper?.out ?? `no pkgs.${pkg}`,
          ],
        ];
        for (const c of here) {
          const base = (unit: string): string => unit.replace(/\.service$/, '');
          if (c.kind === 'systemd-service') {
            const svc = services.find((x) => x.consumer === c)!;
            consumers.push([
              `${base(c.unit)} (what its unit starts, and its build inputs)`,
              svc.closure === undefined ? undefined : svc.closure.includes(facts.canaryDrv),
              svc.drv ?? `no ${base(c.unit)} unit program found`,
            ]);
          } else if (c.kind === 'drone-step') {
            const winner = swBinWinner(facts.systemPackages, program)?.winner;
            const winnerOut = winner?.installed[0] ? parseStorePath(winner.installed[0])?.root : undefined;
            consumers.push([
              `${program} on the system PATH (what the Drone step runs)`,
              winnerOut === undefined ? undefined : winnerOut === facts.wrapper?.out && onWrapperPath === true,
              winner ? `sw/bin/${program} from ${winner.name}` : `no ${program} in systemPackages`,
            ]);
          } else if (c.kind === 'systemd-user-service') {
            const svc = userServices.find((x) => x.consumer === c)!;
            consumers.push([
              `${base(c.unit)} (user service: what its unit starts, and its build inputs)`,
              svc.closure === undefined ? undefined : svc.closure.includes(facts.canaryDrv),
              svc.drv ?? `no ${base(c.unit)} user unit program found`,
            ]);
          } else if (c.kind === 'runner-service') {
            const shell = c.jobShell ? jobShellFinds(facts, c, program, onWrapperPath) : undefined;
            if (shell) consumers.push([`${program} as the job shell of ${c.name}`, ...shell]);
            else {
              const [got, where] = runnerFinds(facts, c.unit, program, onWrapperPath);
              consumers.push([`${program} on the PATH ${c.name} jobs inherit`, got, where]);
            }
          } else if (c.kind === 'module-option') {
            const o = options.find((x) => x.consumer === c)!;
            consumers.push([
              `${c.option} (the module option's value)`,
              ...moduleOptionReached(o.answer, c.value, facts.canaryPath, facts.wrapper?.out, onWrapperPath),
            ]);
          } else if (c.kind === 'system-packages') {
            consumers.push([
              'environment.systemPackages',
              ...systemPackagesReached(
                facts,
                canary.name,
                program,
                onWrapperPath,
                wrapperCarriesList(ctx.claim, r.host, c.configReferencesTools),
              ),
            ]);
            if (c.includesPackage) {
              const winner = swBinWinner(facts.systemPackages, program)?.winner;
              const winnerOut = winner?.installed[0] ? parseStorePath(winner.installed[0])?.root : undefined;
              consumers.push([
                `${program} in the system packages (sw/bin)`,
                winnerOut === undefined ? false : winnerOut === facts.wrapper?.out && onWrapperPath === true,
                winner ? `sw/bin/${program} from ${winner.name}` : `no ${program} in systemPackages`,
              ]);
            }
          }
        }
        for (const [consumer, got, where] of consumers) {
          if (got === true) withCanary.push(...[...where.matchAll(STORE_PATH_RE)].map((m) => m[0]));
          evidence.push(
            `${r.host}: ${consumer}: ${got === true ? 'has the canary' : got === false ? 'MISSING the canary' : 'cannot be checked'} (${where})`,
          );
          if (got !== true)
            problems.push(`${r.host}: ${consumer} ${got === false ? 'did not get the canary' : 'cannot be checked'}`);
          else if (!reached.includes(consumer)) reached.push(consumer);
        }
      }
      for (const d of derivations) {
        const label = `${d.consumer.name} (${judgedAttr(d.consumer)} and its build inputs)`;
        if ('error' in d && d.error) {
          problems.push(`${label} cannot be checked`);
          evidence.push(...d.error);
          continue;
        }
        const got =
          d.closure === undefined || canaryDrv === undefined
            ? undefined
            : d.closure.includes(canaryDrv) && (!d.consumer.image || wrapperDrvs.some((w) => d.closure!.includes(w)));
        if (got === true && d.drv) withCanary.push(d.drv);
        evidence.push(
          `${label}: ${got === true ? 'has the canary' : got === false ? 'MISSING the canary' : 'cannot be checked'} (${d.drv ?? 'not a derivation'})`,
        );
        if (got !== true) problems.push(`${label} ${got === false ? 'did not get the canary' : 'cannot be checked'}`);
      }
      for (const sh of shells) {
        const label = `${sh.consumer.name} (the PATH nix develop gives ${sh.consumer.attr})`;
        if ('error' in sh && sh.error) {
          problems.push(`${label} cannot be checked`);
          evidence.push(...sh.error);
          continue;
        }
        const canaryPath = results.find((r) => r.value)?.value?.facts.canaryPath;
        const got =
          sh.dirs === undefined || canaryPath === undefined ? undefined : sh.dirs.includes(`${canaryPath}/bin`);
        if (got === true && sh.drv) withCanary.push(sh.drv);
        evidence.push(
          `${label}: ${got === true ? 'has the canary' : got === false ? 'MISSING the canary' : 'cannot be checked'} (${sh.drv ?? 'not a derivation'}${'why' in sh && sh.why ? `; ${sh.why}` : ''})`,
        );
        if (got !== true) problems.push(`${label} ${got === false ? 'did not get the canary' : 'cannot be checked'}`);
        else reached.push(sh.consumer.name);
      }
      // nix gave no answer (timeout, crash, unreadable output): that is not a verdict on the repository.
      // The edited copy's own store path (its hash depends on the canary) appears in nix's errors.
      if (evidence.slice(1).some((e) => e.includes('-source'))) {
        try {
          withCanary.push((await nix.flakeSource()).path);
        } catch {
          /* no path to mask: nix's error already says why */
        }
      }
      const shown = (text: string): string => maskCanary(text, canary, withCanary);
      const masked = evidence.map(shown);
      if (noAnswer) return error(shown(problems.join('; ')), masked);
      if (problems.length) return fail(shown(problems.join('; ')), masked);
      const hostsText = `${s.hosts.length} host${s.hosts.length === 1 ? '' : 's'}`;
      return pass(
        shown(
          `canary reached every consumer on ${hostsText}: ${[...reached, ...derivations.map((d) => d.consumer.name)].join('; ')}`,
        ),
        masked,
      );
    } finally {
      copy.remove();
    }
  },
};
