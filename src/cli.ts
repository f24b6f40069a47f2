// The program: settings -> verify -> outputs -> exit code. Errors map to exit codes here only.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHECKS } from './checks/index.js';
import { isShuttingDown, onInterrupt } from './cleanup.js';
import { exitCodeFor, PreflightError, SettingsError } from './errors.js';
import { createLogger } from './logger.js';
import { zxRunner, type CommandRunner } from './nix/command.js';
import { collectSecrets, redact } from './redact.js';
import { cardEscape, cardTarget, renderCard } from './render/card.js';
import { redactVerdict } from './render/common.js';
import { renderConsole } from './render/console.js';
import { renderDroneOutput } from './render/droneOutput.js';
import { renderJson } from './render/json.js';
import { renderJunit } from './render/junit.js';
import { renderMarkdown } from './render/markdown.js';
import { verify } from './run.js';
import { BUILTIN_SPEC_YAML } from './claim/builtin.js';
import { SPEC_SCHEMA_MODELINE } from './claim/jsonSchema.js';
import { helpText } from './help.js';
import { checkSpecFromEnv, runCheckSpec, runInit } from './specCommands.js';
import { parseArgv, parseSettings, settingsDeviations, type Settings } from './settings.js';
import { checkSettingsFs } from './settingsFs.js';
import type { CheckId, CheckResult, Verdict } from './verdict.js';
import { TOOL } from './version.js';

export interface CliIo {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
  /** Whether stderr is a terminal (coloured log); isTTY when not given. */
  stderrIsTTY?: boolean;
  runner?: CommandRunner;
  /** Called once the timeout is known (the real entrypoint starts the stop watchdog, src/watchdog.ts). */
  watchdog?: (timeoutMs: number) => void;
}

/**
 * A message for stderr, inert (issue 16): controls spelled \uXXXX, and every line after the
 * first indented, so a repository's text in a message cannot start a line at column 0.
 */
export function stderrMessage(text: string): string {
  const lines = text
    .replace(/\r\n/g, '\n')
    .replace(
      /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
    )
    .split('\n');
  return lines.map((l, i) => (i === 0 || /^\s/.test(l) ? l : `  ${l}`)).join('\n');
}

function writeFile(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/**
 * What the renderers need beyond the checks, computed once: the settings that
 * differ from the claim, when and where the run happened, the commit Drone
 * checked out, and the checks left out.
 */
export function completeVerdict(
  verdict: Verdict,
  settings: Settings,
  env: NodeJS.ProcessEnv,
  startedAt: Date = new Date(Date.now() - verdict.durationMs),
): Verdict {
  const source = {
    repo: env.DRONE_REPO,
    commit: env.DRONE_COMMIT_SHA ?? env.DRONE_COMMIT,
    buildLink: env.DRONE_BUILD_LINK,
  };
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v)) as Verdict['source'];
  const ran = new Set(verdict.checks.map((c) => c.id));
  return {
    ...verdict,
    deviations: verdict.deviations ?? settingsDeviations(settings),
    spec: verdict.spec ?? settings.spec ?? 'built-in',
    startedAt: verdict.startedAt ?? startedAt.toISOString(),
    hostname: verdict.hostname ?? os.hostname(),
    ...(present && Object.keys(present).length ? { source: present } : {}),
    notSelected: verdict.notSelected ?? CHECKS.filter((c) => !ran.has(c.id)).map((c) => ({ id: c.id, title: c.title })),
  };
}

/**
 * Report files, DRONE_OUTPUT variables, then the Drone card. runCli calls this
 * after the logger is flushed and the console verdict is printed, so the card
 * is the last thing on stdout. Files and the card get the verdict with secret
 * values redacted (evidence quotes logs).
 */
export function writeOutputs(
  verdict: Verdict,
  settings: Settings,
  io: CliIo,
  secrets: readonly string[] = collectSecrets(io.env),
): void {
  const shown = redactVerdict(verdict, secrets);
  const resolve = (file: string): string => path.resolve(io.cwd, file);
  if (settings.report) writeFile(resolve(settings.report), renderJson(shown));
  if (settings.junit) writeFile(resolve(settings.junit), renderJunit(shown));
  if (settings.summary) writeFile(resolve(settings.summary), renderMarkdown(shown));
  if (io.env.DRONE_OUTPUT) {
    // Other steps or plugins may have written variables already: append, on a line of our own.
    const file = resolve(io.env.DRONE_OUTPUT);
    const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
    mkdirSync(path.dirname(file), { recursive: true });
    appendFileSync(file, `${before !== '' && !before.endsWith('\n') ? '\n' : ''}${renderDroneOutput(shown)}`);
  }
  const target = cardTarget(io.env, io.cwd);
  if (target.kind === 'off') return;
  const card = renderCard(shown);
  try {
    if (target.kind === 'stdout') io.stdout(cardEscape(card));
    else if (target.kind === 'stderr') io.stderr(cardEscape(card));
    else writeFile(target.path, JSON.stringify(card));
  } catch (err) {
    // The card is a convenience: failing to write it must not change the verdict.
    io.stderr(`nixenv-verify: could not write the Drone card: ${redact((err as Error).message, secrets)}\n`);
  }
}

