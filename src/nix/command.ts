// The one place subprocesses are spawned. Failures are results, not exceptions.
// Node's spawn, the command itself: no shell in between (one process less each, and no zx to load at start-up).
//
// Every command runs in its own process group (spawn detached = setsid), so a
// timeout or a signal to the verifier stops nix *and* its builders: SIGTERM to
// the group, then SIGKILL after a grace period. zx's own timeout is not used: it
// listed the process tree with `ps` (absent from minimal images) and stopped at
// SIGTERM, which a builder may ignore.
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import { isShuttingDown, killGroupNow, registerProcessGroup, stopProcessGroup } from '../cleanup.js';

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
  /** The signal that ended the process (a crash, the OOM killer, our timeout). */
  signal?: string;
}

export interface CommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Name counted in spawnStats (e.g. `nix eval`); the command name by default. */
  label?: string;
  /** SIGTERM → SIGKILL grace for the process group (default KILL_GRACE_MS). */
  killGraceMs?: number;
}

export type CommandRunner = (cmd: string, args: readonly string[], options?: CommandOptions) => Promise<CommandResult>;

/** How long a process group gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 3000;

/** Counts spawned processes so the benchmark can report them. */
export const spawnStats = { count: 0, byCommand: new Map<string, number>() };

export const zxRunner: CommandRunner = async (cmd, args, options = {}) => {
  const started = Date.now();
  if (isShuttingDown()) {
    return {
      exitCode: null,
      stdout: '',
      stderr: 'not started: nixenv-verify is stopping (signal)',
      timedOut: false,
      durationMs: 0,
    };
  }
  spawnStats.count++;
  const key = options.label ?? cmd;
  spawnStats.byCommand.set(key, (spawnStats.byCommand.get(key) ?? 0) + 1);
  const grace = options.killGraceMs ?? KILL_GRACE_MS;

  return new Promise<CommandResult>((resolve) => {
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    let unregister: (() => void) | undefined;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let child: ChildProcess;
    let done = false;
    const finish = (result: Omit<CommandResult, 'timedOut' | 'durationMs'>): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      // The leader is gone; whatever it left in its group (a backgrounded builder) goes too.
      if (child.pid !== undefined) killGroupNow(child.pid, 'SIGKILL');
      unregister?.();
      resolve({ ...result, timedOut, durationMs: Date.now() - started });
    };
    try {
      // The command itself (no shell), leading a process group of its own, registered before any other code runs, so
      // a signal handler always sees it.
      child = nodeSpawn(cmd, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      resolve({ exitCode: 127, stdout: '', stderr: (error as Error).message, timedOut, durationMs: 0 });
      return;
    }
    if (child.pid !== undefined) unregister = registerProcessGroup(child.pid);
    child.stdout?.on('data', (d: Buffer) => stdout.push(d));
    child.stderr?.on('data', (d: Buffer) => stderr.push(d));
    // Spawn failures (ENOENT) are results: exit 127 with the message.
    child.on('error', (error) => finish({ exitCode: 127, stdout: '', stderr: error.message }));
    // A process left in the group may hold the pipes open: it is stopped when the leader exits.
    child.on('exit', () => {
      if (child.pid !== undefined) killGroupNow(child.pid, 'SIGKILL');
    });
    child.on('close', (code, signal) =>
      finish({
        exitCode: timedOut ? null : code,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        ...(signal ? { signal } : {}),
      }),
    );
    if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        if (child.pid !== undefined) void stopProcessGroup(child.pid, grace);
      }, options.timeoutMs);
    }
  });
};
