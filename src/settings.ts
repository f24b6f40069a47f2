// Settings: one table (name, PLUGIN_* variable, flag, default, meaning) that
// drives parsing, --help, plugin.yml and the README; parsed once with zod.
//
// Hardening: no setting can change WHAT is verified behind the reviewer's back.
// Nix arguments pass an allow-list of settings that change HOW nix builds;
// repository paths stay inside the repository; outputs cannot overwrite inputs;
// out-of-range values, unknown PLUGIN_* variables and empty lists exit 2; and
// every setting that differs from the claim is listed in every output
// (settingsDeviations).
import { createHash } from 'node:crypto';
import { closestName } from './closest.js';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { SettingsError } from './errors.js';
import { checkNixArgs, nixConfigArgs } from './nix/options.js';
import { nixArgSecrets, redact } from './redact.js';
import {
  applySettings,
  claimDeviations,
  CLAIM_SETTING_NAMES,
  droneConsumer,
  sweepConsumer,
  type ClaimSettings,
} from './claim/claim.js';
import { BUILTIN_SPEC_YAML } from './claim/builtin.js';
import { builtinClaim } from './claim/load.js';
import { loadSpec, SPEC_BUILTIN, SPEC_FILE_DEFAULT } from './claim/source.js';
import type { Claim } from './claim/types.js';
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
// The settings table.

