// The run context: settings, the Nix client, and facts shared between checks,
// each computed once (one evaluation per host, one build per host).
import { existsSync, readFileSync } from 'node:fs';
import { readBoundedText } from './bounded.js';
import path from 'node:path';
import type { Logger } from 'pino';
import { CheckInputError } from './errors.js';
import { memoize } from './limit.js';
import { nixString, type BuildOutcome, type NixClient } from './nix/client.js';
import { groupedHostEval } from './nix/hostGroups.js';
import { parseStorePath } from './parse/storePath.js';
import type { BaseChoice } from './base.js';
import type { RuntimeDiff } from './runtime.js';
import { effectiveConcurrency, type Settings } from './settings.js';
import { claimSource } from './claim/claim.js';
import type { Claim } from './claim/types.js';
import { exists, isDir, listDir, readlink, readText, realpath, wrapperScript } from './storeFs.js';
import type { EtcReader } from './systemd/environment.js';
import {
  applicableDropIns,
  composeUnit,
  dropInDirs,
  parseUnit,
  timerTarget,
  type DropIn,
  type UnitFile,
  type UnitScope,
} from './systemd/unit.js';
import { BuiltFiles, DerivationFiles, followWrapper, type WrapperOutcome } from './wrappers/index.js';

export interface SystemPackage {
  name: string;
  /** pname when the package has one (name without version otherwise is guessed by the caller). */
  pname?: string;
  mainProgram?: string;
  /** Store paths of the outputs system-path links (meta.outputsToInstall). */
  installed: string[];
  /** meta.priority (default 5): buildEnv lets the lower number win silently. */
  priority?: number;
}

/** A systemd unit as evaluated: `config.systemd.units.<name>.text` and the derivations its text refers to. */
export interface EvaluatedUnit {
  text: string;
  context: string[];
}

/**
 * A service definition, for configs without `systemd.units` (NixOS-like configs that only declare services):
 * `text` is the [Service] section NixOS writes for it (serviceToUnit/attrsToSection: `environment` as quoted
 * Environment= lines, then one `Key=item` line per item of every serviceConfig setting, so `""` resets a list).
 */
export interface ServiceDefinition {
  text?: string;
  execStart: string;
  script: string;
  environment: Record<string, unknown>;
  serviceEnvironment: unknown;
  context: string[];
}

/**
 * An evaluated drop-in: `systemd.units."<dir>/<file>"` or a unit with `overrideStrategy = "asDropin"` (NixOS links it
 * as `<name>.d/overrides.conf`).
 */
export interface EvaluatedDropIn {
  dir: string;
  file: string;
  /** The systemd.units attribute it comes from. */
  attr: string;
  text: string;
  context: string[];
}

export interface HostFacts {
  host: string;
  toplevel: { drvPath: string; out: string };
  /** config.system.path (NixOS's system-path buildEnv), when the config has one. */
  systemPath: string | null;
  /** Its derivation: where Nix keeps its build log (storedLog.ts). */
  systemPathDrv?: string | null;
  /** pkgs.<package> of this host, or null when the attribute is missing. */
  package: { out: string; drvPath: string; name: string; text: string | null } | null;
  systemPackages: SystemPackage[];
  /** Whether the config has `systemd.units` (real NixOS does). */
  hasUnits: boolean;
  /** The units the claim's consumers name (`config.systemd.units.<name>.text`), by unit name. */
  units: Record<string, EvaluatedUnit | null>;
  /**
   * Every `*.timer` unit's text, and the units that want it (an unwanted timer is never started): which one starts the
   * sweep is read from them.
   */
  timers: { name: string; text: string; wantedBy: string[]; pulledBy?: { name: string; wantedBy: string[] }[] }[];
  /**
   * Drop-ins the evaluated config writes (generateUnits: `<name>.d/<file>.conf` unit names, `overrideStrategy =
   * "asDropin"`).
   */
  dropIns?: EvaluatedDropIn[];
  /**
   * What puts unit files or drop-ins on the host that eval mode cannot read (systemd.packages, environment.etc under
   * systemd/).
   */
  unseenUnitSources?: string[];
  /**
   * systemd.packages (name and store path): generateUnits links their etc/systemd/system and lib/systemd/system trees.
   */
  systemdPackages?: { name: string; out: string }[];
  /** Those consumers' service definitions, for configs without `systemd.units`, by service name. */
  services: Record<string, ServiceDefinition | null>;
  /** systemd.services names (for messages naming what exists). */
  serviceNames: string[];
  /** security.wrappers names: what /run/wrappers/bin holds on the running system. */
  setuidWrappers: string[];
  /** Where the evaluator says pkgs.<tools_attr> is defined (builtins.unsafeGetAttrPos). */
  toolsPos: { file: string; line: number; column: number } | null;
  /**
   * `environment.etc` entries for the `/etc/<rel>` paths the consumers' unit and drop-in texts name (EnvironmentFile=
   * …), by rel, in the answer's shape of RunContext.etcEntry (null: no entry). Asked for in the same evaluation, which
   * forces every enabled entry anyway (the toplevel's etc); a path not here is asked for on its own.
   */
  etcFiles?: Record<string, EtcEntry | null>;
}

/** An `environment.etc` entry whose target is a path: its text, else its source and the derivations that make it. */
export interface EtcEntry {
  name: string;
  text: string | null;
  source: string;
  context: string[];
}

/** Nix: the enabled `environment.etc` entry (of the attrset `etc`) whose target is `rel`, as an EtcEntry, or null. */
const ETC_ENTRY_OF = `etc: rel: let hits = builtins.filter (n: (etc.\${n}.enable or true) && (etc.\${n}.target or n) == rel) (builtins.attrNames etc); in if hits == [ ] then null else let n = builtins.head hits; e = etc.\${n}; t = e.text or null; src = if t == null then toString e.source else ""; in { name = n; text = t; source = src; context = builtins.attrNames (builtins.getContext src); }`;

