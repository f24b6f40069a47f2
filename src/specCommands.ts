// The CLI's spec commands other than a verification: `--check-spec` (the spec
// against the repository, no verdict, nothing built) and `--init` (a starting spec
// for the repository). Both evaluate with nix; both exit 2 on a problem.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BUILTIN_SPEC_YAML } from './claim/builtin.js';
import { checkSpec, specCheckText } from './claim/checkSpec.js';
import { initSpec } from './claim/init.js';
import { NixCommandError, SettingsError } from './errors.js';
import { zxRunner, type CommandRunner } from './nix/command.js';
import { createNixClient, type NixClient } from './nix/client.js';
import { preflightFlake, preflightStore } from './run.js';
import type { Settings } from './settings.js';

export interface SpecCommandIo {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  runner?: CommandRunner;
}

/** PLUGIN_CHECK_SPEC: true or false (Drone's `check_spec: true`); anything else exits 2 naming it. */
export function checkSpecFromEnv(env: NodeJS.ProcessEnv): boolean {
  const raw = env.PLUGIN_CHECK_SPEC;
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new SettingsError(`PLUGIN_CHECK_SPEC: got ${JSON.stringify(raw.slice(0, 40))}; expected true or false`);
}

async function nixFor(settings: Settings, io: SpecCommandIo): Promise<NixClient> {
  preflightFlake(settings);
  preflightStore(io.env);
  return createNixClient({
    runner: io.runner ?? zxRunner,
    flakeDir: settings.flake,
    submodules: settings.submodules,
    extraArgs: settings.nixOptions,
    timeoutMs: settings.timeoutMs,
    env: io.env,
    concurrency: 1,
  });
}

const nixFailure = (what: string, err: unknown): string => {
  if (!(err instanceof NixCommandError)) throw err;
  const line = err.excerpt.find((l) => /error/i.test(l)) ?? err.message.split('\n')[0];
  return `nixenv-verify: ${what}: nix could not evaluate the repository: ${line?.trim()}\n`;
};

/** The spec key each claim setting replaces, for the note --check-spec gives when one is set. */
const SPEC_KEY_OF: Record<string, string> = {
  hosts: 'hosts',
  checks: 'checks',
  package: 'shared.package',
  tools_attr: 'shared.tools_attr',
  pyenv_attr: 'shared.env_attr',
  packages_file: 'shared.file',
  sweep: "the timer-started systemd-service consumer's unit",
  sweep_file: "the timer-started systemd-service consumer's module",
  runner_service: "the drone-step consumer's runner_unit",
  runner_file: "the drone-step consumer's module",
  drone_file: "the drone-step consumer's pipeline",
  drone_script: "the drone-step consumer's runs",
  host_config: 'host_defaults.config',
  nix_dir: 'search_dir',
  expected_tools: 'expected_tools.entries',
  required_bins: 'required_programs',
};

/** Settings the user gave that a verification applies over the spec (only those set: never one the user did not). */
export function overrideNotes(settings: Pick<Settings, 'claim'>): string {
  return Object.entries(settings.claim.settingLabels ?? {})
    .map(
      ([name, label]) =>
        `note: ${label} is set: a verification uses it instead of the spec's ${SPEC_KEY_OF[name] ?? name} (--check-spec reads the spec as written); move it into the spec or drop it\n`,
    )
    .join('');
}

/** --check-spec: 0 when the spec fits the repository, 2 with every problem (spec key, line, fix). */
export async function runCheckSpec(settings: Settings, io: SpecCommandIo): Promise<number> {
  const file = settings.spec ?? 'built-in';
  const text = settings.spec ? readFileSync(path.resolve(settings.flake, settings.spec), 'utf8') : BUILTIN_SPEC_YAML;
  const nix = await nixFor(settings, io);
  try {
    const result = await checkSpec(text, file, { flake: settings.flake, evalJson: (a, f) => nix.evalJson(a, f) });
    (result.problems.length ? io.stderr : io.stdout)(specCheckText(file, result));
    const notes = overrideNotes(settings);
    if (notes) io.stderr(notes);
    return result.problems.length ? 2 : 0;
  } catch (err) {
    io.stderr(nixFailure('--check-spec', err));
    return 2;
  }
}

/** --init: a starting spec for the repository on stdout (0), or why not (2). */
export async function runInit(settings: Settings, io: SpecCommandIo): Promise<number> {
  const nix = await nixFor(settings, io);
  try {
    io.stdout(
      await initSpec({
        flake: settings.flake,
        evalJson: (a, f) => nix.evalJson(a, f),
        drvClosure: (d) => nix.drvClosure(d),
      }),
    );
    return 0;
  } catch (err) {
    io.stderr(nixFailure('--init', err));
    return 2;
  }
}
