// The run context: settings, the Nix client, and facts shared between checks,
// each computed once (one evaluation per host, one build per host).
import { existsSync } from 'node:fs';
import { readBoundedText } from './bounded.js';
import path from 'node:path';
import type { Logger } from 'pino';
import { CheckInputError } from './errors.js';
import { memoize } from './limit.js';
import { nixString, type BuildOutcome, type NixClient } from './nix/client.js';
import { parseStorePath } from './parse/storePath.js';
import type { BaseChoice } from './base.js';
import type { RuntimeDiff } from './runtime.js';
import type { Settings } from './settings.js';
import type { Claim } from './claim/types.js';
import { exists, isDir, listDir, readText, wrapperScript } from './storeFs.js';
import { parseUnit, type UnitFile } from './systemd/unit.js';
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

/** A service definition, for configs without `systemd.units` (NixOS-like configs that only declare services). */
export interface ServiceDefinition {
  execStart: string;
  script: string;
  environment: Record<string, unknown>;
  serviceEnvironment: unknown;
  context: string[];
}

export interface HostFacts {
  host: string;
  toplevel: { drvPath: string; out: string };
  /** config.system.path (NixOS's system-path buildEnv), when the config has one. */
  systemPath: string | null;
  /** pkgs.<package> of this host, or null when the attribute is missing. */
  package: { out: string; drvPath: string; name: string; text: string | null } | null;
  systemPackages: SystemPackage[];
  /** Whether the config has `systemd.units` (real NixOS does). */
  hasUnits: boolean;
  /** The units the claim's consumers name (`config.systemd.units.<name>.text`), by unit name. */
  units: Record<string, EvaluatedUnit | null>;
  /** Every `*.timer` unit's text, and the units that want it (an unwanted timer is never started): which one starts the sweep is read from them. */
  timers: { name: string; text: string; wantedBy: string[]; pulledBy?: { name: string; wantedBy: string[] }[] }[];
  /** The services timers start (by `Unit=`, else the timer's own name), with their unit text: the sweep is one of them. */
  timedServices: { name: string; unit: EvaluatedUnit | null }[];
  /** Those consumers' service definitions, for configs without `systemd.units`, by service name. */
  services: Record<string, ServiceDefinition | null>;
  /** systemd.services names (for messages naming what exists). */
  serviceNames: string[];
  /** security.wrappers names: what /run/wrappers/bin holds on the running system. */
  setuidWrappers: string[];
  /** Where the evaluator says pkgs.<tools_attr> is defined (builtins.unsafeGetAttrPos). */
  toolsPos: { file: string; line: number; column: number } | null;
}

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
  /** A timer: the units that pull it in (`<target>.wants/` links of the toplevel, eval mode `wantedBy`); empty: never started. */
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
  const names = claim.consumers.flatMap((c) => (c.kind === 'systemd-service' || c.kind === 'runner-service' ? [c.unit] : c.kind === 'drone-step' ? [c.runnerUnit] : []));
  return [...new Set(names)];
}

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
  unitOf = n: if units == null || !(units ? \${n}) then null else
    let t = units.\${n}.text or null; in if builtins.isString t then { text = t; context = ctxOf t; } else null;
  serviceOf = n: if units != null || !(svcs ? \${n}) then null else let s = svcs.\${n}; x = toString (s.serviceConfig.ExecStart or ""); sc = s.script or ""; in {
    execStart = x; script = sc; environment = s.environment or { }; serviceEnvironment = s.serviceConfig.Environment or null; context = ctxOf (x + sc);
  };
  isTimer = n: builtins.match ".*[.]timer" n != null;
  pos = builtins.unsafeGetAttrPos ${nixString(claim.shared.toolsAttr)} h.pkgs;
  byName = f: names: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  textOf = n: let x = units.\${n}.text or null; in if builtins.isString x then x else "";
  wantedByOf = n: if units ? \${n} then let u = units.\${n}; in (u.wantedBy or [ ]) ++ (u.requiredBy or [ ]) ++ (u.upheldBy or [ ]) else [ ];
  # Who pulls each timer in, and who pulls those in (two levels: enough to reach a boot target in practice).
  timers = if units == null then [ ] else map (n: let w = wantedByOf n; in { name = n; text = textOf n; wantedBy = w; pulledBy = map (p: { name = p; wantedBy = wantedByOf p; }) w; }) (builtins.filter isTimer (builtins.attrNames units));
  # What each timer starts: its Unit=, else the service of its own name. Only these services' texts are computed.
  timerTarget = t: let
      lines = builtins.filter builtins.isString (builtins.split "\n" t.text);
      hits = builtins.filter (m: m != null) (map (l: builtins.match "Unit=(.*)" l) lines);
    in if hits != [ ] then builtins.head (builtins.elemAt hits (builtins.length hits - 1))
    else builtins.head (builtins.match "(.*)[.]timer" t.name) + ".service";
