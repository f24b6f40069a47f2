// Settings: one table (name, PLUGIN_* variable, flag, default, meaning) that
// drives parsing, --help, plugin.yml and the README; parsed once with zod.
//
// Hardening: no setting can change WHAT is verified behind the reviewer's back.
// Nix arguments pass an allow-list of settings that change HOW nix builds;
// repository paths stay inside the repository; outputs cannot overwrite inputs;
// out-of-range values, unknown PLUGIN_* variables and empty lists exit 2; and
// every setting that differs from the claim is listed in every output
// (settingsDeviations).
import { accessSync, constants, existsSync, lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { SettingsError } from './errors.js';
import { nixArgSecrets, redact } from './redact.js';
import { applySettings, claimDeviations, CLAIM_SETTING_NAMES, droneConsumer, sweepConsumer, type ClaimSettings } from './spec/claim.js';
import { BUILTIN_SPEC_YAML } from './spec/builtin.js';
import { builtinClaim } from './spec/load.js';
import { loadSpec, SPEC_BUILTIN, SPEC_FILE_DEFAULT } from './spec/source.js';
import type { Claim } from './spec/types.js';
import { CHECK_IDS, type CheckId, type Deviation } from './verdict.js';

/** The seed claim (the built-in spec): the defaults of the claim settings. */
export const BUILTIN_CLAIM: Claim = builtinClaim();
export const CLAIM_EXPECTED_TOOLS: readonly string[] = BUILTIN_CLAIM.expectedTools.entries;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['text', 'json'] as const;
export const MODES = ['build', 'eval'] as const;

/** Node timers hold at most 2^31-1 ms (about 24.8 days); a longer timeout would fire at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;
export const MIN_TIMEOUT_MS = 1000;
export const MAX_CONCURRENCY = 256;

// ---------------------------------------------------------------------------
// Nix arguments: the allow-list.

type NixValueKind = 'bool' | 'int' | 'int-or-auto' | 'text' | 'multiline' | 'path';

export interface NixSettingDef {
  value: NixValueKind;
  /** Why it only changes how nix builds or fetches, for the docs table. */
  what: string;
  secret?: boolean;
}

/**
 * Nix settings a user may pass (`--option NAME VALUE`, `--NAME VALUE`, for a
 * boolean also `--NAME` / `--no-NAME`, or a `nix_config` key). Each changes HOW
 * nix builds, fetches or waits, never WHAT it evaluates: the flake, its lock
 * and the evaluator's purity stay as the verifier sets them.
 */
export const NIX_SETTINGS: Readonly<Record<string, NixSettingDef>> = {
  builders: { value: 'multiline', what: 'remote build machines (`;` or newline separated); URL passwords are redacted' },
  'builders-use-substitutes': { value: 'bool', what: 'remote builders fetch from substituters themselves' },
  'max-jobs': { value: 'int-or-auto', what: 'local build jobs at once (also `-j N`, `--max-jobs N`)' },
  cores: { value: 'int', what: 'cores per build job (also `--cores N`)' },
  substituters: { value: 'text', what: 'binary caches (signatures still checked against trusted-public-keys)' },
  'extra-substituters': { value: 'text', what: 'more binary caches' },
  'trusted-public-keys': { value: 'text', what: 'keys binary cache signatures are checked with' },
  'extra-trusted-public-keys': { value: 'text', what: 'more such keys' },
  'connect-timeout': { value: 'int', what: 'seconds to wait for a connection' },
  'stalled-download-timeout': { value: 'int', what: 'seconds before a stalled download is retried' },
  'download-attempts': { value: 'int', what: 'retries of a failed download' },
  'http-connections': { value: 'int', what: 'parallel HTTP connections' },
  http2: { value: 'bool', what: 'use HTTP/2' },
  'access-tokens': { value: 'text', secret: true, what: 'tokens for fetching from private forges (secret: redacted everywhere)' },
  'netrc-file': { value: 'path', what: 'credentials file for binary caches (a path; its contents never reach an output)' },
  fallback: { value: 'bool', what: 'build locally when a substitute fails' },
  substitute: { value: 'bool', what: 'use substitutes at all' },
  'keep-going': { value: 'bool', what: 'keep building other derivations after a failure (also `-k`)' },
  'max-silent-time': { value: 'int', what: 'seconds a build may print nothing' },
  timeout: { value: 'int', what: 'seconds a build may run' },
  'max-substitution-jobs': { value: 'int', what: 'substitutions at once' },
  'narinfo-cache-negative-ttl': { value: 'int', what: 'seconds a cache miss is remembered' },
  'narinfo-cache-positive-ttl': { value: 'int', what: 'seconds a cache hit is remembered' },
  'max-build-log-size': { value: 'int', what: 'bytes of build log kept' },
  'log-lines': { value: 'int', what: 'log lines shown for a failed build' },
  'show-trace': { value: 'bool', what: 'evaluation errors carry their trace (diagnostics only)' },
};

/** Short flags nix has for allowed settings. */
const NIX_SHORT: Readonly<Record<string, string>> = { '-j': 'max-jobs', '-k': 'keep-going' };