/** Runs the CLI and returns its exit code (0 pass, 1 fail, 2 bad settings or cannot start). */
export async function runCli(io: CliIo): Promise<number> {
  let settings: Settings;
  let secrets = collectSecrets(io.env);
  let verbose = false;
  try {
    const args = parseArgv(io.argv);
    verbose = args.verbose;
    secrets = collectSecrets(io.env, args.flags);
    if (args.help) {
      io.stdout(`${helpText()}\n`);
      return 0;
    }
    if (args.version) {
      io.stdout(`${TOOL.name} ${TOOL.version}\n`);
      return 0;
    }
    if (args.printSpec) {
      io.stdout(`${SPEC_SCHEMA_MODELINE}\n${BUILTIN_SPEC_YAML}`);
      return 0;
    }
    settings = parseSettings({ env: io.env, flags: args.flags, cwd: io.cwd });
    // --check-spec reads the spec as written and checks its files itself, naming their spec keys.
    const checkingSpec = args.checkSpec || checkSpecFromEnv(io.env);
    if (!checkingSpec) checkSettingsFs(settings, { env: io.env, cwd: io.cwd });
    io.watchdog?.(settings.timeoutMs);
    if (checkingSpec) return await runCheckSpec(settings, io);
    if (args.init) return await runInit(settings, io);
  } catch (err) {
    // The message of a malformed value may quote it: redacted like everything else; never a stack.
    io.stderr(`nixenv-verify: ${stderrMessage(redact((err as Error).message, secrets))}\n`);
    return exitCodeFor(err);
  }
  const logger = createLogger({
    level: settings.logLevel,
    format: settings.logFormat,
    color: (io.stderrIsTTY ?? io.isTTY) && !io.env.NO_COLOR && !io.env.CI,
    write: io.stderr,
    secrets,
  });
  const started = new Date();
  // A signal ends the run early: the requested reports are still written, unfinished checks as errors.
  const done = new Map<CheckId, CheckResult>();
  let plan: { flakeRef: string; checks: { id: CheckId; title: string }[] } | undefined;
  const stopReporting = onInterrupt((signal) => {
    const checks = (plan?.checks ?? settings.checks.map((id) => ({ id, title: id }))).map(
      (c) =>
        done.get(c.id) ?? {
          id: c.id,
          title: c.title,
          status: 'error' as const,
          summary: `interrupted by ${signal} before this check finished`,
          evidence: [],
          durationMs: Date.now() - started.getTime(),
        },
    );
    const partial: Verdict = {
      verdict: 'fail',
      mode: settings.mode,
      flake: settings.flake,
      flakeRef: plan?.flakeRef ?? settings.flake,
      hosts: settings.hosts,
      nix: { version: 'unknown (interrupted)' },
      checks,
      durationMs: Date.now() - started.getTime(),
      tool: TOOL,
    };
    const verdict = completeVerdict(partial, settings, io.env, started);
    io.stderr(
      `nixenv-verify: interrupted by ${signal}; verdict FAIL (${checks.filter((c) => c.status === 'error').length} check(s) unfinished)\n`,
    );
    writeOutputs(verdict, settings, io, secrets);
  });
  try {
    const finished = await verify({
      settings,
      logger,
      runner: io.runner ?? zxRunner,
      env: io.env,
      onStart: (p) => (plan = p),
      // A check that ends after a signal ended because its nix was stopped: it stays "interrupted".
      onCheck: (r) => (isShuttingDown() ? undefined : done.set(r.id, r)),
    });
    // A signal arrived while the last checks ended (their nix was stopped): the interrupt
    // handler writes the reports, with those checks as interrupted, and exits 128+signo.
    if (isShuttingDown()) return await new Promise<number>(() => undefined);
    const verdict = completeVerdict(finished, settings, io.env, started);
    stopReporting();
    io.stdout(
      renderConsole(redactVerdict(verdict, secrets), {
        color: io.isTTY && !io.env.NO_COLOR,
        verbose: verbose || settings.logLevel === 'debug' || settings.logLevel === 'trace',
      }),
    );
    writeOutputs(verdict, settings, io, secrets);
    return verdict.verdict === 'pass' ? 0 : 1;
  } catch (err) {
    if (err instanceof PreflightError || err instanceof SettingsError) {
      io.stderr(`nixenv-verify: ${stderrMessage(redact(err.message, secrets))}\n`);
    } else {
      // No stack trace for users: the message, and the stack in the debug log.
      logger.debug({ err }, 'unexpected error');
      io.stderr(
        `nixenv-verify: unexpected error: ${stderrMessage(redact((err as Error).message ?? String(err), secrets))} (run with PLUGIN_LOG_LEVEL=debug for details)\n`,
      );
    }
    return exitCodeFor(err);
  } finally {
    stopReporting();
  }
}