in {
  toplevel = { drvPath = cfg.system.build.toplevel.drvPath; out = cfg.system.build.toplevel.outPath; };
  systemPath = let p = cfg.system.path or null; in if p == null then null else toString p;
  package = if pkg == null then null else { out = pkg.outPath; drvPath = pkg.drvPath; name = pkg.name or ""; text = if builtins.isString (pkg.text or null) then pkg.text else null; };
  systemPackages = ${systemPackagesExpr('cfg', '_: true')};
  hasUnits = units != null;
  units = byName unitOf ${nixList(units)};
  inherit timers;
  timedServices = map (n: { name = n; unit = unitOf n; }) (builtins.attrNames (builtins.listToAttrs (map (t: { name = timerTarget t; value = true; }) timers)));
  services = byName serviceOf ${nixList(units.map((u) => u.replace(/\.service$/, '')))};
  serviceNames = builtins.attrNames svcs;
  setuidWrappers = builtins.attrNames (cfg.security.wrappers or { });
  toolsPos = if pos == null then null else { file = toString pos.file; line = pos.line; column = pos.column; };
}`;
}

export class RunContext {
  readonly hostFacts: (host: string) => Promise<HostFacts>;
  readonly hostBuild: (host: string) => Promise<HostBuild>;
  /** The shared wrapper's script text: from the built store path, or (eval mode) from its derivation. */
  readonly wrapperScript: () => Promise<{ text: string; source: string }>;
  /** The program the shared package finally runs and its PATH (src/wrappers), with what the source assumed. */
  readonly wrapperRun: () => Promise<{ outcome: WrapperOutcome; notes: string[] }>;

  /** What is verified: the spec with the settings over it. */
  readonly claim: Claim;

  /** The revision the no-drop check compares with (set by verify when that check runs), and its result for the outputs. */
  comparison?: { choice: BaseChoice; open?: () => Promise<{ ctx: RunContext; notes: string[] }>; diff?: RuntimeDiff };

  constructor(
    readonly settings: Settings,
    readonly nix: NixClient,
    readonly logger: Logger,
  ) {
    this.claim = settings.claim;
    // Concurrency is bounded in the Nix client: every nix process takes a slot.
    this.hostFacts = memoize(async (host) => {
      this.logger.info({ host }, `evaluating ${host}`);
      // One process per host: a missing host answers with the names the flake has.
      const apply = `cfgs: if cfgs ? ${nixString(host)} then { facts = (${hostFactsExpr(settings.claim)}) cfgs.${nixString(host)}; } else { hosts = builtins.attrNames cfgs; }`;
      const answer = await this.nix.evalJson<{ facts?: Omit<HostFacts, 'host'>; hosts?: string[] }>('nixosConfigurations', apply);
      if (!answer.facts) {
        const names = answer.hosts ?? [];
        throw new CheckInputError(
          `host ${JSON.stringify(host)} is not in nixosConfigurations (PLUGIN_HOSTS); the flake has: ${names.length ? names.join(', ') : '(none)'}`,
        );
      }
      return { host, ...answer.facts };
    });
    const wrapper = memoize(() => this.loadWrapperScript());
    this.wrapperScript = () => wrapper('');
    const run = memoize(() => this.loadWrapperRun());
    this.wrapperRun = () => run('');
    this.hostBuild = memoize(async (host) => {
      const facts = await this.hostFacts(host);
      this.logger.info({ host }, `building ${host}`);
      // When system-path exists already its builder will not run (no log line): its stored log
      // is read now, beside the build; when it does not exist yet, the build prints the log.
      const [outcome, storedSystemPathLog] = await Promise.all([
        this.nix.buildDrvs([facts.toplevel.drvPath]),
        facts.systemPath && existsSync(facts.systemPath) ? this.nix.storedLog(facts.systemPath) : Promise.resolve(undefined),
      ]);
      return { host, toplevel: facts.toplevel.out, outcome, ...(storedSystemPathLog ? { storedSystemPathLog } : {}) };
    });
  }

  private async loadWrapperScript(): Promise<{ text: string; source: string }> {
    const host = this.settings.hosts[0]!;
    const facts = await this.hostFacts(host);
    const pkg = facts.package;
    const { package: name, program } = this.claim.shared;
    if (!pkg) throw new CheckInputError(`${host}: pkgs.${name} does not exist (PLUGIN_PACKAGE)`);
    if (this.settings.mode === 'eval') {
      // writeShellApplication keeps its script in the derivation's `text` (and in the .drv, even with passAsFile).
      if (pkg.text !== null) return { text: pkg.text, source: `${pkg.drvPath} (text attribute, evaluated)` };
      const env = await this.nix.derivationEnv(pkg.drvPath);
      return { text: env.text ?? env.buildCommand ?? '', source: `${pkg.drvPath} (derivation environment)` };
    }
    // The wrapper is normally in the host closure: wait for that build instead of racing it.
    await this.hostBuild(host).catch(() => undefined);
    if (!existsSync(pkg.out)) {
      const built = await this.nix.buildDrvs([pkg.drvPath]);
      if (!built.ok) throw built.error!;
    }
    const script = wrapperScript(pkg.out, program);
    if (!script) throw new CheckInputError(`${pkg.out} has no bin/${program}`);
    return { text: readBoundedText(script), source: script };
  }

  /** The wrapper model on the shared package: built files in build mode, its derivations in eval mode. */
  private async loadWrapperRun(): Promise<{ outcome: WrapperOutcome; notes: string[] }> {
    const host = this.settings.hosts[0]!;
    const pkg = (await this.hostFacts(host)).package;
    const { package: name, program } = this.claim.shared;
    if (!pkg) throw new CheckInputError(`${host}: pkgs.${name} does not exist (PLUGIN_PACKAGE)`);
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
   * A unit as systemd reads it. Build mode: `etc/systemd/system/<name>` of the built toplevel
   * (what runs); eval mode: `config.systemd.units.<name>.text`. A config without units gives the
   * service definition, turned into the unit lines NixOS would write.
   */
  async unit(host: string, name: string): Promise<UnitView | undefined> {
    const facts = await this.hostFacts(host);
    const evaluated = facts.units[name] ?? facts.timedServices.find((t) => t.name === name)?.unit ?? null;
    const timer = facts.timers.find((t) => t.name === name);
    const toplevel = await this.builtToplevel(host);
    if (toplevel) {
      const dir = path.join(toplevel, 'etc', 'systemd', 'system');
      const file = path.join(dir, name);
      if (exists(file)) return { name, unit: parseUnit(readText(file)), source: file, context: evaluated?.context ?? [] };
      // The built system carries units, and not this one: systemd has nothing of that name to run.
      if (isDir(dir)) return undefined;
    }
    // A toplevel without etc/systemd/system (a NixOS-like config that does not install units): the unit as evaluated.
    if (evaluated) return { name, unit: parseUnit(evaluated.text), source: `config.systemd.units."${name}".text${toplevel ? ` (${toplevel} installs no systemd units)` : ''}`, context: evaluated.context };
    if (timer) return { name, unit: parseUnit(timer.text), source: `config.systemd.units."${name}".text`, context: [] };
    const serviceName = name.replace(/\.service$/, '');
    const def = facts.services[serviceName] ?? null;
    if (!def) return undefined;
    return { name, ...serviceUnit(def), source: `config.systemd.services."${serviceName}" (the config has no systemd.units)`, context: def.context };
  }

  /** Timer units of the host, as systemd reads them (built files in build mode). */
  async timers(host: string): Promise<UnitView[]> {
    const facts = await this.hostFacts(host);
    const toplevel = await this.builtToplevel(host);
    if (toplevel) {
      const dir = path.join(toplevel, 'etc', 'systemd', 'system');
      if (isDir(dir)) {
        // What pulls a timer in on the running system: a link in some unit's .wants/.requires/.upholds directory.
        const pulls = listDir(dir).filter((d) => /\.(wants|requires|upholds)$/.test(d) && isDir(path.join(dir, d)));
        const wantedBy = (unit: string): string[] => pulls.filter((d) => exists(path.join(dir, d, unit))).map((d) => d.replace(/\.(wants|requires|upholds)$/, ''));
        return listDir(dir)
          .filter((n) => n.endsWith('.timer'))
          .map((n) => {
            const w = wantedBy(n);
            return { name: n, unit: parseUnit(readText(path.join(dir, n))), source: path.join(dir, n), context: [], wantedBy: w, bootChain: bootChain(n, wantedBy) };
          });
      }
    }
    return facts.timers.map((t) => {
      const known = new Map((t.pulledBy ?? []).map((p) => [p.name, p.wantedBy]));
      const wantedBy = (unit: string): string[] => (unit === t.name ? (t.wantedBy ?? []) : (known.get(unit) ?? []));
      return { name: t.name, unit: parseUnit(t.text), source: `config.systemd.units."${t.name}".text`, context: [], wantedBy: t.wantedBy ?? [], bootChain: bootChain(t.name, wantedBy) };
    });
  }

  /**
   * The text of a script at a store path: the file itself after a build; in eval mode the
   * `text` (or `buildCommand`) of the derivation that outputs it, found among `drvs` by name.
   * Returns the script and the derivations it was built from (where the next script is looked up).
   */
  async scriptAt(storePath: string, drvs: readonly string[]): Promise<{ text: string; source: string; inputs: string[] } | { missing: string; opaque?: boolean }> {
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
      if (text === undefined) return { missing: `${drv} has no text or buildCommand: what it contains is only known after a build`, opaque: true };
      return { text, source: `${drv} (derivation text, evaluated)`, inputs: d.inputDrvs };
    }
    return { missing: `no derivation among the unit's inputs outputs ${sp.root} (eval mode reads scripts from derivations)` };
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
export const BOOT_UNITS = ['default.target', 'multi-user.target', 'graphical.target', 'basic.target', 'sysinit.target', 'timers.target', 'sockets.target', 'paths.target', 'local-fs.target', 'remote-fs.target', 'network.target', 'getty.target'];