type Kind =
  'string' | 'path' | 'output' | 'list' | 'boolean' | 'enum' | 'duration' | 'integer' | 'nix-args' | 'nix-config';

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
  {
    name: 'flake',
    kind: 'string',
    defaultText: '$DRONE_WORKSPACE, else the current directory',
    description: 'Directory of the flake repository to verify.',
    example: '/drone/src',
  },
  {
    name: 'hosts',
    kind: 'list',
    default: BUILTIN_CLAIM.hosts.map((h) => h.name).join(','),
    description: 'nixosConfigurations to verify; spec `hosts`.',
    example: ['cc-ci', 'cc-ci-hetzner'],
    claim: true,
    fromSpec: true,
  },
  {
    name: 'mode',
    kind: 'enum',
    default: 'build',
    values: MODES,
    description: '`build` builds every host toplevel; `eval` only evaluates (fast, builds nothing).',
    example: 'eval',
    claim: true,
  },
  {
    name: 'checks',
    kind: 'list',
    default: BUILTIN_CLAIM.checks.join(','),
    values: CHECK_IDS,
    description: 'Checks to run (an empty list is refused, not "all"); spec `checks`.',
    example: ['build', 'single-source'],
    claim: true,
    fromSpec: true,
  },
  {
    name: 'report',
    kind: 'output',
    description: 'Write the JSON report to this path.',
    example: 'reports/nixenv-verify.json',
  },
  {
    name: 'junit',
    kind: 'output',
    description: 'Write a JUnit XML report (one testcase per check) to this path.',
    example: 'reports/nixenv-verify.xml',
  },
  {
    name: 'summary',
    kind: 'output',
    description: 'Write a Markdown summary (fit for a pull-request comment) to this path.',
    example: 'reports/nixenv-verify.md',
  },
  {
    name: 'submodules',
    kind: 'boolean',
    default: 'true',
    description: 'Use `DIR?submodules=1#…` flake refs so git submodules (e.g. secrets/) are part of the flake.',
    example: true,
    claim: true,
  },
  {
    name: 'nix_options',
    kind: 'nix-args',
    default: '[]',
    description:
      'Extra nix arguments for every nix call, only from the allow-list of settings that change how nix builds (docs/guarantees.md lists it). A YAML list of plain items, or one JSON-array string; an item holding a comma needs the JSON string or nix_config.',
    example: ['--option', 'builders', 'ssh://builder x86_64-linux', '--max-jobs', '0'],
    claim: true,
  },
  {
    name: 'nix_config',
    kind: 'nix-config',
    default: '{}',
    description:
      'Nix settings as a map (`name: value`, lists joined with spaces), turned into `--option name value` through the same allow-list as nix_options. Lossless for values with commas (builder feature lists).',
    example: { builders: 'ssh://builder x86_64-linux - 4 1 big-parallel,kvm', 'max-jobs': 0 },
    claim: true,
  },
  {
    name: 'timeout',
    kind: 'duration',
    default: '30m',
    description: 'Time limit per nix command (e.g. 90s, 30m, 1h; at least 1s, at most 24d).',
    example: '45m',
  },
  {
    name: 'concurrency',
    kind: 'integer',
    default: '0',
    description: `Hosts evaluated/built at once; 0 = automatic (bounded by CPU cores and memory); at most ${MAX_CONCURRENCY}.`,
    example: 2,
  },
  {
    name: 'log_level',
    kind: 'enum',
    default: 'info',
    values: LOG_LEVELS,
    description: 'Log level of the stderr log; `debug` traces every nix command.',
    example: 'debug',
  },
  {
    name: 'debug',
    kind: 'boolean',
    default: 'false',
    description: 'Same as `log_level: debug` (wins over a quieter log_level).',
    example: true,
  },
  {
    name: 'log_format',
    kind: 'enum',
    default: 'text',
    values: LOG_FORMATS,
    description: '`text`: one readable line per event (coloured only on a terminal); `json`: pino JSON lines.',
    example: 'json',
  },
  {
    name: 'package',
    kind: 'string',
    default: BUILTIN_CLAIM.shared.package,
    description: 'The shared wrapper package (an attribute of pkgs); spec `shared.package`.',
    example: 'cc-ci-run',
    claim: true,
    fromSpec: true,
  },
  {
    name: 'sweep',
    kind: 'string',
    default: noSuffix(sweepOf.unit),
    description:
      'systemd service of the nightly sweep (`<sweep>.service`, started by a timer); its ExecStart is followed through its scripts to the wrapper. Spec: the `unit` of the systemd-service consumer with `started_by_timer: true`.',
    example: 'cc-ci-nightly-sweep',
    claim: true,
    fromSpec: true,
  },
  {
    name: 'tools_attr',
    kind: 'string',
    default: BUILTIN_CLAIM.shared.toolsAttr,
    description: 'Overlay attribute holding the shared tool list; spec `shared.tools_attr`.',
    example: 'ccciRuntimeTools',
    claim: true,
    fromSpec: true,
  },
  {
    name: 'pyenv_attr',
    kind: 'string',
    default: BUILTIN_CLAIM.shared.envAttr,
    description: 'Name of the python withPackages env in packages_file; spec `shared.env_attr`.',
    example: 'ccciPyEnv',
    claim: true,
    fromSpec: true,
  },
  {
    name: 'packages_file',
    kind: 'path',
    default: BUILTIN_CLAIM.shared.file,
    description: 'File that declares the shared runtime (inside the repository); spec `shared.file`.',
    example: 'nix/modules/packages.nix',
    claim: true,
    fromSpec: true,
  },
  {
    name: 'sweep_file',
    kind: 'path',
    default: sweepOf.module,
    description: "Module of the nightly sweep service (inside the repository); spec: that consumer's `module`.",
    example: 'nix/modules/nightly-sweep.nix',
    claim: true,
    fromSpec: true,
  },
  {
    name: 'runner_file',
    kind: 'path',
    default: droneOf.module,
    description:
      "Module of the Drone exec runner service (inside the repository); the PATH itself is read from the runner unit systemd runs. Spec: the drone-step consumer's `module`.",
    example: 'nix/modules/drone-runner.nix',
    claim: true,
    fromSpec: true,
  },
  {
    name: 'runner_service',
    kind: 'string',
    default: noSuffix(droneOf.runnerUnit),
    description: "systemd service name of the Drone exec runner; spec: the drone-step consumer's `runner_unit`.",
    example: 'drone-runner-exec',
    claim: true,
    fromSpec: true,
  },
  {
    name: 'drone_script',
    kind: 'path',
    default: droneOf.runs,
    description:
      "What the Drone step runs through the wrapper (a path inside the repository); spec: the drone-step consumer's `runs`.",
    example: 'runner/run_recipe_ci.py',
    claim: true,
    fromSpec: true,
  },
  {
    name: 'host_config',
    kind: 'path',
    default: BUILTIN_CLAIM.hostConfig,
    description:
      'Per-host configuration file; `{host}` is replaced by the host name (inside the repository). Spec `host_defaults.config`.',
    example: 'nix/hosts/{host}/configuration.nix',
    claim: true,
    fromSpec: true,
  },
  {
    name: 'drone_file',
    kind: 'path',
    default: droneOf.pipeline,
    description:
      "Drone pipeline file of the verified repository (inside it); spec: the drone-step consumer's `pipeline`.",
    example: '.drone.yml',
    claim: true,
    fromSpec: true,
  },
  {
    name: 'nix_dir',
    kind: 'path',
    default: BUILTIN_CLAIM.searchDir,
    description: 'Directory the grep proofs search, recursively (inside the repository); spec `search_dir`.',
    example: 'nix',
    claim: true,
    fromSpec: true,
  },
  {
    name: 'expected_tools',
    kind: 'list',
    default: BUILTIN_CLAIM.expectedTools.entries.join(','),
    description: 'name-version entries the wrapper PATH must hold; spec `expected_tools.entries`.',
    example: ['git-2.47.2', 'git-lfs-3.6.1'],
    claim: true,
    fromSpec: true,
  },
  {
    name: 'required_bins',
    kind: 'list',
    default: BUILTIN_CLAIM.requiredPrograms.join(','),
    description:
      'Programs every host system PATH (sw/bin) must have; spec `required_programs` (per host or in host_defaults).',
    example: ['git-lfs', 'openssl'],
    claim: true,
    fromSpec: true,
  },
  {
    name: 'allow_unsandboxed_build',
    kind: 'boolean',
    default: 'false',
    description:
      "Accept builds that run as the verifier's own uid without a sandbox (no nix-daemon, no nixbld build users): a build could then rewrite the verdict, so without this a pass becomes a fail. Shown as a deviation when it applies. See docs/guarantees-process.md.",
    example: true,
  },
  {
    name: 'submodule_urls',
    kind: 'list',
    defaultText: "(none: only URLs relative to the repository's own remote)",
    description:
      "Submodule URLs (exact, or a prefix ending in `/`) Nix may clone besides those relative to the repository's own remote; any other `.gitmodules` URL is refused.",
    example: ['https://git.example.org/ops/'],
  },
  {
    name: 'base',
    kind: 'string',
    defaultText:
      "under Drone: a pull request's target branch tip (HEAD^1 of the merge clone), a push's DRONE_COMMIT_BEFORE; otherwise none (nothing is compared)",
    description:
      'Git revision to compare with (the no-drop check and the runtime diff): evaluated from a private copy of its files; the repository is never fetched into or changed. A commit a shallow clone lacks is exit 2 (set `clone: depth:`).',
    example: 'origin/main',
  },
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
    description:
      'sha256 (hex) the spec read must have (the built-in one included), else exit 2: pins a repository spec so that a pull request cannot change the claim unseen.',
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
// PLUGIN_CHECK_SPEC is a command (`--check-spec`, src/cli.ts), not a setting of the verification.
export const IGNORED_PLUGIN_VARS: readonly string[] = ['PLUGIN_CHECK_SPEC'];

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
  /** The revision to compare with (`--base`); unset: Drone's defaults, else none. */
  base?: string;
  allowUnsandboxedBuild: boolean;
  submoduleUrls?: string[];
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
    if (
      !Array.isArray(parsed) ||
      !parsed.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    ) {
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
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]], 0));
}