export interface HostBuild {
  host: string;
  /** Built toplevel store path. */
  toplevel: string;
  outcome: BuildOutcome;
  /** Nix's stored build log of system-path from an earlier build, asked for beside the build. */
  storedSystemPathLog?: string;
}

/** A unit as systemd will read it: the generated file of the built toplevel, else its evaluated text. */
export interface UnitView {
  /**
   * A timer: the units that pull it in (`<target>.wants/` links of the toplevel, eval mode `wantedBy`); empty: never
   * started.
   */
  wantedBy?: string[];
  /** A timer: how systemd reaches it from a unit it starts at boot (`multi-user.target → x.timer`), if it does. */
  bootChain?: string[];
  name: string;
  unit: UnitFile;
  /** Where it was read (a file of the toplevel, or the evaluated attribute). */
  source: string;
  /** Derivations the unit refers to (eval mode: where scripts are looked up). */
  context: string[];
  /** A service definition without a unit text: its `script` is inline shell text. */
  inlineScript?: string;
  /** The drop-ins applied, in order (their sources). */
  dropIns?: string[];
  /** Eval mode: unit files or drop-ins the configuration installs that eval mode cannot read (a build reads them). */
  unseen?: string[];
  /** Reads `/etc/<path>` as the host has it (EnvironmentFile=). */
  etc?: EtcReader;
}

/**
 * The Nix expression applied to nixosConfigurations.HOST that returns every fact the
 * checks need in one evaluation. It names units by name and never walks every
 * service (real NixOS has hundreds; forcing them costs seconds). No attrset in the
 * result may have an `outPath` key (toJSON would collapse it to that string).
 */
/**
 * `environment.systemPackages` as SystemPackage records. Store paths (`installed`, which force a
 * package's derivation) only where `wantPaths p` holds: evaluations that need only names stay cheap.
 */
export function systemPackagesExpr(cfg: string, wantPaths: string): string {
  return `(let
    wantPaths = ${wantPaths};
    installed = p:
      if builtins.isAttrs p && p ? outPath then
        map (o: (p.\${o} or p).outPath) (p.meta.outputsToInstall or [ (p.outputName or "out") ])
      else if builtins.isString p || builtins.isPath p then [ (toString p) ] else [ ];
  in map (p: if builtins.isAttrs p then {
      name = p.name or "<unnamed>"; pname = p.pname or null; mainProgram = p.meta.mainProgram or null;
      installed = if wantPaths p then installed p else [ ]; priority = p.meta.priority or 5;
    } else { name = toString p; pname = null; mainProgram = null; installed = installed p; priority = 5; }) (${cfg}.environment.systemPackages or [ ]))`;
}

/** The systemd units the claim's consumers name (services, runner units). */
export function consumerUnits(claim: Pick<Claim, 'consumers'>): string[] {
  const names = claim.consumers.flatMap((c) =>
    c.kind === 'systemd-service' || c.kind === 'runner-service'
      ? [c.unit]
      : c.kind === 'drone-step'
        ? [c.runnerUnit]
        : [],
  );
  return [...new Set(names)];
}

/**
 * Nix let-bindings: the unit text NixOS writes for a service or timer definition (systemd-lib.nix
 * attrsToSection: one `Key=item` line per list item, so a "" item is an empty assignment, a reset;
 * serviceToUnit: `environment` first, as quoted Environment= lines). For configs without systemd.units.
 */
const NIXOS_UNIT_TEXT = `  toOption = x: if x == true then "true" else if x == false then "false" else toString x;
  sectionOf = as: builtins.concatStringsSep "" (builtins.concatLists (map (k: map (x: "\${k}=\${toOption x}\n") (if builtins.isList as.\${k} then as.\${k} else [ as.\${k} ])) (builtins.attrNames as)));
  envLines = env: builtins.concatStringsSep "" (map (k: if env.\${k} == null then "" else "Environment=\${builtins.toJSON "\${k}=\${toString env.\${k}}"}\n") (builtins.attrNames env));
  serviceText = s: "[Service]\n" + envLines (s.environment or { }) + sectionOf (s.serviceConfig or { });
  timerText = t: "[Timer]\n" + sectionOf (t.timerConfig or { });`;

/**
 * Nix let-bindings (the expression binds `units` (systemd.units or null), `svcs` (systemd.services) and `ctxOf`):
 * `serviceOf n`, a consumer's ServiceDefinition for configs without systemd.units, null otherwise. Every check that
 * reads a service of such a config (entrypoint-parity through hostFacts, propagation on its edited copy) reads this
 * one view.
 */
export const NIXOS_SERVICE_OF = `${NIXOS_UNIT_TEXT}
  serviceOf = n: if units != null || !(svcs ? \${n}) then null else let s = svcs.\${n}; x = toString (s.serviceConfig.ExecStart or ""); sc = s.script or ""; t = serviceText s; in {
    text = t; execStart = x; script = sc; environment = s.environment or { }; serviceEnvironment = s.serviceConfig.Environment or null; context = ctxOf (t + sc);
  };`;

/** A Nix list of strings. */
export const nixList = (items: readonly string[]): string => `[ ${items.map(nixString).join(' ')} ]`;