/** Refused on purpose, with the reason given to the user. Anything else not allowed is "not on the allow-list". */
const NIX_REFUSED: Readonly<Record<string, string>> = {
  '--store': 'the verifier reads built outputs from /nix/store on this filesystem; another store would build paths it cannot read',
  '--eval-store': 'the verifier reads derivations from /nix/store on this filesystem',
  '--impure': 'impure evaluation reads the environment, so the verdict would depend on more than the repository',
  '--expr': 'it replaces what nix evaluates',
  '--file': 'it replaces what nix evaluates',
  '-f': 'it replaces what nix evaluates',
  '--apply': 'it changes every evaluated value',
  '--override-input': 'it replaces a locked flake input',
  '--override-flake': 'it replaces a flake',
  '--inputs-from': 'it changes which inputs the flake gets',
  '--reference-lock-file': 'it replaces the lock file',
  '--recreate-lock-file': 'it re-resolves the flake inputs',
  '--update-input': 'it re-resolves a flake input',
  '--commit-lock-file': 'it writes to the verified repository',
  '--write-lock-file': 'it writes to the verified repository',
  '--arg': 'it passes values into the evaluation',
  '--argstr': 'it passes values into the evaluation',
  '--include': 'it changes the Nix search path the evaluation sees',
  '-I': 'it changes the Nix search path the evaluation sees',
  '--option': 'it needs a setting name and a value',
  '-L': 'it changes the output the verifier reads',
  '--print-build-logs': 'it changes the output the verifier reads',
  '-v': 'it changes the output the verifier reads (use log_level: debug for our log)',
  '--verbose': 'it changes the output the verifier reads (use log_level: debug for our log)',
  '--debug': 'it changes the output the verifier reads (use log_level: debug for our log)',
  '--quiet': 'it changes the output the verifier reads',
  '--json': 'it changes the output the verifier reads',
  '--raw': 'it changes the output the verifier reads',
  '--log-format': 'it changes the output the verifier reads',
  '--dry-run': 'nothing would be built, yet the verdict would claim a build',
  '--rebuild': 'it fails builds whose output differs, which is not this claim',
  '--offline': 'it lets nix use stale cached copies of unlocked inputs',
  '--refresh': 'it re-fetches inputs',
};

/** Nix settings refused by name in `--option NAME …` or nix_config, with the reason. */
const NIX_SETTING_REFUSED: Readonly<Record<string, string>> = {
  'pure-eval': 'impure evaluation makes the verdict depend on more than the repository',
  'restrict-eval': 'it changes what the evaluation may read',
  'allowed-uris': 'it changes what the evaluation may fetch',
  'allow-import-from-derivation': 'it changes what the evaluation may do (the verifier uses nix\'s default)',
  'flake-registry': 'it changes how flake references resolve',
  'accept-flake-config': "it applies the flake's own nixConfig",
  'experimental-features': 'the verifier sets the features it needs',
  'extra-experimental-features': 'the verifier sets the features it needs',
  sandbox: 'an unsandboxed build may read the host, so outputs would depend on more than the repository (set it in nix.conf if you must)',
  'extra-sandbox-paths': 'it lets builds read host paths',
  system: 'it changes the platform the evaluation targets',
  'extra-platforms': 'it changes which platforms are built locally',
  'require-sigs': 'unsigned substitutes could replace what is built',
  'trusted-substituters': 'daemon policy, not a client setting',
  'post-build-hook': 'it runs a program after every build',
  'pre-build-hook': 'it runs a program before every build',
  'build-hook': 'it replaces how builds run',
  'tarball-ttl': 'it decides whether cached unlocked inputs are re-fetched',
  store: 'the verifier reads built outputs from /nix/store on this filesystem',
  'eval-store': 'the verifier reads derivations from /nix/store on this filesystem',
};

const NIX_BOOL_VALUES = ['true', 'false'];

/** The allowed forms, as shown in every refusal. */
export function nixAllowedText(): string {
  return `--option NAME VALUE or --NAME VALUE (a boolean also --NAME / --no-NAME) for NAME in ${Object.keys(NIX_SETTINGS).join(', ')}; -j N, --max-jobs N, --cores N, -k`;
}

/** A word safe to echo: option-shaped. Anything else may be a stray credential and is not shown. */
const showWord = (word: string, index: number): string => (/^--?[A-Za-z][A-Za-z0-9-]*$/.test(word) ? JSON.stringify(word) : `item ${index + 1} (a value, not shown: it may be a credential)`);

function checkNixValue(origin: string, name: string, raw: unknown): string {
  const def = NIX_SETTINGS[name]!;
  if (raw === undefined) throw new SettingsError(`${origin}: ${JSON.stringify(name)} needs a value (${def.value === 'bool' ? 'true or false' : def.value.replace('-', ' ')})`);
  const value = String(raw);
  const shown = def.secret ? '(not shown)' : JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  const bad = (expected: string) => new SettingsError(`${origin}: nix setting ${name} got ${redact(shown, nixArgSecrets(['--option', name, value]))}; expected ${expected}`);
  if (def.value !== 'bool' && value.startsWith('-')) throw bad(`a value (it starts with "-": did an option lose its value?)`);
  switch (def.value) {
    case 'bool':
      if (!NIX_BOOL_VALUES.includes(value.toLowerCase())) throw bad('true or false');
      return value.toLowerCase();
    case 'int':
      if (!/^\d+$/.test(value)) throw bad('a whole number >= 0');
      return value;
    case 'int-or-auto':
      if (!/^(\d+|auto)$/.test(value)) throw bad('a whole number >= 0 or auto');
      return value;
    case 'multiline':
      if (value.trim() === '') throw bad('a non-empty value');
      return value;
    default:
      if (value.trim() === '' || /[\n\r]/.test(value)) throw bad('a non-empty value on one line');
      return value;
  }
}

function refuseNixSetting(origin: string, name: string): never {
  const reason = NIX_SETTING_REFUSED[name];
  if (reason) throw new SettingsError(`${origin}: nix setting ${JSON.stringify(name)} is not allowed: ${reason}. Allowed: ${nixAllowedText()}`);
  throw new SettingsError(`${origin}: nix setting ${JSON.stringify(name)} is not on the allow-list of settings that change how nix builds (not what it evaluates). Allowed: ${nixAllowedText()}`);
}

