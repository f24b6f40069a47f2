// The run context: settings, the Nix client, and facts shared between checks,
// each computed once (one evaluation per host, one build per host).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { CheckInputError } from './errors.js';
import { memoize } from './limit.js';
import { nixString, type BuildOutcome, type NixClient } from './nix/client.js';
import type { Settings } from './settings.js';
import { wrapperScript } from './storeFs.js';

export interface SystemPackage {
  name: string;
  /** Store paths of the outputs system-path links (meta.outputsToInstall). */
  installed: string[];
  /** meta.priority (default 5): buildEnv lets the lower number win silently. */
  priority?: number;
}

export interface HostFacts {
  host: string;
  toplevel: { drvPath: string; out: string };
  /** config.system.path (NixOS's system-path buildEnv), when the config has one. */
  systemPath: string | null;
  /** pkgs.<package> of this host, or null when the attribute is missing. */
  package: { out: string; drvPath: string; name: string; text: string | null } | null;
  systemPackages: SystemPackage[];
  /** config.systemd.services.<runner_service>, or null when the host has no such service. */
  runner: { environment: Record<string, unknown>; serviceEnvironment: unknown } | null;
  /** Store derivations named `…-<sweep>.drv` referenced by the host's systemd services. */
  sweepDrvs: string[];
  /** environment.PATH of the services that run the sweep (what a bare `$PATH` in it inherits). */
  sweepServicePaths: string[];
  /** ExecStart and script text of those services: they name the sweep's store path. */
  sweepCommands: string[];
}

export interface HostBuild {
  host: string;
  /** Built toplevel store path. */
  toplevel: string;
  outcome: BuildOutcome;
  /** Nix's stored build log of system-path from an earlier build, asked for beside the build. */
  storedSystemPathLog?: string;
}

/**
 * Nix let-bindings shared by the fact expressions: `ctxOf svc` lists the derivations a
 * systemd service's commands refer to (string context), `isSweep drv` tells the sweep's.
 */
export function sweepBindings(sweep: string): string {
  return `ctxOf = svc: builtins.attrNames (builtins.getContext (toString (svc.serviceConfig.ExecStart or "") + toString (svc.script or "") + toString (svc.preStart or "")));
  isSweep = d: builtins.match ".*-${sweep.replace(/[^A-Za-z0-9_-]/g, '.')}[.]drv" d != null;`;
}

/** The Nix expression (no attrset in it may have an `outPath` key: toJSON would collapse it to that string), applied to nixosConfigurations.HOST, that returns every fact the checks need in one evaluation. */
export function hostFactsExpr(settings: Pick<Settings, 'package' | 'runnerService' | 'sweep'>): string {
  return `h: let
  cfg = h.config;
  pkg = h.pkgs.${nixString(settings.package)} or null;
  svcs = cfg.systemd.services or { };
  svc = svcs.${nixString(settings.runnerService)} or null;
  installed = p:
    if builtins.isAttrs p && p ? outPath then
      map (o: (p.\${o} or p).outPath) (p.meta.outputsToInstall or [ (p.outputName or "out") ])
    else if builtins.isString p || builtins.isPath p then [ (toString p) ] else [ ];
  ${sweepBindings(settings.sweep)}
  sweepServices = builtins.filter (n: builtins.any isSweep (ctxOf svcs.\${n})) (builtins.attrNames svcs);
  unique = l: builtins.attrNames (builtins.listToAttrs (map (d: { name = d; value = true; }) l));
in {
  toplevel = { drvPath = cfg.system.build.toplevel.drvPath; out = cfg.system.build.toplevel.outPath; };
  systemPath = let p = cfg.system.path or null; in if p == null then null else toString p;
  package = if pkg == null then null else { out = pkg.outPath; drvPath = pkg.drvPath; name = pkg.name or ""; text = if builtins.isString (pkg.text or null) then pkg.text else null; };
  systemPackages = map (p: { name = if builtins.isAttrs p then p.name or "<unnamed>" else toString p; installed = installed p; priority = p.meta.priority or 5; }) (cfg.environment.systemPackages or [ ]);
  runner = if svc == null then null else { environment = svc.environment or { }; serviceEnvironment = svc.serviceConfig.Environment or null; };
  sweepDrvs = unique (builtins.filter isSweep (builtins.concatMap ctxOf (builtins.attrValues svcs)));
  sweepServicePaths = builtins.filter (p: p != null) (map (n: svcs.\${n}.environment.PATH or null) sweepServices);
  sweepCommands = map (n: toString (svcs.\${n}.serviceConfig.ExecStart or "") + " " + toString (svcs.\${n}.script or "")) sweepServices;
}`;
}

export class RunContext {
  readonly hostFacts: (host: string) => Promise<HostFacts>;
  readonly hostBuild: (host: string) => Promise<HostBuild>;
  /** The shared wrapper's script text: from the built store path, or (eval mode) from its derivation. */
  readonly wrapperScript: () => Promise<{ text: string; source: string }>;

  constructor(
    readonly settings: Settings,
    readonly nix: NixClient,
    readonly logger: Logger,
  ) {
    // Concurrency is bounded in the Nix client: every nix process takes a slot.
    this.hostFacts = memoize(async (host) => {
      this.logger.info({ host }, `evaluating ${host}`);
      // One process per host: a missing host answers with the names the flake has.
      const apply = `cfgs: if cfgs ? ${nixString(host)} then { facts = (${hostFactsExpr(settings)}) cfgs.${nixString(host)}; } else { hosts = builtins.attrNames cfgs; }`;
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
    if (!pkg) throw new CheckInputError(`${host}: pkgs.${this.settings.package} does not exist (PLUGIN_PACKAGE)`);
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
    const script = wrapperScript(pkg.out, this.settings.package);
    if (!script) throw new CheckInputError(`${pkg.out} has no bin/${this.settings.package}`);
    return { text: readFileSync(script, 'utf8'), source: script };
  }

  /** Absolute path of a repository file. */
  repoPath(rel: string): string {
    return path.join(this.settings.flake, rel);
  }

  hostConfigFile(host: string): string {
    return this.settings.hostConfig.replaceAll('{host}', host);
  }

  readRepoFile(rel: string): string {
    const full = this.repoPath(rel);
    if (!existsSync(full)) throw new CheckInputError(`${rel} does not exist in ${this.settings.flake}`);
    return readFileSync(full, 'utf8');
  }
}