export function hostFactsExpr(claim: Pick<Claim, 'shared' | 'consumers'>): string {
  const units = consumerUnits(claim);
  return `h: let
  cfg = h.config;
  pkg = h.pkgs.${nixString(claim.shared.package)} or null;
  svcs = cfg.systemd.services or { };
  units = cfg.systemd.units or null;
  ctxOf = s: builtins.attrNames (builtins.getContext s);
  # A unit with overrideStrategy = "asDropin" is written as <name>.d/overrides.conf, not as the unit file.
  unitOf = n: if units == null || !(units ? \${n}) || (units.\${n}.overrideStrategy or "") == "asDropin" then null else
    let t = units.\${n}.text or null; in if builtins.isString t then { text = t; context = ctxOf t; } else null;
${NIXOS_SERVICE_OF}
  # Drop-ins NixOS writes from systemd.units (nixos/lib/systemd-lib.nix generateUnits): a unit with
  # overrideStrategy = "asDropin" lands at <name>.d/overrides.conf (so "foo-.service" is a prefix drop-in and
  # "service" a type-wide one). A NixOS-like config whose own unit tree takes "<dir>.d/<file>" names gets those.
  dropInOf = n: let m = builtins.match "(.*[.]d)/([^/]+)" n; u = units.\${n}; t = u.text or null; in
    if !(u.enable or true) || !builtins.isString t then [ ]
    else if m != null then [ { dir = builtins.elemAt m 0; file = builtins.elemAt m 1; attr = n; text = t; context = ctxOf t; } ]
    else if (u.overrideStrategy or "asDropinIfExists") == "asDropin" then [ { dir = n + ".d"; file = "overrides.conf"; attr = n; text = t; context = ctxOf t; } ]
    else [ ];
  etcNames = builtins.attrNames (cfg.environment.etc or { });
  isTimer = n: builtins.match ".*[.]timer" n != null;
  pos = builtins.unsafeGetAttrPos ${nixString(claim.shared.toolsAttr)} h.pkgs;
  byName = f: names: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  textOf = n: let x = units.\${n}.text or null; in if builtins.isString x then x else "";
  wantedByOf = n: if units ? \${n} then let u = units.\${n}; in (u.wantedBy or [ ]) ++ (u.requiredBy or [ ]) ++ (u.upheldBy or [ ]) else [ ];
  # Who pulls each timer in, and who pulls those in (two levels: enough to reach a boot target in practice).
  # A config without systemd.units: its systemd.timers as NixOS's timerToUnit writes them.
  tmrs = cfg.systemd.timers or { };
  timersOfDefs = map (n: let t = tmrs.\${n}; w = (t.wantedBy or [ ]) ++ (t.requiredBy or [ ]); in { name = n + ".timer"; text = timerText t; wantedBy = w; pulledBy = map (p: { name = p; wantedBy = [ ]; }) w; }) (builtins.filter (n: tmrs.\${n}.enable or true) (builtins.attrNames tmrs));
  timers = if units == null then timersOfDefs else map (n: let w = wantedByOf n; in { name = n; text = textOf n; wantedBy = w; pulledBy = map (p: { name = p; wantedBy = wantedByOf p; }) w; }) (builtins.filter (n: isTimer n && (units.\${n}.overrideStrategy or "") != "asDropin") (builtins.attrNames units));
in {
  toplevel = { drvPath = cfg.system.build.toplevel.drvPath; out = cfg.system.build.toplevel.outPath; };
  systemPath = let p = cfg.system.path or null; in if p == null then null else toString p;
  systemPathDrv = let p = cfg.system.path or null; in if builtins.isAttrs p then p.drvPath or null else null;
  package = if pkg == null then null else { out = pkg.outPath; drvPath = pkg.drvPath; name = pkg.name or ""; text = if builtins.isString (pkg.text or null) then pkg.text else null; };
  systemPackages = ${systemPackagesExpr('cfg', '_: true')};
  hasUnits = units != null;
  units = byName unitOf ${nixList(units)};
  inherit timers;
  dropIns = if units == null then [ ] else builtins.concatLists (map dropInOf (builtins.attrNames units));
  systemdPackages = map (p: { name = p.name or (toString p); out = if builtins.isAttrs p && p ? outPath then p.outPath else toString p; }) (cfg.systemd.packages or [ ]);
  unseenUnitSources = map (n: "environment.etc." + builtins.toJSON n) (builtins.filter (n: n != "systemd/system" && builtins.match "systemd/system/.*" n != null) etcNames);
  services = byName serviceOf ${nixList(units.map((u) => u.replace(/\.service$/, '')))};
  serviceNames = builtins.attrNames svcs;
  setuidWrappers = builtins.attrNames (cfg.security.wrappers or { });
  toolsPos = if pos == null then null else { file = toString pos.file; line = pos.line; column = pos.column; };
  etcFiles = let
    present = builtins.filter (x: x != null);
    texts = map (u: u.text) (present (builtins.attrValues (byName unitOf ${nixList(units)})))
      ++ map (s: s.text) (present (builtins.attrValues (byName serviceOf ${nixList(units.map((u) => u.replace(/\.service$/, '')))})))
      ++ map (d: d.text) (if units == null then [ ] else builtins.concatLists (map dropInOf (builtins.attrNames units)));
    rels = builtins.concatLists (map (t: builtins.concatLists (builtins.filter builtins.isList (builtins.split "/etc/([^[:space:]\\"';]+)" t))) texts);
    etcOf = ${ETC_ENTRY_OF};
  in byName (etcOf (cfg.environment.etc or { })) rels;
}`;
}

/** Where each manager's units are evaluated (eval mode labels). */
const UNITS_ATTR: Record<UnitScope, string> = { system: 'systemd.units', user: 'systemd.user.units' };
/** Where each manager's service and timer definitions are (configs without units). */
const DEFS_ATTR: Record<UnitScope, string> = { system: 'systemd', user: 'systemd.user' };

