// Temporary state that must go on every way out: normal return, error,
// timeout, SIGINT/SIGTERM. Cleanups are synchronous so a signal handler can run them.
// Live subprocess groups (every nix the verifier starts leads its own) are
// stopped first, so nothing outlives the run and nothing writes into a temp dir
// while it is removed.

const cleanups = new Set<() => void>();

/** Registers a cleanup; call the returned function to run it now and unregister it. */
export function onCleanup(fn: () => void): () => void {
  cleanups.add(fn);
  return () => {
    if (cleanups.delete(fn)) fn();
  };
}

export function runCleanups(): void {
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    try {
      fn();
    } catch {
      // Best effort: one failing cleanup must not keep the others from running.
    }
  }
}

// --- process groups ---

const groups = new Set<number>();
let shuttingDown = false;

/** True once a signal arrived: no new subprocess may start. */
export const isShuttingDown = (): boolean => shuttingDown;

/** Records a live process group (its leader's pid); the returned function forgets it. */
export function registerProcessGroup(pgid: number): () => void {
  groups.add(pgid);
  return () => {
    groups.delete(pgid);
  };
}

/** The registered groups (for tests and diagnostics). */
export const liveProcessGroups = (): number[] => [...groups];

/** Sends a signal to every process of a group; false when the group is gone. */
export function killGroupNow(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

const groupAlive = (pgid: number): boolean => killGroupNow(pgid, 0);

/**
 * SIGTERM to the group, SIGKILL after `graceMs` when anything of it is left.
 * Resolves when the group is gone (or after the SIGKILL).
 */
export function stopProcessGroup(pgid: number, graceMs: number): Promise<void> {
  if (!killGroupNow(pgid, 'SIGTERM')) return Promise.resolve();
  return new Promise((resolve) => {
    const deadline = Date.now() + graceMs;
    const poll = (): void => {
      if (!groupAlive(pgid)) {
        resolve();
        return;
      }
      if (Date.now() >= deadline) {
        killGroupNow(pgid, 'SIGKILL');
        resolve();
        return;
      }
      setTimeout(poll, 50).unref();
    };
    setTimeout(poll, 20).unref();
  });
}

/** Stops every live group: SIGTERM, then SIGKILL after the grace period. */
export async function stopAllProcessGroups(graceMs: number): Promise<void> {
  await Promise.all([...groups].map((g) => stopProcessGroup(g, graceMs)));
}

/** SIGKILL to every live group at once (the last resort: process exit, a second signal). */
export function killAllProcessGroups(): void {
  for (const g of groups) killGroupNow(g, 'SIGKILL');
}

const interruptHandlers = new Set<(signal: NodeJS.Signals) => void>();

/** Registers what must still happen when a signal ends the run (the requested reports); synchronous. */
export function onInterrupt(fn: (signal: NodeJS.Signals) => void): () => void {
  interruptHandlers.add(fn);
  return () => {
    interruptHandlers.delete(fn);
  };
}

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** Grace between SIGTERM and SIGKILL for the subprocess groups on a signal. */
export const SIGNAL_GRACE_MS = 3000;

/**
 * On a signal: stop every subprocess group (SIGTERM, SIGKILL after a grace
 * period), clean up, and exit with 128+signo (the one place the program calls
 * process.exit). A second signal skips the grace period.
 */
export function installSignalCleanup({ graceMs = SIGNAL_GRACE_MS }: { graceMs?: number } = {}): void {
  let exiting: number | undefined;
  let signalled: NodeJS.Signals = 'SIGTERM';
  const finish = (code: number): never => {
    killAllProcessGroups();
    for (const fn of [...interruptHandlers]) {
      interruptHandlers.delete(fn);
      try {
        fn(signalled);
      } catch {
        // The exit code still tells what happened.
      }
    }
    runCleanups();
    process.exit(code);
  };
  for (const [signal, code] of Object.entries(SIGNAL_EXIT)) {
    process.on(signal as NodeJS.Signals, () => {
      if (exiting !== undefined) finish(exiting);
      exiting = code;
      signalled = signal as NodeJS.Signals;
      shuttingDown = true;
      // The timer keeps the event loop alive until the groups are gone.
      const keepAlive = setTimeout(() => undefined, graceMs + 5000);
      void stopAllProcessGroups(graceMs).finally(() => {
        clearTimeout(keepAlive);
        finish(code);
      });
    });
  }
  process.once('exit', () => {
    killAllProcessGroups();
    runCleanups();
  });
}
