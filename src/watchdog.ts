// A watchdog outside the verifier: a stopped verifier (SIGSTOP from a build
// running as the same uid, a debugger) cannot enforce its own timeout, so a
// separate process does. Contract: Linux /proc/PID/stat field 3 (state);
// `T` (stopped) and `t` (tracing stop) count as stopped. When the verifier has
// been stopped for longer than the timeout (PLUGIN_TIMEOUT) in one stretch, the
// watchdog sends it SIGKILL; its nix processes then die with it (their PID
// namespace's pdeathsig, see pidJail in nix/client.ts). The step fails (exit
// 137, no report): never a pass. The watchdog is its own session (a CI runner
// stopping the step's group does not stop it) and ends within a second of the
// verifier, however the verifier ends: the verifier stops its whole group on exit,
// and after a SIGKILL of the verifier the loop sees it gone within 0.2 s. It gets
// only PATH of the verifier's environment (no credential, no marker of the caller).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const SCRIPT = `pid=$1; limit=$2; stopped=0
while kill -0 "$pid" 2>/dev/null; do
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
  case "$state" in T|t) stopped=$((stopped+1)) ;; *) stopped=0 ;; esac
  if [ "$stopped" -gt "$limit" ]; then kill -KILL "$pid"; exit 0; fi
  sleep 0.2
done`;

/** Starts the watchdog for this process; false where there is no /proc or no /bin/sh. */
export function startStopWatchdog(timeoutMs: number, pid: number = process.pid): boolean {
  if (!existsSync(`/proc/${pid}/stat`) || !existsSync('/bin/sh')) return false;
  try {
    const child = spawn(
      '/bin/sh',
      ['-c', SCRIPT, 'nixenv-verify-watchdog', String(pid), String(Math.ceil(timeoutMs / 200))],
      { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
    );
    child.on('error', () => undefined);
    child.unref();
    // Its own process group (detached): stopped with its `sleep` when the verifier exits.
    const group = child.pid;
    if (group !== undefined)
      process.once('exit', () => {
        try {
          process.kill(-group, 'SIGKILL');
        } catch {
          /* already gone */
        }
      });
    return true;
  } catch {
    return false;
  }
}
