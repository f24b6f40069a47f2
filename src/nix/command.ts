// The one place subprocesses are spawned. Failures are results, not exceptions.
// zx/core: the process layer without zx's globals (half the import time).
import { $ } from 'zx/core';

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface CommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Name counted in spawnStats (e.g. `nix eval`); the command name by default. */
  label?: string;
}

export type CommandRunner = (cmd: string, args: readonly string[], options?: CommandOptions) => Promise<CommandResult>;

/** Counts spawned processes so the benchmark can report them. */
export const spawnStats = { count: 0, byCommand: new Map<string, number>() };

export const zxRunner: CommandRunner = async (cmd, args, options = {}) => {
  const started = Date.now();
  spawnStats.count++;
  const key = options.label ?? cmd;
  spawnStats.byCommand.set(key, (spawnStats.byCommand.get(key) ?? 0) + 1);
  const shell = $({
    nothrow: true,
    quiet: true,
    verbose: false,
    cwd: options.cwd,
    env: options.env ?? process.env,
    timeout: options.timeoutMs,
    timeoutSignal: 'SIGTERM',
  });
  try {
    const out = await shell`${cmd} ${args}`;
    const timedOut = out.signal === 'SIGTERM' && options.timeoutMs !== undefined && Date.now() - started >= options.timeoutMs - 50;
    return { exitCode: out.exitCode, stdout: out.stdout, stderr: out.stderr, timedOut, durationMs: Date.now() - started };
  } catch (error) {
    // Spawn failures (ENOENT) arrive here even with nothrow.
    return { exitCode: 127, stdout: '', stderr: String((error as Error).message ?? error), timedOut: false, durationMs: Date.now() - started };
  }
};