/** nix_options items -> the same arguments, checked against the allow-list (normalised: `--fallback` stays, `-j 4` stays). */
export function checkNixArgs(origin: string, args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word === '--option') {
      const name = args[i + 1];
      if (name === undefined || name.startsWith('-')) throw new SettingsError(`${origin}: "--option" needs a setting name and a value. Allowed: ${nixAllowedText()}`);
      if (!NIX_SETTINGS[name]) refuseNixSetting(origin, name);
      out.push('--option', name, checkNixValue(origin, name, args[i + 2]));
      i += 2;
      continue;
    }
    const short = NIX_SHORT[word];
    if (short) {
      if (NIX_SETTINGS[short]!.value === 'bool') out.push(word);
      else {
        out.push(word, checkNixValue(origin, short, args[i + 1]));
        i += 1;
      }
      continue;
    }
    if (word.startsWith('--') && word.includes('=')) {
      throw new SettingsError(`${origin}: ${showWord(word.slice(0, word.indexOf('=')), i)} with "=": nix takes the value as the next item, e.g. ["--max-jobs","4"]`);
    }
    const refused = NIX_REFUSED[word];
    if (refused) throw new SettingsError(`${origin}: ${JSON.stringify(word)} is not allowed: ${refused}. Allowed: ${nixAllowedText()}`);
    if (word.startsWith('--')) {
      const name = word.slice(2);
      const negated = name.startsWith('no-') ? name.slice(3) : undefined;
      if (negated !== undefined && NIX_SETTINGS[negated]?.value === 'bool') {
        out.push(word);
        continue;
      }
      const def = NIX_SETTINGS[name];
      if (!def) {
        if (NIX_SETTING_REFUSED[name]) refuseNixSetting(origin, name);
        throw new SettingsError(`${origin}: ${showWord(word, i)} is not on the allow-list of options that change how nix builds (not what it evaluates). Allowed: ${nixAllowedText()}`);
      }
      if (def.value === 'bool') {
        // `--fallback` alone, or `--fallback true|false` as nix also reads it.
        const next = args[i + 1];
        if (next !== undefined && NIX_BOOL_VALUES.includes(next.toLowerCase())) {
          out.push(next.toLowerCase() === 'true' ? word : `--no-${name}`);
          i += 1;
        } else out.push(word);
        continue;
      }
      out.push(word, checkNixValue(origin, name, args[i + 1]));
      i += 1;
      continue;
    }
    throw new SettingsError(`${origin}: ${showWord(word, i)} is not an option; nix_options holds options such as ["--option","builders","ssh://b x86_64-linux"]. Allowed: ${nixAllowedText()}`);
  }
  return out;
}

/** nix_config (a map, from Drone as JSON) -> `--option K V` pairs through the same allow-list. */
export function nixConfigArgs(origin: string, config: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [name, raw] of Object.entries(config)) {
    if (!NIX_SETTINGS[name]) refuseNixSetting(origin, name);
    let value: unknown = raw;
    if (Array.isArray(raw)) {
      if (!raw.every((v) => ['string', 'number', 'boolean'].includes(typeof v))) throw new SettingsError(`${origin}: nix setting ${name}: a list must hold plain values`);
      value = raw.map(String).join(NIX_SETTINGS[name]!.value === 'multiline' ? ' ; ' : ' ');
    } else if (raw === null || typeof raw === 'object') {
      throw new SettingsError(`${origin}: nix setting ${name} needs a value (text, number, true/false or a list)`);
    }
    out.push('--option', name, checkNixValue(origin, name, String(value)));
  }
  return out;
}

// ---------------------------------------------------------------------------
// The settings table.

type Kind = 'string' | 'path' | 'output' | 'list' | 'boolean' | 'enum' | 'duration' | 'integer' | 'nix-args' | 'nix-config';

export interface SettingDef {
  /** snake_case name, as in a Drone step's `settings:` block. */
  name: string;
  kind: Kind;
  /** Default as the user would write it; `undefined` means unset. */
  default?: string;
  /** Shown in --help and docs when the default is computed at run time. */
  defaultText?: string;
  description: string;
  values?: readonly string[];
  secret?: boolean;
  /** A value as a user would write it in `settings:` (plugin.yml `example`). */
  example: unknown;
  /** Whether a different value changes what is verified (listed as a deviation from the claim). */
  claim?: boolean;
  /** A part of the claim: unset, it comes from the spec (its `default` is the built-in spec's value, for the docs). */
  fromSpec?: boolean;
}

const sweepOf = sweepConsumer(BUILTIN_CLAIM)!;
const droneOf = droneConsumer(BUILTIN_CLAIM)!;
const noSuffix = (unit: string): string => unit.replace(/\.service$/, '');
export { SPEC_FILE_DEFAULT };