function describeAllowed(def: SettingDef): string {
  switch (def.kind) {
    case 'boolean':
      return 'true or false (also yes/no, on/off)';
    case 'enum':
      return `one of ${def.values!.join(', ')}`;
    case 'list':
      return def.values
        ? `a non-empty comma-separated list (or JSON array) of ${def.values.join(', ')}`
        : 'a non-empty comma-separated list or a JSON array';
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
const BOOLEANS: Record<string, boolean> = {
  true: true,
  false: false,
  yes: true,
  no: false,
  on: true,
  off: false,
  '1': true,
  '0': false,
};

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
        .transform((v) => BOOLEANS[v]);
    case 'enum':
      return z
        .string()
        .transform((v) => v.trim().toLowerCase())
        .pipe(z.enum(def.values as [string, ...string[]]));
    case 'list': {
      const item = def.values
        ? z
            .string()
            .transform((v) => v.toLowerCase())
            .pipe(z.enum(def.values as [string, ...string[]]))
        : nonEmpty;
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
          if (
            !Array.isArray(parsed) ||
            !parsed.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
          )
            throw new Error('expected an array of strings');
          return parsed.map(String);
        }
        // Drone's form of a YAML list of plain items: joined with commas.
        return text
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '');
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
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
          throw new Error('expected a map of nix settings');
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

/**
 * Why a repository path setting is refused, or undefined. Purely textual; the filesystem is checked by checkSettingsFs.
 */
export function repoPathProblem(value: string): string | undefined {
  if (value.includes('\0')) return 'contains a NUL character';
  if (path.posix.isAbsolute(value) || path.win32.isAbsolute(value))
    return 'an absolute path; paths are relative to the repository';
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
export function parseArgv(argv: readonly string[]): {
  flags: Record<string, string>;
  help: boolean;
  version: boolean;
  printSpec: boolean;
  verbose: boolean;
  checkSpec: boolean;
  init: boolean;
} {
  const byFlag = new Map(SETTINGS.map((d) => [flagName(d.name), d]));
  const flags: Record<string, string> = {};
  let help = false;
  let version = false;
  let printSpec = false;
  let verbose = false;
  // Commands of src/cli.ts other than a verification: check the spec, print a starting spec.
  let checkSpec = false;
  let init = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--check-spec' || arg === '--init') {
      if (arg === '--check-spec') checkSpec = true;
      else init = true;
      continue;
    }
    // The console shows passing checks' evidence too (as log_level debug does).
    if (arg === '--verbose') {
      verbose = true;
      continue;
    }
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
      throw new SettingsError(
        `unknown ${shown === 'argument (not shown)' ? shown : `argument ${shown}`}${near ? `; did you mean ${flagName(near)}?` : ''}; run with --help to list the settings`,
      );
    }
    if (eq > 0) {
      flags[def.name] = arg.slice(eq + 1);
    } else if (def.kind === 'boolean' && (argv[i + 1] === undefined || argv[i + 1].startsWith('--'))) {
      flags[def.name] = 'true';
    } else {
      const value = argv[++i];
      if (value === undefined) throw new SettingsError(`${flag} needs a value: ${describeAllowed(def)}`);
      flags[def.name] = value;
    }
  }
  return { flags, help, version, printSpec, verbose, checkSpec, init };
}

