// The program: settings -> verify -> outputs -> exit code. Errors map to exit codes here only.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exitCodeFor, PreflightError, SettingsError } from './errors.js';
import { createLogger } from './logger.js';
import { zxRunner, type CommandRunner } from './nix/command.js';
import { renderConsole } from './render/console.js';
import { renderJson } from './render/json.js';
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

export function writeOutputs(verdict: Verdict, settings: Settings, io: CliIo): void {
  if (settings.report) writeFile(path.resolve(io.cwd, settings.report), renderJson(verdict));
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
  const logger = createLogger(settings.logLevel, io.env, io.isTTY && !io.env.CI);
  try {
    const verdict = await verify({ settings, logger, runner: io.runner ?? zxRunner, env: io.env });
    logger.flush?.();
    io.stdout(renderConsole(verdict, { color: io.isTTY && !io.env.NO_COLOR }));
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