export const SETTINGS: readonly SettingDef[] = [
  { name: 'flake', kind: 'string', defaultText: '$DRONE_WORKSPACE, else the current directory', description: 'Directory of the flake repository to verify.', example: '/drone/src' },
  { name: 'hosts', kind: 'list', default: BUILTIN_CLAIM.hosts.map((h) => h.name).join(','), description: 'nixosConfigurations to verify; spec `hosts`.', example: ['cc-ci', 'cc-ci-hetzner'], claim: true, fromSpec: true },
  { name: 'mode', kind: 'enum', default: 'build', values: MODES, description: '`build` builds every host toplevel; `eval` only evaluates (fast, builds nothing).', example: 'eval', claim: true },
  { name: 'checks', kind: 'list', default: BUILTIN_CLAIM.checks.join(','), values: CHECK_IDS, description: 'Checks to run (an empty list is refused, not "all"); spec `checks`.', example: ['build', 'single-source'], claim: true, fromSpec: true },
  { name: 'report', kind: 'output', description: 'Write the JSON report to this path.', example: 'reports/nixenv-verify.json' },
  { name: 'junit', kind: 'output', description: 'Write a JUnit XML report (one testcase per check) to this path.', example: 'reports/nixenv-verify.xml' },
  { name: 'summary', kind: 'output', description: 'Write a Markdown summary (fit for a pull-request comment) to this path.', example: 'reports/nixenv-verify.md' },
  { name: 'submodules', kind: 'boolean', default: 'true', description: 'Use `DIR?submodules=1#…` flake refs so git submodules (e.g. secrets/) are part of the flake.', example: true, claim: true },
  {
    name: 'nix_options',
    kind: 'nix-args',
    default: '[]',
    description:
      'Extra nix arguments for every nix call, only from the allow-list of settings that change how nix builds (see Guarantees in the README). A YAML list of plain items, or one JSON-array string; an item holding a comma needs the JSON string or nix_config.',
    example: ['--option', 'builders', 'ssh://builder x86_64-linux', '--max-jobs', '0'],
    claim: true,
  },
  {
    name: 'nix_config',
    kind: 'nix-config',
    default: '{}',
    description: 'Nix settings as a map (`name: value`, lists joined with spaces), turned into `--option name value` through the same allow-list as nix_options. Lossless for values with commas (builder feature lists).',
    example: { builders: 'ssh://builder x86_64-linux - 4 1 big-parallel,kvm', 'max-jobs': 0 },
    claim: true,
  },
  { name: 'timeout', kind: 'duration', default: '30m', description: 'Time limit per nix command (e.g. 90s, 30m, 1h; at least 1s, at most 24d).', example: '45m' },
  { name: 'concurrency', kind: 'integer', default: '0', description: `Hosts evaluated/built at once; 0 = automatic (bounded by CPU cores and memory); at most ${MAX_CONCURRENCY}.`, example: 2 },
  { name: 'log_level', kind: 'enum', default: 'info', values: LOG_LEVELS, description: 'Log level of the stderr log; `debug` traces every nix command.', example: 'debug' },
  { name: 'debug', kind: 'boolean', default: 'false', description: 'Same as `log_level: debug` (wins over a quieter log_level).', example: true },
  { name: 'log_format', kind: 'enum', default: 'text', values: LOG_FORMATS, description: '`text`: one readable line per event (coloured only on a terminal); `json`: pino JSON lines.', example: 'json' },
  { name: 'package', kind: 'string', default: BUILTIN_CLAIM.shared.package, description: 'The shared wrapper package (an attribute of pkgs); spec `shared.package`.', example: 'cc-ci-run', claim: true, fromSpec: true },
  { name: 'sweep', kind: 'string', default: noSuffix(sweepOf.unit), description: 'systemd service of the nightly sweep (`<sweep>.service`, started by a timer); its ExecStart is followed through its scripts to the wrapper. Spec: the `unit` of the systemd-service consumer with `started_by_timer: true`.', example: 'cc-ci-nightly-sweep', claim: true, fromSpec: true },
  { name: 'tools_attr', kind: 'string', default: BUILTIN_CLAIM.shared.toolsAttr, description: 'Overlay attribute holding the shared tool list; spec `shared.tools_attr`.', example: 'ccciRuntimeTools', claim: true, fromSpec: true },
  { name: 'pyenv_attr', kind: 'string', default: BUILTIN_CLAIM.shared.envAttr, description: 'Name of the python withPackages env in packages_file; spec `shared.env_attr`.', example: 'ccciPyEnv', claim: true, fromSpec: true },
  { name: 'packages_file', kind: 'path', default: BUILTIN_CLAIM.shared.file, description: 'File that declares the shared runtime (inside the repository); spec `shared.file`.', example: 'nix/modules/packages.nix', claim: true, fromSpec: true },
  { name: 'sweep_file', kind: 'path', default: sweepOf.module, description: 'Module of the nightly sweep service (inside the repository); spec: that consumer\'s `module`.', example: 'nix/modules/nightly-sweep.nix', claim: true, fromSpec: true },
  { name: 'runner_file', kind: 'path', default: droneOf.module, description: 'Module of the Drone exec runner service (inside the repository); the PATH itself is read from the runner unit systemd runs. Spec: the drone-step consumer\'s `module`.', example: 'nix/modules/drone-runner.nix', claim: true, fromSpec: true },
  { name: 'runner_service', kind: 'string', default: noSuffix(droneOf.runnerUnit), description: 'systemd service name of the Drone exec runner; spec: the drone-step consumer\'s `runner_unit`.', example: 'drone-runner-exec', claim: true, fromSpec: true },
  { name: 'drone_script', kind: 'path', default: droneOf.runs, description: 'What the Drone step runs through the wrapper (a path inside the repository); spec: the drone-step consumer\'s `runs`.', example: 'runner/run_recipe_ci.py', claim: true, fromSpec: true },
  { name: 'host_config', kind: 'path', default: BUILTIN_CLAIM.hostConfig, description: 'Per-host configuration file; `{host}` is replaced by the host name (inside the repository). Spec `host_defaults.config`.', example: 'nix/hosts/{host}/configuration.nix', claim: true, fromSpec: true },
  { name: 'drone_file', kind: 'path', default: droneOf.pipeline, description: 'Drone pipeline file of the verified repository (inside it); spec: the drone-step consumer\'s `pipeline`.', example: '.drone.yml', claim: true, fromSpec: true },
  { name: 'nix_dir', kind: 'path', default: BUILTIN_CLAIM.searchDir, description: 'Directory the grep proofs search, recursively (inside the repository); spec `search_dir`.', example: 'nix', claim: true, fromSpec: true },
  { name: 'expected_tools', kind: 'list', default: BUILTIN_CLAIM.expectedTools.entries.join(','), description: 'name-version entries the wrapper PATH must hold; spec `expected_tools.entries`.', example: ['git-2.47.2', 'git-lfs-3.6.1'], claim: true, fromSpec: true },
  { name: 'required_bins', kind: 'list', default: BUILTIN_CLAIM.requiredPrograms.join(','), description: 'Programs every host system PATH (sw/bin) must have; spec `required_programs` (per host or in host_defaults).', example: ['git-lfs', 'openssl'], claim: true, fromSpec: true },
  {
    name: 'spec',
    kind: 'string',
    defaultText: `${SPEC_FILE_DEFAULT} at the repository root when it exists, else the built-in spec (the cc-ci claim; \`--print-spec\` prints it)`,
    description: `Spec file (YAML) stating the claim: hosts, the shared package, expected tools, consumers, grep proofs, checks. \`${SPEC_BUILTIN}\` pins the built-in spec (a pull request's ${SPEC_FILE_DEFAULT} is then not read); an absolute path outside the workspace pins an operator's file; a relative path is read from the repository, never through a symlink leading out of it. Settings above override it.`,
    example: SPEC_BUILTIN,
  },
  {
    name: 'spec_sha256',
    kind: 'string',
    description: 'sha256 (hex) the spec read must have (the built-in one included), else exit 2: pins a repository spec so that a pull request cannot change the claim unseen.',
    // The built-in spec's own hash (what `spec: builtin` reads, and .nixenv-verify.yml saved from --print-spec).
    example: createHash('sha256').update(BUILTIN_SPEC_YAML).digest('hex'),
  },
];

/**
 * PLUGIN_* variables that are not settings but are not typos either. Empty:
 * Drone sets no PLUGIN_* variable of its own (it makes them only from
 * `settings:`), and neither do Woodpecker or Harness for a plugin step, so
 * every other PLUGIN_* variable came from a `settings:` key or an
 * `environment:` entry someone mistyped.
 */