/** The unit facts of the user managers: the shape of HostFacts' unit fields, from `systemd.user.units`. */
export type UserUnitFacts = Pick<
  HostFacts,
  'units' | 'timers' | 'dropIns' | 'unseenUnitSources' | 'systemdPackages' | 'hasUnits' | 'services'
>;

/**
 * Eval mode's facts for user units (nixos/modules/system/boot/systemd/user.nix): every `systemd.user.units` service
 * and timer text (a host has few), the drop-ins generateUnits writes for them, and what eval mode cannot read
 * (systemd.packages' etc/systemd/user and lib/systemd/user, environment.etc under systemd/user/).
 */
export const USER_UNIT_FACTS_EXPR = `h: let
  cfg = h.config;
  units = (cfg.systemd.user or { }).units or null;
  # A NixOS-like config without systemd.user.units: its systemd.user.services and .timers, as NixOS writes them.
  svcs = (cfg.systemd.user or { }).services or { };
  tmrs = (cfg.systemd.user or { }).timers or { };
  names = if units == null then [ ] else builtins.attrNames units;
  ctxOf = s: builtins.attrNames (builtins.getContext s);
${NIXOS_SERVICE_OF}
  isDropInName = n: builtins.match "(.*[.]d)/([^/]+)" n != null;
  live = n: (units.\${n}.enable or true) && (units.\${n}.overrideStrategy or "") != "asDropin" && !(isDropInName n);
  textOf = n: let t = units.\${n}.text or null; in if builtins.isString t then t else "";
  wantedByOf = n: if units != null && units ? \${n} then let u = units.\${n}; in (u.wantedBy or [ ]) ++ (u.requiredBy or [ ]) ++ (u.upheldBy or [ ]) else [ ];
  dropInOf = n: let m = builtins.match "(.*[.]d)/([^/]+)" n; u = units.\${n}; t = u.text or null; in
    if !(u.enable or true) || !builtins.isString t then [ ]
    else if m != null then [ { dir = builtins.elemAt m 0; file = builtins.elemAt m 1; attr = n; text = t; context = ctxOf t; } ]
    else if (u.overrideStrategy or "asDropinIfExists") == "asDropin" then [ { dir = n + ".d"; file = "overrides.conf"; attr = n; text = t; context = ctxOf t; } ]
    else [ ];
  services = builtins.filter (n: live n && builtins.match ".*[.]service" n != null) names;
  timerNames = builtins.filter (n: live n && builtins.match ".*[.]timer" n != null) names;
  etcNames = builtins.attrNames (cfg.environment.etc or { });
in {
  hasUnits = units != null;
  units = builtins.listToAttrs (map (n: { name = n; value = { text = textOf n; context = ctxOf (textOf n); }; }) services);
  timers = if units == null
    then map (n: let t = tmrs.\${n}; w = (t.wantedBy or [ ]) ++ (t.requiredBy or [ ]); in { name = n + ".timer"; text = timerText t; wantedBy = w; pulledBy = map (p: { name = p; wantedBy = [ ]; }) w; }) (builtins.filter (n: tmrs.\${n}.enable or true) (builtins.attrNames tmrs))
    else map (n: let w = wantedByOf n; in { name = n; text = textOf n; wantedBy = w; pulledBy = map (p: { name = p; wantedBy = wantedByOf p; }) w; }) timerNames;
  dropIns = builtins.concatLists (map dropInOf names);
  systemdPackages = map (p: { name = p.name or (toString p); out = if builtins.isAttrs p && p ? outPath then p.outPath else toString p; }) (cfg.systemd.packages or [ ]);
  unseenUnitSources = map (n: "environment.etc." + builtins.toJSON n) (builtins.filter (n: n != "systemd/user" && builtins.match "systemd/user/.*" n != null) etcNames);
  services = builtins.listToAttrs (map (n: { name = n; value = serviceOf n; }) (if units == null then builtins.attrNames svcs else [ ]));
}`;

export class RunContext {
  readonly hostFacts: (host: string) => Promise<HostFacts>;
  readonly hostBuild: (host: string) => Promise<HostBuild>;
  /** The program the shared package finally runs and its PATH (src/wrappers), with what the source assumed. */
  readonly wrapperRun: () => Promise<{ outcome: WrapperOutcome; notes: string[] }>;

  /** What is verified: the spec with the settings over it. */
  readonly claim: Claim;

  /**
   * The revision the no-drop check compares with (set by verify when that check runs), and its result for the outputs.
   */
  comparison?: { choice: BaseChoice; open?: () => Promise<{ ctx: RunContext; notes: string[] }>; diff?: RuntimeDiff };

