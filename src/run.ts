// Runs the selected checks against one flake and returns the verdict.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { CHECKS } from './checks/index.js';
import type { CheckDefinition } from './checks/types.js';
import { chooseBase, materializeBase } from './base.js';
import { RunContext } from './context.js';
import { CheckInputError, NixCommandError, PreflightError } from './errors.js';
import { zxRunner, type CommandRunner } from './nix/command.js';
import { createNixClient, pidJail, type NixClient } from './nix/client.js';
import { detectBuildIsolation, untrustedBuild, type BuildIsolation } from './nix/isolation.js';
import { compareWorkspace, snapshotWorkspace } from './workspace.js';
import { effectiveConcurrency, settingsDeviations, type Settings } from './settings.js';
import { overallVerdict, type CheckId, type CheckResult, type Verdict } from './verdict.js';
import { TOOL } from './version.js';

export function preflightFlake(settings: Settings): void {
  const dir = settings.flake;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new PreflightError(
      `flake directory ${dir} does not exist (PLUGIN_FLAKE, default $DRONE_WORKSPACE or the current directory)`,
    );
  }
  if (!existsSync(path.join(dir, 'flake.nix'))) {
    throw new PreflightError(`${dir} is not a flake: no flake.nix (PLUGIN_FLAKE)`);
  }
}

/**
 * Nix needs a store it can write (root, or a user owning /nix) or a daemon to talk to.
 * Without either every nix call fails, which says nothing about the repository: exit 2.
 */
export function preflightStore(
  env: NodeJS.ProcessEnv,
  probe: { writable: (p: string) => boolean; exists: (p: string) => boolean; uid: number } = defaultProbe,
): void {
  const remote = env.NIX_REMOTE ?? '';
  if (remote !== '' && remote !== 'local') return; // daemon, ssh-ng://…: nix reaches its store through it
  const socket = '/nix/var/nix/daemon-socket/socket';
  if (remote === '' && probe.exists(socket)) return; // nix's "auto" store falls back to the daemon
  const db = '/nix/var/nix/db';
  if (probe.exists('/nix/store') && !probe.writable(probe.exists(db) ? db : '/nix/store')) {
    throw new PreflightError(
      `cannot start: the Nix store /nix/store is not writable by uid ${probe.uid} and no nix-daemon socket is at ${socket}; run as root, as the store's owner, or mount the host's /nix with its daemon (NIX_REMOTE=daemon)`,
    );
  }
}