export const IGNORED_PLUGIN_VARS: readonly string[] = [];

/** Setting names users reach for that do not exist, with what to use instead. */
const NOT_SETTINGS: Readonly<Record<string, string>> = {
  dry_run: 'there is no dry run: a verdict needs nix to evaluate the repository; `mode: eval` builds nothing',
};

export const REPO_PATH_SETTINGS = SETTINGS.filter((d) => d.kind === 'path').map((d) => d.name);
export const OUTPUT_SETTINGS = SETTINGS.filter((d) => d.kind === 'output').map((d) => d.name);

export interface Settings {
  flake: string;
  hosts: string[];
  mode: (typeof MODES)[number];
  checks: CheckId[];
  report?: string;
  junit?: string;
  summary?: string;
  submodules: boolean;
  /** Every extra nix argument: nix_options, then nix_config as `--option K V`; all on the allow-list. */
  nixOptions: string[];
  /** nix_config after the allow-list, as given (name -> value). */
  nixConfig: Record<string, string>;
  timeoutMs: number;
  concurrency: number;
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat: (typeof LOG_FORMATS)[number];
  debug: boolean;
  /** The spec file read (relative to the repository, or absolute outside it), when it is not the built-in one. */
  spec?: string;
  /** sha256 of the spec text verified (the built-in one included). */
  specSha256: string;
  /** What is verified: the spec (or the built-in one) with the claim settings over it. */
  claim: Claim;
}

export const envName = (name: string): string => `PLUGIN_${name.toUpperCase()}`;
export const flagName = (name: string): string => `--${name.replace(/_/g, '-')}`;
export const camel = (name: string): string => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Drone encodes a list of plain items as comma-separated text, any other list as a JSON array. */
export function parseList(raw: string): string[] {
  const text = raw.trim();
  if (text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error('a value starting with [ must be a JSON array');
    }
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
      throw new Error('expected a JSON array of strings');
    }
    return parsed.map((v) => String(v).trim()).filter((v) => v !== '');
  }
  return text
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** "90s", "30m", "1h", "1h30m", "500ms", "2d" or bare seconds -> milliseconds. */
export function parseDuration(raw: string): number {
  const text = raw.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error('expected a duration such as 90s, 30m or 1h');
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]!]!, 0));
}

function describeAllowed(def: SettingDef): string {
  switch (def.kind) {
    case 'boolean':
      return 'true or false (also yes/no, on/off)';
    case 'enum':
      return `one of ${def.values!.join(', ')}`;
    case 'list':
      return def.values ? `a non-empty comma-separated list (or JSON array) of ${def.values.join(', ')}` : 'a non-empty comma-separated list or a JSON array';
    case 'nix-args':
      return 'a JSON array of strings, e.g. ["--option","cores","2"], or a comma-separated list';
    case 'nix-config':
      return 'a map of nix settings (JSON object), e.g. {"max-jobs":0}';
    case 'duration':
      return 'a duration from 1s to 24d, such as 90s, 30m or 1h';
    case 'integer':
      return `a whole number from 0 to ${MAX_CONCURRENCY}`;
    case 'path':
      return 'a relative path inside the repository';
    default:
      return 'a non-empty string';
  }
}

const nonEmpty = z.string().trim().min(1);
const BOOLEANS: Record<string, boolean> = { true: true, false: false, yes: true, no: false, on: true, off: false, '1': true, '0': false };

function schemaFor(def: SettingDef): z.ZodType {
  const wrap = (fn: (s: string) => unknown) =>
    z.string().transform((s, ctx) => {
      try {
        return fn(s);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    });
  switch (def.kind) {
    case 'boolean':
      return z
        .string()
        .transform((v) => v.trim().toLowerCase())
        .pipe(z.enum(Object.keys(BOOLEANS) as [string, ...string[]]))
        .transform((v) => BOOLEANS[v]!);
    case 'enum':
      return z
        .string()
        .transform((v) => v.trim().toLowerCase())
        .pipe(z.enum(def.values as [string, ...string[]]));
    case 'list': {
      const item = def.values ? z.string().transform((v) => v.toLowerCase()).pipe(z.enum(def.values as [string, ...string[]])) : nonEmpty;
      return wrap(parseList).pipe(z.array(item).min(1, 'the list is empty'));
    }
    case 'nix-args':
      return wrap((s) => {
        const text = s.trim();
        if (text === '' || text === '[]') return [];
        if (text.startsWith('[')) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            throw new Error('not valid JSON');
          }
          if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) throw new Error('expected an array of strings');
          return parsed.map(String);
        }
        // Drone's form of a YAML list of plain items: joined with commas.
        return text.split(',').map((v) => v.trim()).filter((v) => v !== '');
      });
    case 'nix-config':
      return wrap((s) => {
        const text = s.trim();
        if (text === '' || text === '{}') return {};
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new Error('not valid JSON');
        }
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected a map of nix settings');
        return parsed;
      });
    case 'duration':
      return wrap(parseDuration).pipe(
        z
          .number()
          .int()
          .min(MIN_TIMEOUT_MS, 'shorter than 1s')
          .max(MAX_TIMEOUT_MS, 'longer than Node timers hold (2^31-1 ms, about 24.8 days)'),
      );
    case 'integer':
      return z
        .string()
        .regex(/^\s*\d+\s*$/, 'not a whole number')
        .transform((s) => Number(s))
        .pipe(z.number().max(MAX_CONCURRENCY, `more than ${MAX_CONCURRENCY}`));
    case 'path':
      return nonEmpty.transform((s, ctx) => {
        const problem = repoPathProblem(s);
        if (problem) {
          ctx.addIssue({ code: 'custom', message: problem });
          return z.NEVER;
        }
        return path.posix.normalize(s);
      });
    default:
      return nonEmpty;
  }
}

