// The program: settings -> verify -> outputs -> exit code. Errors map to exit codes here only.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exitCodeFor, PreflightError, SettingsError } from './errors.js';
import { createLogger, secretValues } from './logger.js';
import { zxRunner, type CommandRunner } from './nix/command.js';
import { cardEscape, cardTarget, renderCard } from './render/card.js';
import { redactVerdict } from './render/common.js';
import { renderConsole } from './render/console.js';
import { renderDroneOutput } from './render/droneOutput.js';
import { renderJson } from './render/json.js';
import { renderJunit } from './render/junit.js';
import { renderMarkdown } from './render/markdown.js';
import { verify } from './run.js';
import { helpText, parseArgv, parseSettings, type Settings } from './settings.js';
import type { Verdict } from './verdict.js';
import { TOOL } from './version.js';

export interface CliIo {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
  runner?: CommandRunner;
}

function writeFile(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/**
 * Report files, DRONE_OUTPUT variables, then the Drone card. runCli calls this
 * after the logger is flushed and the console verdict is printed, so the card
 * is the last thing on stdout. Files and the card get the verdict with secret
 * values redacted (evidence quotes logs).
 */
export function writeOutputs(verdict: Verdict, settings: Settings, io: CliIo): void {
  const shown = redactVerdict(verdict, secretValues(io.env));
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
  const target = cardTarget(io.env, io.cwd, existsSync);
  const card = renderCard(shown);
  try {
    if (target.kind === 'stdout') io.stdout(cardEscape(card));
    else if (target.kind === 'stderr') io.stderr(cardEscape(card));
    else if (target.kind === 'file') writeFile(target.path, JSON.stringify(card));
  } catch (err) {
    // The card is a convenience: failing to write it must not change the verdict.
    io.stderr(`nixenv-verify: could not write the Drone card: ${(err as Error).message}\n`);
  }
}

/** Runs the CLI and returns its exit code (0 pass, 1 fail, 2 bad settings or cannot start). */
export async function runCli(io: CliIo): Promise<number> {
  let settings: Settings;
  try {
    const args = parseArgv(io.argv);
    if (args.help) {
      io.stdout(`${helpText()}\n`);
      return 0;
    }
    if (args.version) {
      io.stdout(`${TOOL.name} ${TOOL.version}\n`);
      return 0;
    }
    settings = parseSettings({ env: io.env, flags: args.flags, cwd: io.cwd });
  } catch (err) {
    io.stderr(`nixenv-verify: ${(err as Error).message}\n`);
    return err instanceof SettingsError ? 2 : 1;
  }
  const logger = await createLogger(settings.logLevel, io.env, io.isTTY && !io.env.CI);
  try {
    const verdict = await verify({ settings, logger, runner: io.runner ?? zxRunner, env: io.env });
    logger.flush?.();
    io.stdout(renderConsole(redactVerdict(verdict, secretValues(io.env)), { color: io.isTTY && !io.env.NO_COLOR }));
    writeOutputs(verdict, settings, io);
    return verdict.verdict === 'pass' ? 0 : 1;
  } catch (err) {
    if (err instanceof PreflightError || err instanceof SettingsError) {
      io.stderr(`nixenv-verify: ${err.message}\n`);
    } else {
      io.stderr(`nixenv-verify: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    }
    return exitCodeFor(err);
  }
}
