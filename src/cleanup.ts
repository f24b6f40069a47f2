// Temporary state that must go on every way out: normal return, error,
// timeout, SIGINT/SIGTERM. Cleanups are synchronous so a signal handler can run them.

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

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** On a signal, clean up and exit with 128+signo (the one place the program calls process.exit). */
export function installSignalCleanup(): void {
  for (const [signal, code] of Object.entries(SIGNAL_EXIT)) {
    process.once(signal as NodeJS.Signals, () => {
      runCleanups();
      process.exit(code);
    });
  }
  process.once('exit', runCleanups);
}