/** Why a repository path setting is refused, or undefined. Purely textual; the filesystem is checked by checkSettingsFs. */
export function repoPathProblem(value: string): string | undefined {
  if (value.includes('\0')) return 'contains a NUL character';
  if (path.posix.isAbsolute(value) || path.win32.isAbsolute(value)) return 'an absolute path; paths are relative to the repository';
  const normal = path.posix.normalize(value.replace(/\\/g, '/'));
  if (normal === '..' || normal.startsWith('../')) return 'it leaves the repository (../)';
  return undefined;
}

export interface SettingsSource {
  env: NodeJS.ProcessEnv;
  /** Flags after argv parsing: setting name -> raw value. */
  flags: Record<string, string>;
  cwd: string;
}

/** Splits argv into setting flags (`--hosts a,b`, `--hosts=a,b`, `--no-submodules`) and commands. */
export function parseArgv(argv: readonly string[]): { flags: Record<string, string>; help: boolean; version: boolean; printSpec: boolean } {
  const byFlag = new Map(SETTINGS.map((d) => [flagName(d.name), d]));
  const flags: Record<string, string> = {};
  let help = false;
  let version = false;
  let printSpec = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--print-spec') {
      printSpec = true;
      continue;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === '--version' || arg === '-V') {
      version = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const negated = flag.startsWith('--no-') ? byFlag.get(`--${flag.slice(5)}`) : undefined;
    if (negated?.kind === 'boolean' && eq < 0) {
      flags[negated.name] = 'false';
      continue;
    }
    const def = byFlag.get(flag) ?? byFlag.get(flag.replace(/_/g, '-'));
    if (!def) {
      const shown = /^--?[A-Za-z][A-Za-z0-9_-]*$/.test(flag) ? JSON.stringify(flag) : 'argument (not shown)';
      const near = flag.startsWith('--') ? closestSetting(flag.slice(2).replace(/-/g, '_')) : undefined;
      throw new SettingsError(`unknown ${shown === 'argument (not shown)' ? shown : `argument ${shown}`}${near ? `; did you mean ${flagName(near)}?` : ''}; run with --help to list the settings`);
    }
    if (eq > 0) {
      flags[def.name] = arg.slice(eq + 1);
    } else if (def.kind === 'boolean' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--'))) {
      flags[def.name] = 'true';
    } else {
      const value = argv[++i];
      if (value === undefined) throw new SettingsError(`${flag} needs a value: ${describeAllowed(def)}`);
      flags[def.name] = value;
    }
  }
  return { flags, help, version, printSpec };
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The known setting nearest to a misspelt name (edit distance, or one is a prefix of the other). */
export function closestSetting(name: string): string | undefined {
  const lower = name.toLowerCase();
  let best: { name: string; score: number } | undefined;
  for (const def of SETTINGS) {
    const score = levenshtein(lower, def.name) - (def.name.startsWith(lower) || lower.startsWith(def.name) ? 1 : 0);
    if (!best || score < best.score) best = { name: def.name, score };
  }
  return best && best.score <= Math.max(2, Math.floor(lower.length / 3)) ? best.name : undefined;
}

/** PLUGIN_* variables that are no setting: typos, named with the closest setting. */
export function unknownPluginVars(env: NodeJS.ProcessEnv): string[] {
  const known = new Set(SETTINGS.map((d) => envName(d.name)));
  return Object.keys(env)
    .filter((k) => k.startsWith('PLUGIN_') && !known.has(k) && !IGNORED_PLUGIN_VARS.includes(k))
    .sort()
    .map((k) => {
      const name = k.slice('PLUGIN_'.length).toLowerCase();
      const instead = NOT_SETTINGS[name];
      if (instead) return `${k} (${name}) is not a setting: ${instead}`;
      const near = closestSetting(name);
      return `${k} is not a setting${near ? `; did you mean ${near} (${envName(near)})?` : ''} (run with --help to list the settings)`;
    });
}