/** The known setting nearest to a misspelt name. */
export const closestSetting = (name: string): string | undefined =>
  closestName(
    name,
    SETTINGS.map((d) => d.name),
  );

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
    // The text null is no value (an unresolved template, a quoted "null"): refused rather than used as a file name or
    // host.
    if (given !== undefined && given.trim() === 'null') {
      problems.push(`${label}: got null; give a value or remove the setting`);
      continue;
    }
    // An empty list is Drone's `checks: []`: refused rather than read as the default.
    if (given !== undefined && def.kind === 'list' && (given.trim() === '' || given.trim() === '[]')) {
      problems.push(
        `${label}: got an empty list; expected ${describeAllowed(def)} (leave the setting out for the default)`,
      );
      continue;
    }
    // A claim setting left unset comes from the spec, not from its (documented) default.
    const raw: string | undefined =
      (given !== undefined && given !== '' ? given : undefined) ?? (def.fromSpec ? undefined : def.default);
    if (raw === undefined) continue;
    const result = schemaFor(def).safeParse(raw);
    if (!result.success) {
      // nix arguments may hold credentials: never echo them.
      const hidden = def.secret || def.kind === 'nix-args' || def.kind === 'nix-config';
      const shown = hidden
        ? `a value of ${raw.length} characters`
        : JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw);
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
  const fromOptions = out.nixOptions
    ? allow(() => checkNixArgs(origin('nix_options'), out.nixOptions as string[]), [])
    : [];
  const fromConfig = out.nixConfig ? allow(() => nixConfigArgs(origin('nix_config'), config), []) : [];
  if (problems.length) throw new SettingsError(`invalid settings:\n  ${problems.join('\n  ')}`);
  out.nixOptions = [...fromOptions, ...fromConfig];
  out.nixConfig = Object.fromEntries(Object.keys(config).map((k, i) => [k, fromConfig[i * 3 + 2]]));

  const flake = (out.flake as string | undefined) ?? source.env.DRONE_WORKSPACE ?? source.cwd;
  out.flake = path.resolve(source.cwd, flake);
  out.timeoutMs = out.timeout;
  delete out.timeout;
  if (out.debug && !['trace', 'debug'].includes(out.logLevel as string)) out.logLevel = 'debug';
  for (const host of (out.hosts as string[] | undefined) ?? []) {
    if (!/^[A-Za-z0-9_'.-]+$/.test(host) || host === '.' || host === '..') {
      throw new SettingsError(
        `${source.flags.hosts !== undefined ? flagName('hosts') : envName('hosts')}: got host ${JSON.stringify(host)}; expected nixosConfigurations attribute names (letters, digits, - _ . ')`,
      );
    }
  }
  // The claim: the spec file (or the built-in spec), with the claim settings given over it.
  const given: ClaimSettings = {};
  for (const name of CLAIM_SETTING_NAMES) {
    const value = out[camel(name)];
    if (value !== undefined) (given as Record<string, unknown>)[name] = value;
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a setting dropped by its name
    delete out[camel(name)];
  }
  const specLabel = (name: string): string => (source.flags[name] !== undefined ? flagName(name) : envName(name));
  const pinned = out.specSha256 as string | undefined;
  if (pinned !== undefined && !/^[0-9a-fA-F]{64}$/.test(pinned.trim()))
    throw new SettingsError(
      `${specLabel('spec_sha256')}: got ${JSON.stringify(pinned.slice(0, 80))}; expected 64 hexadecimal digits (sha256sum of the spec file)`,
    );
  const spec = loadSpec(out.flake as string, out.spec as string | undefined, pinned?.trim(), {
    spec: specLabel('spec'),
    sha256: specLabel('spec_sha256'),
  });
  if (spec.origin !== 'built-in') out.spec = spec.file;
  else delete out.spec;
  out.specSha256 = spec.sha256;
  const labels = Object.fromEntries(
    CLAIM_SETTING_NAMES.map((n) => [n, source.flags[n] !== undefined ? flagName(n) : envName(n)]),
  );
  const claim = applySettings(spec.claim, given, labels);
  out.claim = claim;
  out.hosts = claim.hosts.map((h) => h.name);
  out.checks = claim.checks;
  return out as unknown as Settings;
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
  if (settings.mode !== 'build')
    runSettings.push({ setting: 'mode', value: settings.mode, default: 'build', label: `mode=${settings.mode}` });
  if (!settings.submodules)
    runSettings.push({ setting: 'submodules', value: 'false', default: 'true', label: 'submodules=false' });
  if (settings.nixOptions.length) {
    const shown = redact(settings.nixOptions.join(' '), nixArgSecrets(settings.nixOptions));
    const fromConfig = Object.keys(settings.nixConfig).length * 3;
    const setting =
      fromConfig === 0
        ? 'nix_options'
        : fromConfig === settings.nixOptions.length
          ? 'nix_config'
          : 'nix_options+nix_config';
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