  constructor(
    readonly settings: Settings,
    readonly nix: NixClient,
    readonly logger: Logger,
  ) {
    this.claim = settings.claim;
    // Concurrency is bounded in the Nix client: every nix process takes a slot.
    const factsExpr = hostFactsExpr(settings.claim);
    const hostAlone = async (host: string): Promise<Omit<HostFacts, 'host'>> => {
      // A host alone: a missing host answers with the names the flake has.
      const apply = `cfgs: if cfgs ? ${nixString(host)} then { facts = (${factsExpr}) cfgs.${nixString(host)}; } else { hosts = builtins.attrNames cfgs; }`;
      const answer = await this.nix.evalJson<{ facts?: Omit<HostFacts, 'host'>; hosts?: string[] }>(
        'nixosConfigurations',
        apply,
      );
      if (!answer.facts) {
        const names = answer.hosts ?? [];
        throw new CheckInputError(
          `host ${JSON.stringify(host)} is not in nixosConfigurations (${claimSource(this.claim, 'hosts', 'hosts')}); the flake has: ${names.length ? names.join(', ') : '(none)'}`,
        );
      }
      return answer.facts;
    };
    // The claim's hosts in groups, one evaluation each (src/nix/hostGroups.ts).
    const grouped = groupedHostEval({
      hosts: settings.hosts,
      slots: effectiveConcurrency(settings, settings.hosts.length),
      perHost: factsExpr,
      evalGroup: (apply) =>
        this.nix.evalJson<Record<string, Omit<HostFacts, 'host'> | null>>('nixosConfigurations', apply),
      alone: hostAlone,
    });
    this.hostFacts = memoize(async (host) => {
      this.logger.info({ host }, `evaluating ${host}`);
      return { host, ...(await grouped(host)) };
    });
    const run = memoize(() => this.loadWrapperRun());
    this.wrapperRun = () => run('');
    this.hostBuild = memoize(async (host) => {
      const facts = await this.hostFacts(host);
      this.logger.info({ host }, `building ${host}`);
      // When system-path exists already its builder will not run (no log line): its stored log
      // is read now, beside the build; when it does not exist yet, the build prints the log.
      const [outcome, storedSystemPathLog] = await Promise.all([
        this.nix.buildDrvs([facts.toplevel.drvPath]),
        facts.systemPath && existsSync(facts.systemPath)
          ? this.nix.storedLog(facts.systemPath, facts.systemPathDrv ?? undefined)
          : Promise.resolve(undefined),
      ]);
      return { host, toplevel: facts.toplevel.out, outcome, ...(storedSystemPathLog ? { storedSystemPathLog } : {}) };
    });
  }

  /** The user managers' units as evaluated (one evaluation per host; see USER_UNIT_FACTS_EXPR). */
  readonly userUnitFacts = memoize((host: string): Promise<UserUnitFacts> =>
    this.nix.evalJson<UserUnitFacts>('nixosConfigurations', `cfgs: (${USER_UNIT_FACTS_EXPR}) cfgs.${nixString(host)}`),
  );

  /** The wrapper model on the shared package: built files in build mode, its derivations in eval mode. */
  private async loadWrapperRun(): Promise<{ outcome: WrapperOutcome; notes: string[] }> {
    const host = this.settings.hosts[0];
    const pkg = (await this.hostFacts(host)).package;
    const { package: name, program } = this.claim.shared;
    if (!pkg)
      throw new CheckInputError(
        `${host}: pkgs.${name} does not exist (${claimSource(this.claim, 'package', 'shared.package')})`,
      );
    if (this.settings.mode === 'eval') {
      const files = new DerivationFiles((d) => this.nix.derivation(d), [pkg.drvPath]);
      return { outcome: await followWrapper(files, `${pkg.out}/bin/${program}`), notes: files.notes };
    }
    await this.hostBuild(host).catch(() => undefined);
    if (!existsSync(pkg.out)) {
      const built = await this.nix.buildDrvs([pkg.drvPath]);
      if (!built.ok) throw built.error!;
    }
    const script = wrapperScript(pkg.out, program);
    if (!script) throw new CheckInputError(`${pkg.out} has no bin/${program}`);
    const files = new BuiltFiles();
    return { outcome: await followWrapper(files, script), notes: files.notes };
  }

  /** The built toplevel in build mode (undefined in eval mode); throws when the host did not build. */
  async builtToplevel(host: string): Promise<string | undefined> {
    if (this.settings.mode === 'eval') return undefined;
    const build = await this.hostBuild(host);
    if (!build.outcome.ok) throw new CheckInputError(`${host} did not build (see the build check)`);
    return build.toplevel;
  }