/** Reads every setting (flag wins over PLUGIN_* variable, which wins over the default). */
export function parseSettings(source: SettingsSource): Settings {
  const out: Record<string, unknown> = {};
  const problems: string[] = [...unknownPluginVars(source.env)];
  for (const def of SETTINGS) {
    const fromFlag = source.flags[def.name];
    const fromEnv = source.env[envName(def.name)];
    const origin = fromFlag !== undefined ? `${flagName(def.name)} (${envName(def.name)})` : envName(def.name);
    const given = fromFlag ?? fromEnv;
    const label = fromFlag !== undefined ? flagName(def.name) : envName(def.name);
    // The text null is no value (an unresolved template, a quoted "null"): refused rather than used as a file name or host.
    if (given !== undefined && given.trim() === 'null') {
      problems.push(`${label}: got null; give a value or remove the setting`);
      continue;
    }
    // An empty list is Drone's `checks: []`: refused rather than read as the default.
    if (given !== undefined && def.kind === 'list' && (given.trim() === '' || given.trim() === '[]')) {
      problems.push(`${label}: got an empty list; expected ${describeAllowed(def)} (leave the setting out for the default)`);
      continue;
    }
    // A claim setting left unset comes from the spec, not from its (documented) default.
    const raw: string | undefined = (given !== undefined && given !== '' ? given : undefined) ?? (def.fromSpec ? undefined : def.default);
    if (raw === undefined) continue;
    const result = schemaFor(def).safeParse(raw);
    if (!result.success) {
      // nix arguments may hold credentials: never echo them.
      const hidden = def.secret || def.kind === 'nix-args' || def.kind === 'nix-config';
      const shown = hidden ? `a value of ${raw.length} characters` : JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw);
      const detail = result.error.issues[0]?.message ?? '';
      const showDetail = detail && !['enum', 'boolean'].includes(def.kind) && !/^Invalid (input|option)/.test(detail);
      problems.push(`${origin}: got ${shown}; expected ${describeAllowed(def)}${showDetail ? ` (${detail})` : ''}`);
      continue;
    }
    out[camel(def.name)] = result.data;
  }
  // The nix arguments through the allow-list, reported together with every other problem.
  const origin = (name: string): string => (source.flags[name] !== undefined ? flagName(name) : envName(name));
  const config = (out.nixConfig as Record<string, unknown> | undefined) ?? {};
  const allow = <T>(fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof SettingsError)) throw e;
      problems.push(e.message);
      return fallback;
    }
  };
  const fromOptions = out.nixOptions ? allow(() => checkNixArgs(origin('nix_options'), out.nixOptions as string[]), []) : [];
  const fromConfig = out.nixConfig ? allow(() => nixConfigArgs(origin('nix_config'), config), []) : [];
  if (problems.length) throw new SettingsError(`invalid settings:\n  ${problems.join('\n  ')}`);
  out.nixOptions = [...fromOptions, ...fromConfig];
  out.nixConfig = Object.fromEntries(Object.keys(config).map((k, i) => [k, fromConfig[i * 3 + 2]!]));

  const flake = (out.flake as string | undefined) ?? source.env.DRONE_WORKSPACE ?? source.cwd;
  out.flake = path.resolve(source.cwd, flake);
  out.timeoutMs = out.timeout;
  delete out.timeout;
  if (out.debug && !['trace', 'debug'].includes(out.logLevel as string)) out.logLevel = 'debug';
  for (const host of (out.hosts as string[] | undefined) ?? []) {
    if (!/^[A-Za-z0-9_'.-]+$/.test(host) || host === '.' || host === '..') {
      throw new SettingsError(`PLUGIN_HOSTS: got host ${JSON.stringify(host)}; expected nixosConfigurations attribute names (letters, digits, - _ . ')`);
    }
  }
  // The claim: the spec file (or the built-in spec), with the claim settings given over it.
  const given: ClaimSettings = {};
  for (const name of CLAIM_SETTING_NAMES) {
    const value = out[camel(name)];
    if (value !== undefined) (given as Record<string, unknown>)[name] = value;
    delete out[camel(name)];
  }
  const specLabel = (name: string): string => (source.flags[name] !== undefined ? flagName(name) : envName(name));
  const pinned = out.specSha256 as string | undefined;
  if (pinned !== undefined && !/^[0-9a-fA-F]{64}$/.test(pinned.trim())) throw new SettingsError(`${specLabel('spec_sha256')}: got ${JSON.stringify(pinned.slice(0, 80))}; expected 64 hexadecimal digits (sha256sum of the spec file)`);
  const spec = loadSpec(out.flake as string, out.spec as string | undefined, pinned?.trim(), { spec: specLabel('spec'), sha256: specLabel('spec_sha256') });
  if (spec.origin !== 'built-in') out.spec = spec.file;
  else delete out.spec;
  out.specSha256 = spec.sha256;
  const labels = Object.fromEntries(CLAIM_SETTING_NAMES.map((n) => [n, source.flags[n] !== undefined ? flagName(n) : envName(n)]));
  const claim = applySettings(spec.claim, given, labels);
  out.claim = claim;
  out.hosts = claim.hosts.map((h) => h.name);
  out.checks = claim.checks;
  return out as unknown as Settings;
}

// ---------------------------------------------------------------------------
// The filesystem: paths stay in the repository, outputs overwrite nothing they must not.

