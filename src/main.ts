#!/usr/bin/env -S node --max-semi-space-size=4
// The flag (here and in docker/entrypoint.sh): a young generation of 4 MiB semi-spaces, not up to 16: the verifier's
// heap is ~30 MiB, and V8's default lets the nursery alone grow past that (issue 21: peak RSS ≤ 120 MB at 16 hosts).
// First: no signal can open the Node inspector (see signals.ts).
import './signals.js';
import { writeFileSync } from 'node:fs';
import { installSignalCleanup } from './cleanup.js';
import { spawnStats, zxRunner } from './nix/command.js';
import { startVersionProbe } from './nix/versionProbe.js';

installSignalCleanup();
// A verifying run (no arguments: the Drone plugin) asks `nix --version` first: started before the rest loads.
if (process.argv.length <= 2) startVersionProbe(zxRunner, process.env);
const { runCli } = await import('./cli.js');
const { startStopWatchdog } = await import('./watchdog.js');
process.exitCode = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  // isTTY is undefined, not false, when stdout is no terminal.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion
  isTTY: Boolean(process.stdout.isTTY),
  watchdog: (timeoutMs) => void startStopWatchdog(timeoutMs),
});

// For the benchmark: peak RSS of this process and the subprocesses it spawned.
if (process.env.NIXENV_VERIFY_STATS) {
  writeFileSync(
    process.env.NIXENV_VERIFY_STATS,
    JSON.stringify({
      maxRssKb: process.resourceUsage().maxRSS,
      cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
      spawned: spawnStats.count,
      byCommand: Object.fromEntries(spawnStats.byCommand),
    }),
  );
}