  /**
   * A unit as systemd reads it: the unit file and its drop-ins (src/systemd/unit.ts). Build mode:
   * `etc/systemd/system/<name>` and the drop-in directories of the built toplevel (what runs); eval mode:
   * `config.systemd.units.<name>.text` and the drop-ins the config writes, naming what it cannot see. A config
   * without units gives the service definition, turned into the unit lines NixOS would write.
   */
  async unit(host: string, name: string, scope: UnitScope = 'system'): Promise<UnitView | undefined> {
    const facts = scope === 'system' ? await this.hostFacts(host) : await this.userUnitFacts(host);
    const toplevel = await this.builtToplevel(host);
    const etc = (file: string): ReturnType<EtcReader> => this.etcFile(host, file);
    const evaluated =
      facts.units[name] ?? (toplevel || scope === 'user' ? null : ((await this.timedServices(host))[name] ?? null));
    const attr = UNITS_ATTR[scope];
    if (toplevel) {
      const dir = path.join(toplevel, 'etc', 'systemd', scope);
      const file = path.join(dir, name);
      if (exists(file) || lstatOk(file)) {
        // A unit linked to /dev/null is masked: systemd never starts it.
        if (realpath(file) === '/dev/null' || !exists(file)) return undefined;
        const { unit, applied } = composeUnit(name, { text: readText(file), source: file }, builtDropIns(dir, name));
        return {
          name,
          unit,
          source: file,
          context: evaluated?.context ?? facts.units[name]?.context ?? [],
          dropIns: applied.map((d) => d.source),
          etc,
        };
      }
      // The built system carries units, and not this one: systemd has nothing of that name to run.
      if (isDir(dir)) return undefined;
    }
    // A toplevel without etc/systemd/system (a NixOS-like config that does not install units): the unit as evaluated.
    const timer = facts.timers.find((t) => t.name === name);
    const main = evaluated ?? (timer ? { text: timer.text, context: [] } : null);
    if (main) {
      const fromPackages = toplevel
        ? { dropIns: [], unseen: [] }
        : packageUnits(facts.systemdPackages ?? [], name, scope);
      const dropIns = [
        ...(facts.dropIns ?? []).map((d): DropIn & { context: string[] } => ({
          dir: d.dir,
          file: d.file,
          source: `config.${attr}."${d.attr}".text`,
          text: d.text,
          context: d.context,
        })),
        ...fromPackages.dropIns.map((d) => ({ ...d, context: [] })),
      ];
      const label = facts.hasUnits
        ? `config.${attr}."${name}".text`
        : `config.${DEFS_ATTR[scope]}.${timer ? 'timers' : 'services'}."${name.replace(/\.(service|timer)$/, '')}"`;
      const { unit, applied } = composeUnit(name, { text: main.text, source: label }, dropIns);
      const context = [
        ...new Set([...main.context, ...applied.flatMap((d) => (d as DropIn & { context: string[] }).context)]),
      ];
      const unseen = toplevel
        ? []
        : [
            ...(facts.unseenUnitSources ?? []).map((u) => `${u} may add drop-ins in ${dropInDirs(name).join(', ')}`),
            ...fromPackages.unseen,
          ];
      return {
        name,
        unit,
        source: `${label}${!facts.hasUnits ? ` (the config has no ${attr})` : toplevel ? ` (${toplevel} installs no systemd units)` : ''}`,
        context,
        dropIns: applied.map((d) => d.source),
        ...(unseen.length ? { unseen } : {}),
        etc,
      };
    }
    const serviceName = name.replace(/\.service$/, '');
    const def = facts.services[serviceName] ?? null;
    if (!def) return undefined;
    const source = `config.${DEFS_ATTR[scope]}.services."${serviceName}" (the config has no ${attr})`;
    const { unit: own, inlineScript } = serviceUnit(def, source);
    // What generateUnits adds to it: the drop-ins systemd.packages ship (read when in the store), else named unseen.
    const fromPackages = packageUnits(facts.systemdPackages ?? [], name, scope);
    const applied = applicableDropIns(name, fromPackages.dropIns);
    const unit: UnitFile = { lines: [...own.lines, ...applied.flatMap((d) => parseUnit(d.text, d.source).lines)] };
    const unseen = [
      ...(facts.unseenUnitSources ?? []).map((u) => `${u} may add drop-ins in ${dropInDirs(name).join(', ')}`),
      ...fromPackages.unseen,
    ];
    return {
      name,
      unit,
      ...(inlineScript !== undefined ? { inlineScript } : {}),
      source,
      context: def.context,
      dropIns: applied.map((d) => d.source),
      ...(unseen.length ? { unseen } : {}),
      etc,
    };
  }

  /**
   * Eval mode: the unit texts of the services the timers start (by their Unit=, read with the unit model), in one
   * evaluation.
   */
  private readonly timedServices = memoize(async (host: string): Promise<Record<string, EvaluatedUnit | null>> => {
    const facts = await this.hostFacts(host);
    const targets = [...new Set((await this.timers(host)).map((t) => timerTarget(t.name, t.unit)))].filter(
      (n) => !(n in facts.units),
    );
    if (targets.length === 0) return {};
    // A config without systemd.units: the service definition, as the unit text NixOS writes for it.
    const apply = `cfgs: let cfg = cfgs.${nixString(host)}.config; units = cfg.systemd.units or null; svcs = cfg.systemd.services or { }; ctxOf = s: builtins.attrNames (builtins.getContext s);
${NIXOS_UNIT_TEXT}
  ofDef = n: let b = builtins.match "(.*)[.]service" n; in if b == null || !(svcs ? \${builtins.head b}) then null else let t = serviceText svcs.\${builtins.head b}; in { text = t; context = ctxOf t; };
in builtins.listToAttrs (map (n: { name = n; value = if units == null then ofDef n else if !(units ? \${n}) || !builtins.isString (units.\${n}.text or null) then null else { text = units.\${n}.text; context = ctxOf units.\${n}.text; }; }) ${nixList(targets)})`;
    return this.nix.evalJson<Record<string, EvaluatedUnit | null>>('nixosConfigurations', apply);
  });