export interface FsCheckEnv {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const KIND_OF = (st: Stats): string | undefined =>
  st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : undefined;

const inside = (root: string, p: string): boolean => p === root || p.startsWith(root.endsWith(path.sep) ? root : `${root}${path.sep}`);

/** Real path of p, or of its nearest existing ancestor joined with the rest. */
function realish(p: string): string {
  let head = p;
  const rest: string[] = [];
  while (!existsSync(head) && path.dirname(head) !== head) {
    rest.unshift(path.basename(head));
    head = path.dirname(head);
  }
  try {
    return path.join(realpathSync(head), ...rest);
  } catch {
    return p;
  }
}

/** Repository files the claim names, each with the setting (or spec key) that names it. */
function repoPaths(settings: Settings): { label: string; rel: string }[] {
  const c = settings.claim;
  const spec = (key: string): string => (settings.spec ? `spec ${settings.spec} ${key}` : key);
  const list: { label: string; rel: string }[] = [
    { label: envName('nix_dir'), rel: c.searchDir },
    { label: envName('packages_file'), rel: c.shared.file },
  ];
  const sweep = sweepConsumer(c);
  const drone = droneConsumer(c);
  for (const consumer of c.consumers) {
    if ('module' in consumer && consumer.module !== undefined) list.push({ label: consumer === sweep ? envName('sweep_file') : consumer === drone ? envName('runner_file') : spec(`consumer ${consumer.name} module`), rel: consumer.module });
    if (consumer.kind === 'drone-step') {
      list.push({ label: consumer === drone ? envName('drone_file') : spec(`consumer ${consumer.name} pipeline`), rel: consumer.pipeline });
      list.push({ label: consumer === drone ? envName('drone_script') : spec(`consumer ${consumer.name} runs`), rel: consumer.runs });
    }
  }
  for (const p of c.proofs) {
    if (p.in !== undefined) list.push({ label: spec(`proof ${JSON.stringify(p.pattern)} in`), rel: p.in });
    if (p.allIn !== undefined) list.push({ label: spec(`proof ${JSON.stringify(p.pattern)} all_in`), rel: p.allIn });
  }
  for (const host of c.hosts) list.push({ label: envName('host_config'), rel: host.config });
  return list;
}

/**
 * Exit-2 checks that need the filesystem, run before anything else: path
 * settings naming a FIFO, socket or device, or a symlink out of the
 * repository; output paths that are directories, devices, under /proc or
 * /sys, named twice, unwritable, or that would overwrite an input.
 */
export function checkSettingsFs(settings: Settings, { env, cwd }: FsCheckEnv): void {
  const problems: string[] = [];
  const flakeReal = existsSync(settings.flake) ? realpathSync(settings.flake) : settings.flake;
  for (const { label, rel } of repoPaths(settings)) {
    const full = path.join(settings.flake, rel);
    let st: Stats;
    try {
      st = lstatSync(full);
    } catch {
      continue; // missing: the check that reads it says so
    }
    const special = KIND_OF(st);
    if (special) {
      problems.push(`${label}: ${JSON.stringify(rel)} is ${special}; expected a file or directory of the repository`);
      continue;
    }
    let target: string | undefined;
    try {
      target = KIND_OF(statSync(full));
    } catch {
      /* dangling: the check that reads it says so */
    }
    const real = realish(full);
    if (target) problems.push(`${label}: ${JSON.stringify(rel)} is a symlink to ${target}; expected a file or directory of the repository`);
    else if (!inside(flakeReal, real)) problems.push(`${label}: ${JSON.stringify(rel)} leads out of the repository (to ${real}); expected a path inside it`);
  }

  const inputs = new Set([path.join(flakeReal, 'flake.nix'), path.join(flakeReal, 'flake.lock'), ...repoPaths(settings).map((p) => realish(path.join(settings.flake, p.rel)))]);
  if (settings.spec) inputs.add(realish(path.resolve(settings.flake, settings.spec)));
  const nixDirReal = realish(path.join(settings.flake, settings.claim.searchDir));
  const seen = new Map<string, string>();
  const claimed: [string, string | undefined][] = [
    ['DRONE_OUTPUT', env.DRONE_OUTPUT],
    ['DRONE_CARD_PATH', env.DRONE_CARD_PATH],
  ];
  for (const [name, value] of claimed) if (value && !value.startsWith('/dev/')) seen.set(realish(path.resolve(cwd, value)), name);
  for (const name of OUTPUT_SETTINGS) {
    const value = (settings as unknown as Record<string, string | undefined>)[camel(name)];
    if (value === undefined) continue;
    const variable = envName(name);
    const problem = outputProblem(path.resolve(cwd, value));
    if (problem) {
      problems.push(`${variable}: ${JSON.stringify(value)} ${problem}`);
      continue;
    }
    const real = realish(path.resolve(cwd, value));
    const twice = seen.get(real);
    if (twice) problems.push(`${variable}: ${JSON.stringify(value)} is the same file as ${twice}; give each output its own file`);
    else if (inputs.has(real) || (settings.claim.searchDir !== '.' && inside(nixDirReal, real))) problems.push(`${variable}: ${JSON.stringify(value)} would overwrite an input of the verification; write reports elsewhere`);
    seen.set(real, variable);
  }
  if (problems.length) throw new SettingsError(`invalid settings:\n  ${problems.join('\n  ')}`);
}

/** Why an output path cannot be written, or undefined. */
function outputProblem(file: string): string | undefined {
  const real = realish(file);
  const roots = ['/proc', '/sys', '/dev'];
  const under = roots.find((r) => inside(r, file)) ?? roots.find((r) => inside(r, real));
  if (under) return `is under ${under}; expected a regular file path`;
  if (existsSync(file)) {
    const st = statSync(file);
    if (st.isDirectory()) return 'is a directory; expected a file path';
    const special = KIND_OF(st);
    if (special) return `is ${special}; expected a regular file path`;
    try {
      accessSync(file, constants.W_OK);
    } catch {
      return 'is not writable';
    }
    return undefined;
  }
  let dir = path.dirname(file);
  while (!existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  if (!statSync(dir).isDirectory()) return `cannot be created: ${dir} is not a directory`;
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return `cannot be created: ${dir} is not writable`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Deviations from the claim: computed here, once, from the parsed settings.

/**
 * Everything that changes what is verified and differs from the seed claim: the claim's
 * parts (from the spec or settings), the mode, submodules and the nix arguments (their
 * credentials masked).
 */
export function settingsDeviations(settings: Settings): Deviation[] {
  const claim = claimDeviations(settings.claim, BUILTIN_CLAIM);
  const runSettings: Deviation[] = [];
  if (settings.mode !== 'build') runSettings.push({ setting: 'mode', value: settings.mode, default: 'build', label: `mode=${settings.mode}` });
  if (!settings.submodules) runSettings.push({ setting: 'submodules', value: 'false', default: 'true', label: 'submodules=false' });
  if (settings.nixOptions.length) {
    const shown = redact(settings.nixOptions.join(' '), nixArgSecrets(settings.nixOptions));
    const fromConfig = Object.keys(settings.nixConfig).length * 3;
    const setting = fromConfig === 0 ? 'nix_options' : fromConfig === settings.nixOptions.length ? 'nix_config' : 'nix_options+nix_config';
    runSettings.push({ setting, value: shown, default: '(none)', label: `nix options: ${shown}` });
  }
  // In the order of the settings table, then the parts only a spec has.
  const rank = (d: Deviation): number => SETTINGS.findIndex((s) => s.name === d.setting) + 1 || SETTINGS.length + 1;
  return [...claim, ...runSettings].sort((a, b) => rank(a) - rank(b));
}

/** How many hosts to evaluate at once: cores, and roughly 1.5 GiB of RAM per NixOS evaluation. */
export function effectiveConcurrency(settings: Pick<Settings, 'concurrency'>, hostCount: number): number {
  if (settings.concurrency > 0) return settings.concurrency;
  const byMemory = Math.max(1, Math.floor(os.totalmem() / (1.5 * 1024 ** 3)));
  return Math.max(1, Math.min(os.availableParallelism(), byMemory, hostCount));
}

export function helpText(): string {
  const lines = [
    'nixenv-verify: verify, with real Nix, that a NixOS flake declares its test runtime once and every consumer uses it.',
    '',
    'Usage: nixenv-verify [--setting value ...]',
    '',
    'Every setting is also read from its PLUGIN_* variable (Drone plugin settings); a flag wins.',
    `Precedence: flag > PLUGIN_* > spec file (${SPEC_FILE_DEFAULT} or the spec setting) > built-in spec (the cc-ci claim).`,
    '',
  ];
  for (const def of SETTINGS) {
    const dflt = def.defaultText ?? (def.default === undefined ? '(unset)' : def.default === '' ? '(empty)' : def.default);
    lines.push(`  ${flagName(def.name)}  [${envName(def.name)}]`);
    lines.push(`      ${def.description}`);
    lines.push(`      default: ${dflt}${def.values ? `; allowed: ${def.values.join(', ')}` : ''}`);
  }
  lines.push('', `  --print-spec`, `      Print the built-in spec (the cc-ci claim, YAML with comments) and exit: a starting point for ${SPEC_FILE_DEFAULT}.`);
  lines.push('', `Allowed nix options: ${nixAllowedText()}.`);
  lines.push('', 'Exit status: 0 verdict pass, 1 a check failed or errored, 2 invalid settings or the run cannot start.');
  return lines.join('\n');
}
