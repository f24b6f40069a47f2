// `nix --version`, started by main.ts before the rest of the verifier loads: every verifying run asks it first, and
// it needs nothing the settings say (only the PATH that finds nix). The nix client takes the answer when it would
// ask the same nix (same runner, same PATH); otherwise it asks again. One process per run either way.
import type { CommandResult, CommandRunner } from './command.js';

let probe: { runner: CommandRunner; path: string | undefined; result: Promise<CommandResult> } | undefined;

/** Starts `nix --version` now; the environment keeps none of our PLUGIN_* settings (they may hold credentials). */
export function startVersionProbe(runner: CommandRunner, env: NodeJS.ProcessEnv): void {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!k.startsWith('PLUGIN_')) clean[k] = v;
  const result = runner('nix', ['--version'], { env: clean, timeoutMs: 60_000, label: 'nix --version' });
  result.catch(() => undefined);
  probe = { runner, path: env.PATH, result };
}

/** The started probe's answer, once, when it ran through this runner with this PATH. */
export function takeVersionProbe(runner: CommandRunner, env: NodeJS.ProcessEnv): Promise<CommandResult> | undefined {
  if (!probe || probe.runner !== runner || probe.path !== env.PATH) return undefined;
  const { result } = probe;
  probe = undefined;
  return result;
}