/** The pull links from a boot unit down to `unit` (`multi-user.target → a.target → x.timer`), or undefined: nothing starts it. */
export function bootChain(unit: string, wantedBy: (unit: string) => string[], depth = 0, seen = new Set<string>()): string[] | undefined {
  if (BOOT_UNITS.includes(unit)) return [unit];
  if (depth > 6 || seen.has(unit)) return undefined;
  seen.add(unit);
  for (const by of wantedBy(unit)) {
    const chain = bootChain(by, wantedBy, depth + 1, seen);
    if (chain) return [...chain, unit];
  }
  return undefined;
}

/** The unit lines NixOS writes for a service definition (environment first, then serviceConfig.Environment). */
export function serviceUnit(def: ServiceDefinition): { unit: UnitFile; inlineScript?: string } {
  const q = (s: string): string => JSON.stringify(s);
  const lines = ['[Service]'];
  for (const [k, v] of Object.entries(def.environment)) if (v !== null && v !== undefined) lines.push(`Environment=${q(`${k}=${String(v)}`)}`);
  const extra = Array.isArray(def.serviceEnvironment) ? def.serviceEnvironment : def.serviceEnvironment ? [def.serviceEnvironment] : [];
  for (const e of extra) lines.push(`Environment=${String(e)}`);
  if (def.execStart) lines.push(`ExecStart=${def.execStart}`);
  return { unit: parseUnit(lines.join('\n')), ...(def.execStart === '' && def.script !== '' ? { inlineScript: def.script } : {}) };
}