const defaultProbe = {
  writable: (p: string): boolean => {
    try {
      accessSync(p, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
  exists: (p: string): boolean => existsSync(p),
  uid: process.getuid?.() ?? -1,
};

export async function runCheck(check: CheckDefinition, ctx: RunContext): Promise<CheckResult> {
  const started = Date.now();
  try {
    const outcome = await check.run(ctx);
    return { id: check.id, title: check.title, ...outcome, durationMs: Date.now() - started };
  } catch (err) {
    // A check that cannot reach an answer is an error, never a pass.
    // No stack trace reaches a user: the message here, the stack in the debug log.
    const evidence =
      err instanceof NixCommandError
        ? [err.command, ...err.excerpt]
        : err instanceof CheckInputError
          ? []
          : [`unexpected: ${(err as Error).message ?? String(err)}`];
    const summary =
      err instanceof NixCommandError
        ? `nix failed: ${err.excerpt.find((l) => /error/i.test(l)) ?? err.command}`
        : (err as Error).message;
    ctx.logger.debug({ err, check: check.id }, 'check errored');
    return { id: check.id, title: check.title, status: 'error', summary, evidence, durationMs: Date.now() - started };
  }
}

export interface VerifyOptions {
  settings: Settings;
  logger: Logger;
  runner: CommandRunner;
  env?: NodeJS.ProcessEnv;
  /** Given in tests to reuse a client; otherwise made from runner. */
  nix?: NixClient;
  checks?: readonly CheckDefinition[];
  /** Given in tests: the client for the base revision's files (else one is made from runner). */
  baseNix?: (dir: string) => NixClient;
  /** Progress, for a report written when a signal ends the run early. */
  onStart?: (info: { flakeRef: string; checks: { id: CheckId; title: string }[] }) => void;
  onCheck?: (result: CheckResult) => void;
  /** Given in tests; otherwise detected on this host. */
  isolation?: BuildIsolation;
}

export async function verify(options: VerifyOptions): Promise<Verdict> {
  const { settings, logger } = options;
  const started = Date.now();
  preflightFlake(settings);
  if (!options.nix) preflightStore(options.env ?? process.env);
  // Who runs the repository's builders (isolation.ts); eval mode allows no import-from-derivation, so it builds
  // nothing.
  const isolation: BuildIsolation | undefined = options.nix
    ? undefined
    : (options.isolation ?? detectBuildIsolation(options.env ?? process.env));
  const modeArgs =
    settings.mode === 'eval' ? ['--option', 'allow-import-from-derivation', 'false'] : [...(isolation?.args ?? [])];
  // The workspace before any nix evaluation or build: a build that writes into it is a failure (workspace.ts). Read
  // beside the client's own start (git, and `nix --version`, which touches no file).
  const snapshot = options.nix ? undefined : snapshotWorkspace(settings.flake, options.runner);
  snapshot?.catch(() => undefined);
  const nix =
    options.nix ??
    (await createNixClient({
      runner: options.runner,
      flakeDir: settings.flake,
      submodules: settings.submodules,
      submoduleUrls: settings.submoduleUrls ?? [],
      // The user's arguments last, as given (they cannot name sandbox or build-users-group: settings.ts refuses them).
      extraArgs: [...modeArgs, ...settings.nixOptions],
      // Real processes only: a fake runner (tests) gets nix's own arguments.
      jail: options.runner === zxRunner ? pidJail(options.env ?? process.env) : undefined,
      timeoutMs: settings.timeoutMs,
      concurrency: effectiveConcurrency(settings, settings.hosts.length),
      logger,
      env: options.env,
    }));
  const before = await snapshot;
  logger.info({ flake: nix.flakeRef, mode: settings.mode }, `verifying ${nix.flakeRef}`);
  const ctx = new RunContext(settings, nix, logger);
  const selected = (options.checks ?? CHECKS).filter((c) => settings.checks.includes(c.id));
  if (selected.some((c) => c.id === 'no-drop')) ctx.comparison = await baseComparison(options, nix);
  // Checks run together; they share one evaluation and one build per host through the context.
  options.onStart?.({ flakeRef: nix.flakeRef, checks: selected.map((c) => ({ id: c.id, title: c.title })) });
  const pending = Promise.all(selected.map((c) => runCheck(c, ctx).then((r) => (options.onCheck?.(r), r))));
  // A nix that cannot tell its version cannot be trusted with the rest: that is exit 2.
  const version = await nix.version;
  logger.info({ nix: version }, `nix ${version}`);
  const checks = await pending;
  // The level says what happened: a fail is a warning about the repository, an error a check that could not decide.
  for (const c of checks) {
    const level = c.status === 'fail' ? 'warn' : c.status === 'error' ? 'error' : 'info';
    logger[level]({ check: c.id, status: c.status, ms: c.durationMs }, `${c.id}: ${c.status}`);
  }
  const hazards: string[] = [];
  const deviations = settingsDeviations(settings);
  const trust = isolation ? untrustedBuild(isolation, settings.mode, settings.allowUnsandboxedBuild) : {};
  if (trust.hazard) hazards.push(trust.hazard);
  if (trust.accepted)
    deviations.push({
      setting: 'allow_unsandboxed_build',
      value: 'true',
      default: 'false',
      label: `allow_unsandboxed_build (${trust.accepted})`,
    });
  if (before) hazards.push(...compareWorkspace(before, await snapshotWorkspace(settings.flake, options.runner)));
  for (const h of hazards) logger.error(h);
  return {
    verdict: overallVerdict(checks, hazards),
    ...(isolation && settings.mode === 'build'
      ? { isolation: { kind: isolation.kind, description: isolation.description } }
      : {}),
    ...(hazards.length ? { hazards } : {}),
    deviations,
    mode: settings.mode,
    flake: settings.flake,
    flakeRef: nix.flakeRef,
    hosts: settings.hosts,
    nix: { version },
    checks,
    durationMs: Date.now() - started,
    tool: TOOL,
    ...(ctx.comparison?.diff ? { runtimeDiff: ctx.comparison.diff } : {}),
  };
}

/**
 * The base revision (exit 2 when the clone lacks it), and how to open it: its files copied out of
 * the repository, evaluated through a client of their own, in eval mode whatever the run's mode.
 */
async function baseComparison(options: VerifyOptions, nix: NixClient): Promise<NonNullable<RunContext['comparison']>> {
  const { settings, logger } = options;
  const env = options.env ?? process.env;
  const choice = await chooseBase(options.runner, settings.flake, settings.base, env);
  if ('none' in choice) {
    logger.info(choice.none);
    return { choice };
  }
  logger.info({ base: choice.commit }, `comparing with ${choice.rev} (${choice.source})`);
  let opened: Promise<{ ctx: RunContext; notes: string[] }> | undefined;
  const open = (): Promise<{ ctx: RunContext; notes: string[] }> =>
    (opened ??= (async () => {
      const tree = await materializeBase(options.runner, settings.flake, choice.commit, env);
      const baseSettings: Settings = { ...settings, flake: tree.dir, mode: 'eval', submodules: false };
      // A submodule the clone lacks (Drone's default clone fetches none): Nix fetches the base commit's, as it does for
      // head.
      const viaNix = tree.missingSubmodules.length > 0 && settings.submodules;
      const client =
        options.baseNix?.(tree.dir) ??
        (await createNixClient({
          runner: options.runner,
          flakeDir: viaNix ? settings.flake : tree.dir,
          submodules: viaNix,
          ...(viaNix ? { rev: choice.commit } : {}),
          extraArgs: settings.nixOptions,
          timeoutMs: settings.timeoutMs,
          concurrency: effectiveConcurrency(settings, settings.hosts.length),
          logger,
          env: options.env,
          version: nix.version,
        }));
      if (viaNix)
        tree.notes.push(
          `Nix evaluates the base commit with its submodules (${client.flakeRef}); its files are read from the copy`,
        );
      return { ctx: new RunContext(baseSettings, client, logger.child({ side: 'base' })), notes: tree.notes };
    })());
  return { choice, open };
}
