// Fake `nix` executables on a PATH (real processes, real faults) and a /proc
// scan for the processes they leave behind.
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Writes DIR/bin/nix: `nix --version` prints `version`; every other call runs `body` (sh).
 * Returns a PATH with it first.
 */
export function fakeNixPath(dir: string, body: string, { version = 'nix (Nix) 2.8.0' } = {}): string {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const script = `#!/bin/bash\ncase " $* " in *" --version "*) echo ${JSON.stringify(version)}; exit 0 ;; esac\n${body}\n`;
  writeFileSync(path.join(bin, 'nix'), script);
  chmodSync(path.join(bin, 'nix'), 0o755);
  return `${bin}:${process.env.PATH ?? ''}`;
}

/** Pids of live (not zombie) processes whose environment has `NAME=value`. */
export function processesWithEnv(name: string, value: string): number[] {
  const needle = `${name}=${value}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue;
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (env.includes(needle)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Waits until `probe` is true or `ms` passed; returns the last probe. */
export async function waitFor(probe: () => boolean, ms: number, stepMs = 25): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (probe()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return probe();
}
