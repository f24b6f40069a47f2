// The one place subprocesses are spawned. Failures are results, not exceptions.
// zx/core: the process layer without zx's globals (half the import time), loaded on the first command so that
// main.ts can start `nix --version` before the rest of the verifier loads.
//
// Every command runs in its own process group (spawn detached = setsid), so a
// timeout or a signal to the verifier stops nix *and* its builders: SIGTERM to
// the group, then SIGKILL after a grace period. zx's own timeout is not used: it
// lists the process tree with `ps` (absent from minimal images; zx then crashes)
// and stops at SIGTERM, which a builder may ignore.
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
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

let zxLoading: Promise<typeof import('zx/core')> | undefined;
const zxCore = (): Promise<typeof import('zx/core')> => (zxLoading ??= import('zx/core'));

export const zxRunner: CommandRunner = async (cmd, args, options = {}) => {
  const started = Date.now();
  const { $ } = await zxCore();
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

  let child: ChildProcess | undefined;
  let unregister: (() => void) | undefined;
  // zx hands its spawn options to this function: the child is a group leader and
  // is registered before any other code runs, so a signal handler always sees it.
  const spawnInGroup = ((file: string, spawnArgs: readonly string[], opts: SpawnOptions) => {
    child = nodeSpawn(file, spawnArgs, { ...opts, detached: true });
    if (child.pid !== undefined) unregister = registerProcessGroup(child.pid);
    return child;
  }) as typeof nodeSpawn;

  const shell = $({
    nothrow: true,
    quiet: true,
    verbose: false,
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    spawn: spawnInGroup,
  });
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const running = shell`${cmd} ${args}`;
    if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        if (child?.pid !== undefined) void stopProcessGroup(child.pid, grace);
      }, options.timeoutMs);
    }
    const out = await running;
    return {
      exitCode: timedOut ? null : out.exitCode,
      stdout: out.stdout,
      stderr: out.stderr,
      timedOut,
      durationMs: Date.now() - started,
      ...(out.signal ? { signal: out.signal } : {}),
    };
  } catch (error) {
    // Spawn failures (ENOENT) arrive here even with nothrow.
    return {
      exitCode: 127,
      stdout: '',
      // A thrown value need not be an Error: its message may be missing.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion
      stderr: String((error as Error).message ?? error),
      timedOut,
      durationMs: Date.now() - started,
    };
  } finally {
    if (timer) clearTimeout(timer);
    // The leader is gone; whatever it left in its group (a backgrounded builder) goes too.
    if (child?.pid !== undefined) killGroupNow(child.pid, 'SIGKILL');
    unregister?.();
  }
};