  /**
   * `/etc/<path>` as the host has it. Build mode: the toplevel's etc/ (NixOS links each file to its store
   * source, or through /etc/static). Eval mode: `environment.etc` (the entry whose target is the path): its
   * text, else its source (a store file read from its derivation, or a file of the flake's source).
   */
  async etcFile(host: string, file: string): Promise<{ text: string; source: string } | { unreadable: string }> {
    const rel = file.replace(/^\/etc\//, '');
    const toplevel = await this.builtToplevel(host);
    if (toplevel) {
      const resolved = etcPath(path.join(toplevel, 'etc'), rel);
      if (!resolved)
        return {
          unreadable: `${file} is not in ${toplevel}/etc: nothing in the configuration puts it there (it is made at run time, if at all)`,
        };
      try {
        return { text: readText(resolved), source: resolved };
      } catch (err) {
        return { unreadable: `${resolved} cannot be read: ${(err as Error).message}` };
      }
    }
    const prefetched = (await this.hostFacts(host)).etcFiles;
    const found =
      prefetched && Object.hasOwn(prefetched, rel) ? prefetched[rel] : await this.etcEntry(`${host}\0${rel}`);
    if (!found)
      return {
        unreadable: `environment.etc has no entry for ${file}: nothing in the configuration puts it there (it is made at run time, if at all)`,
      };
    if (found.text !== null) return { text: found.text, source: `environment.etc."${found.name}".text` };
    if (parseStorePath(found.source) && found.context.length) {
      const got = await this.scriptAt(found.source, found.context);
      if ('text' in got) return { text: got.text, source: `environment.etc."${found.name}".source = ${got.source}` };
      return { unreadable: `environment.etc."${found.name}".source ${found.source}: ${got.missing}` };
    }
    if (existsSync(found.source) && !isDir(found.source))
      return {
        text: readFileSync(found.source, 'utf8'),
        source: `environment.etc."${found.name}".source = ${found.source}`,
      };
    return { unreadable: `environment.etc."${found.name}".source ${found.source} cannot be read without a build` };
  }

  private readonly etcEntry = memoize(async (key: string): Promise<EtcEntry | null> => {
    const [host, rel] = key.split('\0') as [string, string];
    const apply = `cfgs: (${ETC_ENTRY_OF}) (cfgs.${nixString(host)}.config.environment.etc or { }) ${nixString(rel)}`;
    return this.nix.evalJson('nixosConfigurations', apply);
  });

  /**
   * Timer units of the host, as systemd reads them (built files and drop-ins in build mode; the evaluated units in eval
   * mode).
   */
  async timers(host: string, scope: UnitScope = 'system'): Promise<UnitView[]> {
    const facts = scope === 'system' ? await this.hostFacts(host) : await this.userUnitFacts(host);
    const toplevel = await this.builtToplevel(host);
    const attr = UNITS_ATTR[scope];
    if (toplevel) {
      const dir = path.join(toplevel, 'etc', 'systemd', scope);
      if (isDir(dir)) {
        // What pulls a timer in on the running system: a link in some unit's .wants/.requires/.upholds directory.
        const pulls = listDir(dir).filter((d) => /\.(wants|requires|upholds)$/.test(d) && isDir(path.join(dir, d)));
        const wantedBy = (unit: string): string[] =>
          pulls.filter((d) => exists(path.join(dir, d, unit))).map((d) => d.replace(/\.(wants|requires|upholds)$/, ''));
        return listDir(dir)
          .filter(
            (n) => n.endsWith('.timer') && exists(path.join(dir, n)) && realpath(path.join(dir, n)) !== '/dev/null',
          )
          .map((n) => {
            const w = wantedBy(n);
            const file = path.join(dir, n);
            const { unit, applied } = composeUnit(n, { text: readText(file), source: file }, builtDropIns(dir, n));
            return {
              name: n,
              unit,
              source: file,
              context: [],
              wantedBy: w,
              bootChain: bootChain(n, wantedBy),
              dropIns: applied.map((d) => d.source),
            };
          });
      }
    }
    const evaluated = (facts.dropIns ?? []).map((d): DropIn => ({
      dir: d.dir,
      file: d.file,
      source: `config.${attr}."${d.attr}".text`,
      text: d.text,
    }));
    return facts.timers.map((t) => {
      const fromPackages = packageUnits(facts.systemdPackages ?? [], t.name, scope);
      const dropIns = [...evaluated, ...fromPackages.dropIns];
      const unseen = [
        ...(facts.unseenUnitSources ?? []).map((u) => `${u} may add drop-ins in ${dropInDirs(t.name).join(', ')}`),
        ...fromPackages.unseen,
      ];
      const known = new Map((t.pulledBy ?? []).map((p) => [p.name, p.wantedBy]));
      const wantedBy = (unit: string): string[] => (unit === t.name ? (t.wantedBy ?? []) : (known.get(unit) ?? []));
      const label = facts.hasUnits
        ? `config.${attr}."${t.name}".text`
        : `config.${DEFS_ATTR[scope]}.timers."${t.name.replace(/\.timer$/, '')}"`;
      const source = `${label}${facts.hasUnits ? '' : ` (the config has no ${attr})`}`;
      const { unit, applied } = composeUnit(t.name, { text: t.text, source: label }, dropIns);
      return {
        name: t.name,
        unit,
        source,
        context: [],
        wantedBy: t.wantedBy ?? [],
        bootChain: bootChain(t.name, wantedBy),
        dropIns: applied.map((d) => d.source),
        ...(unseen.length ? { unseen } : {}),
      };
    });
  }

  /**
   * The text of a script at a store path: the file itself after a build; in eval mode the
   * `text` (or `buildCommand`) of the derivation that outputs it, found among `drvs` by name.
   * Returns the script and the derivations it was built from (where the next script is looked up).
   */
  async scriptAt(
    storePath: string,
    drvs: readonly string[],
  ): Promise<{ text: string; source: string; inputs: string[] } | { missing: string; opaque?: boolean }> {
    if (this.settings.mode === 'build') {
      if (!exists(storePath)) return { missing: `${storePath} does not exist after the build` };
      try {
        return { text: readText(storePath), source: storePath, inputs: [] };
      } catch (err) {
        return { missing: `${storePath} cannot be read: ${(err as Error).message}` };
      }
    }
    const sp = parseStorePath(storePath);
    if (!sp) return { missing: `${storePath} is not a store path` };
    const candidates = drvs.filter((d) => parseStorePath(d)?.name === `${sp.name}.drv`);
    for (const drv of candidates) {
      const d = await this.nix.derivation(drv);
      if (!Object.values(d.outputs).includes(sp.root)) continue;
      const text = d.env.text ?? d.env.buildCommand;
      if (text === undefined)
        return {
          missing: `${drv} has no text or buildCommand: what it contains is only known after a build`,
          opaque: true,
        };
      return { text, source: `${drv} (derivation text, evaluated)`, inputs: d.inputDrvs };
    }
    return {
      missing: `no derivation among the unit's inputs outputs ${sp.root} (eval mode reads scripts from derivations)`,
    };
  }

  /** Absolute path of a repository file. */
  repoPath(rel: string): string {
    return path.join(this.settings.flake, rel);
  }

  hostConfigFile(host: string): string {
    return this.claim.hosts.find((h) => h.name === host)?.config ?? this.claim.hostConfig.replaceAll('{host}', host);
  }

  readRepoFile(rel: string): string {
    const full = this.repoPath(rel);
    if (!existsSync(full)) throw new CheckInputError(`${rel} does not exist in ${this.settings.flake}`);
    return readBoundedText(full, rel);
  }
}

/** Units systemd starts at boot by itself: default.target and what it pulls in on NixOS. */
export const BOOT_UNITS = [
  'default.target',
  'multi-user.target',
  'graphical.target',
  'basic.target',
  'sysinit.target',
  'timers.target',
  'sockets.target',
  'paths.target',
  'local-fs.target',
  'remote-fs.target',
  'network.target',
  'getty.target',
];

/**
 * The pull links from a boot unit down to `unit` (`multi-user.target → a.target → x.timer`), or undefined: nothing
 * starts it.
 */
export function bootChain(
  unit: string,
  wantedBy: (unit: string) => string[],
  depth = 0,
  seen = new Set<string>(),
): string[] | undefined {
  if (BOOT_UNITS.includes(unit)) return [unit];
  if (depth > 6 || seen.has(unit)) return undefined;
  seen.add(unit);
  for (const by of wantedBy(unit)) {
    const chain = bootChain(by, wantedBy, depth + 1, seen);
    if (chain) return [...chain, unit];
  }
  return undefined;
}

/**
 * Eval mode: the drop-ins of `name` that systemd.packages bring (generateUnits links each package's
 * etc/systemd/system and lib/systemd/system). A package already in the store is read; one that is not, or
 * one that ships the unit file itself (NixOS's unit then becomes its overrides.conf), is named as unseen.
 */
export function packageUnits(
  packages: readonly { name: string; out: string }[],
  name: string,
  scope: UnitScope = 'system',
): { dropIns: DropIn[]; unseen: string[] } {
  const dropIns: DropIn[] = [];
  const unseen: string[] = [];
  for (const p of packages) {
    if (!isDir(p.out)) {
      unseen.push(
        `systemd.packages: ${p.name} (${p.out} is not in the store; a build reads its units) may add drop-ins in ${dropInDirs(name).join(', ')}`,
      );
      continue;
    }
    for (const sub of [`etc/systemd/${scope}`, `lib/systemd/${scope}`]) {
      const dir = path.join(p.out, sub);
      if (exists(path.join(dir, name)))
        unseen.push(
          `systemd.packages: ${p.name} ships ${path.join(dir, name)}: NixOS's ${name} becomes its overrides.conf (a build reads the result)`,
        );
      dropIns.push(...builtDropIns(dir, name));
    }
  }
  return { dropIns, unseen };
}

/** Does `p` exist as a link (possibly dangling)? */
function lstatOk(p: string): boolean {
  return readlink(p) !== undefined;
}

/** The drop-ins of `name` in a built unit directory: every `.conf` file of each drop-in directory systemd searches. */
export function builtDropIns(unitDir: string, name: string): DropIn[] {
  return dropInDirs(name).flatMap((dir) =>
    isDir(path.join(unitDir, dir))
      ? listDir(path.join(unitDir, dir))
          .filter((f) => f.endsWith('.conf') && exists(path.join(unitDir, dir, f)))
          .map((f) => ({
            dir,
            file: f,
            source: path.join(unitDir, dir, f),
            text: readText(path.join(unitDir, dir, f)),
          }))
      : [],
  );
}

/**
 * `/etc/<rel>` inside a built etc tree: links are followed, and a link to `/etc/static/…` or `/etc/…` (how NixOS
 * links /etc to its store copy on the running system) is read inside the tree. Undefined when it is not there.
 */
export function etcPath(etcRoot: string, rel: string): string | undefined {
  let current = path.join(etcRoot, rel);
  for (let hop = 0; hop < 16; hop++) {
    const link = readlink(current);
    if (link === undefined) return exists(current) && !isDir(current) ? current : undefined;
    const target = link.startsWith('/etc/static/')
      ? path.join(etcRoot, link.slice('/etc/static/'.length))
      : link.startsWith('/etc/')
        ? path.join(etcRoot, link.slice('/etc/'.length))
        : path.resolve(path.dirname(current), link);
    if (target.startsWith('/nix/store/'))
      return exists(target) && !isDir(target) ? (realpath(target) ?? target) : undefined;
    current = target;
  }
  return undefined;
}

/**
 * The unit lines NixOS writes for a service definition (environment first, then serviceConfig, one line per list item).
 */
export function serviceUnit(def: ServiceDefinition, source?: string): { unit: UnitFile; inlineScript?: string } {
  if (def.text !== undefined)
    return {
      unit: parseUnit(def.text, source),
      ...(!/^ExecStart=./m.test(def.text) && def.script !== '' ? { inlineScript: def.script } : {}),
    };
  const q = (s: string): string => JSON.stringify(s);
  const lines = ['[Service]'];
  for (const [k, v] of Object.entries(def.environment))
    if (v !== null && v !== undefined) lines.push(`Environment=${q(`${k}=${String(v)}`)}`);
  const extra = Array.isArray(def.serviceEnvironment)
    ? def.serviceEnvironment
    : def.serviceEnvironment
      ? [def.serviceEnvironment]
      : [];
  for (const e of extra) lines.push(`Environment=${String(e)}`);
  if (def.execStart) lines.push(`ExecStart=${def.execStart}`);
  return {
    unit: parseUnit(lines.join('\n')),
    ...(def.execStart === '' && def.script !== '' ? { inlineScript: def.script } : {}),
  };
}
