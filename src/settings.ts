// Settings: one table (name, PLUGIN_* variable, flag, default, meaning) that
// drives parsing, --help, plugin.yml and the README; parsed once with zod.
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { SettingsError } from './errors.js';
import { CHECK_IDS, type CheckId } from './verdict.js';

export const CLAIM_EXPECTED_TOOLS = [
  'python3-3.12.8-env',
  'abra-0.13.0-beta',
  'docker-27.5.1',
  'git-2.47.2',
  'git-lfs-3.6.1',
  'bash-5.2p37',
  'coreutils-9.5',
  'util-linux-2.39.4',
  'curl-8.12.1',
  'jq-1.7.1',
  'gnused-4.9',
  'gnugrep-3.11',
  'gnutar-1.35',
  'openssl-3.3.3',
  'procps-4.0.4',
];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const MODES = ['build', 'eval'] as const;

type Kind = 'string' | 'list' | 'boolean' | 'enum' | 'duration' | 'integer' | 'json-list';

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
}

export const SETTINGS: readonly SettingDef[] = [
  { name: 'flake', kind: 'string', defaultText: '$DRONE_WORKSPACE, else the current directory', description: 'Directory of the flake repository to verify.' },
  { name: 'hosts', kind: 'list', default: 'cc-ci,cc-ci-hetzner', description: 'nixosConfigurations to verify.' },
  { name: 'mode', kind: 'enum', default: 'build', values: MODES, description: '`build` builds every host toplevel; `eval` only evaluates (fast, builds nothing).' },
  { name: 'checks', kind: 'list', default: CHECK_IDS.join(','), values: CHECK_IDS, description: 'Checks to run.' },
  { name: 'report', kind: 'string', description: 'Write the JSON report to this path.' },
  { name: 'junit', kind: 'string', description: 'Write a JUnit XML report (one testcase per check) to this path.' },
  { name: 'summary', kind: 'string', description: 'Write a Markdown summary (fit for a pull-request comment) to this path.' },
  { name: 'submodules', kind: 'boolean', default: 'true', description: 'Use `DIR?submodules=1#…` flake refs so git submodules (e.g. secrets/) are part of the flake.' },
  { name: 'nix_options', kind: 'json-list', default: '[]', description: 'Extra arguments for every nix call, e.g. ["--option","builders","ssh://b x86_64-linux"].' },
  { name: 'timeout', kind: 'duration', default: '30m', description: 'Time limit per nix command (e.g. 90s, 30m, 1h).' },
  { name: 'concurrency', kind: 'integer', default: '0', description: 'Hosts evaluated/built at once; 0 = automatic (bounded by CPU cores and memory).' },
  { name: 'log_level', kind: 'enum', default: 'info', values: LOG_LEVELS, description: 'Log level of the stderr log; `debug` traces every nix command.' },
  { name: 'package', kind: 'string', default: 'cc-ci-run', description: 'The shared wrapper package (an attribute of pkgs).' },
  { name: 'sweep', kind: 'string', default: 'cc-ci-nightly-sweep', description: 'Name of the sweep wrapper store path in the host closure.' },
  { name: 'tools_attr', kind: 'string', default: 'ccciRuntimeTools', description: 'Overlay attribute holding the shared tool list.' },
  { name: 'pyenv_attr', kind: 'string', default: 'ccciPyEnv', description: 'Name of the python withPackages env in packages_file.' },
  { name: 'packages_file', kind: 'string', default: 'nix/modules/packages.nix', description: 'File that declares the shared runtime.' },
  { name: 'sweep_file', kind: 'string', default: 'nix/modules/nightly-sweep.nix', description: 'Module of the nightly sweep service.' },
  { name: 'runner_file', kind: 'string', default: 'nix/modules/drone-runner.nix', description: 'Module of the Drone exec runner service.' },
  { name: 'runner_service', kind: 'string', default: 'drone-runner-exec', description: 'systemd service name of the Drone exec runner.' },
  { name: 'drone_script', kind: 'string', default: 'runner/run_recipe_ci.py', description: 'What the Drone step runs through the wrapper.' },
  { name: 'host_config', kind: 'string', default: 'nix/hosts/{host}/configuration.nix', description: 'Per-host configuration file; `{host}` is replaced by the host name.' },
  { name: 'drone_file', kind: 'string', default: '.drone.yml', description: 'Drone pipeline file of the verified repository.' },
  { name: 'nix_dir', kind: 'string', default: 'nix', description: 'Directory the grep proofs search (recursively).' },
  { name: 'expected_tools', kind: 'list', default: CLAIM_EXPECTED_TOOLS.join(','), description: 'name-version entries the wrapper PATH must hold.' },
  { name: 'required_bins', kind: 'list', default: 'git-lfs,openssl', description: 'Programs every host system PATH (sw/bin) must have.' },
];

export interface Settings {
  flake: string;
  hosts: string[];
  mode: (typeof MODES)[number];
  checks: CheckId[];
  report?: string;
  junit?: string;
  summary?: string;
  submodules: boolean;
  nixOptions: string[];
  timeoutMs: number;
  concurrency: number;
  logLevel: (typeof LOG_LEVELS)[number];
  package: string;
  sweep: string;
  toolsAttr: string;
  pyenvAttr: string;
  packagesFile: string;
  sweepFile: string;
  runnerFile: string;
  runnerService: string;
  droneScript: string;
  hostConfig: string;
  droneFile: string;
  nixDir: string;
  expectedTools: string[];
  requiredBins: string[];
}

export const envName = (name: string): string => `PLUGIN_${name.toUpperCase()}`;
export const flagName = (name: string): string => `--${name.replace(/_/g, '-')}`;
const camel = (name: string): string => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Drone encodes a list as comma-separated text or, from `settings:` YAML lists, a JSON array. */
export function parseList(raw: string): string[] {
  const text = raw.trim();
  if (text.startsWith('[')) {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string' || typeof v === 'number')) {
      throw new Error('expected a JSON array of strings');
    }
    return parsed.map((v) => String(v).trim()).filter((v) => v !== '');
  }
  return text
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** "90s", "30m", "1h", "1h30m", "500ms" or bare seconds -> milliseconds. */
export function parseDuration(raw: string): number {
  const text = raw.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error('expected a duration such as 90s, 30m or 1h');
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]!]!, 0));
}

function describeAllowed(def: SettingDef): string {
  switch (def.kind) {
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${def.values!.join(', ')}`;
    case 'list':
      return def.values ? `a comma-separated list (or JSON array) of ${def.values.join(', ')}` : 'a comma-separated list or a JSON array';
    case 'json-list':
      return 'a JSON array of strings, e.g. ["--option","cores","2"]';
    case 'duration':
      return 'a positive duration such as 90s, 30m or 1h';
    case 'integer':
      return 'a whole number >= 0';
    default:
      return 'a non-empty string';
  }
}

const nonEmpty = z.string().trim().min(1);

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
      return z.enum(['true', 'false', 'TRUE', 'FALSE', 'True', 'False', '1', '0']).transform((v) => ['true', '1'].includes(v.toLowerCase()));
    case 'enum':
      return z.enum(def.values as [string, ...string[]]);
    case 'list': {
      const item = def.values ? z.enum(def.values as [string, ...string[]]) : nonEmpty;
      return wrap(parseList).pipe(z.array(item).min(1));
    }
    case 'json-list':
      return wrap((s) => (s.trim() === '' ? [] : JSON.parse(s))).pipe(z.array(z.string()));
    case 'duration':
      return wrap(parseDuration).pipe(z.number().int().positive());
    case 'integer':
      return z.string().regex(/^\s*\d+\s*$/).transform((s) => Number(s));
    default:
      return nonEmpty;
  }
}

export interface SettingsSource {
  env: NodeJS.ProcessEnv;
  /** Flags after argv parsing: setting name -> raw value. */
  flags: Record<string, string>;
  cwd: string;
}

/** Splits argv into setting flags (`--hosts a,b`, `--hosts=a,b`, `--no-submodules`) and commands. */
export function parseArgv(argv: readonly string[]): { flags: Record<string, string>; help: boolean; version: boolean } {
  const byFlag = new Map(SETTINGS.map((d) => [flagName(d.name), d]));
  const flags: Record<string, string> = {};
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
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
      throw new SettingsError(`unknown argument ${JSON.stringify(arg)}; run with --help to list the settings`);
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
  return { flags, help, version };
}

/** Reads every setting (flag wins over PLUGIN_* variable, which wins over the default). */
export function parseSettings(source: SettingsSource): Settings {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const def of SETTINGS) {
    const fromFlag = source.flags[def.name];
    const fromEnv = source.env[envName(def.name)];
    const origin = fromFlag !== undefined ? flagName(def.name) : envName(def.name);
    const raw: string | undefined = fromFlag ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined) ?? def.default;
    if (raw === undefined) continue;
    const result = schemaFor(def).safeParse(raw);
    if (!result.success) {
      const shown = def.secret ? '***' : JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw);
      const detail = result.error.issues[0]?.message ?? '';
      problems.push(`${origin} (${envName(def.name)}): got ${shown}; expected ${describeAllowed(def)}${detail && def.kind !== 'enum' && def.kind !== 'boolean' ? ` (${detail})` : ''}`);
      continue;
    }
    out[camel(def.name)] = result.data;
  }
  if (problems.length) throw new SettingsError(`invalid settings:\n  ${problems.join('\n  ')}`);

  const flake = (out.flake as string | undefined) ?? source.env.DRONE_WORKSPACE ?? source.cwd;
  out.flake = path.resolve(source.cwd, flake);
  out.nixOptions = out.nixOptions ?? [];
  out.timeoutMs = out.timeout;
  delete out.timeout;
  if (!(out.hostConfig as string).includes('{host}') && (out.hosts as string[]).length > 1) {
    throw new SettingsError(`PLUGIN_HOST_CONFIG: got ${JSON.stringify(out.hostConfig)}; expected a path containing {host} when several hosts are verified`);
  }
  for (const host of out.hosts as string[]) {
    if (!/^[A-Za-z0-9_'.-]+$/.test(host)) {
      throw new SettingsError(`PLUGIN_HOSTS: got host ${JSON.stringify(host)}; expected nixosConfigurations attribute names (letters, digits, - _ . ')`);
    }
  }
  return out as unknown as Settings;
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
    '',
  ];
  for (const def of SETTINGS) {
    const dflt = def.defaultText ?? (def.default === undefined ? '(unset)' : def.default === '' ? '(empty)' : def.default);
    lines.push(`  ${flagName(def.name)}  [${envName(def.name)}]`);
    lines.push(`      ${def.description}`);
    lines.push(`      default: ${dflt}${def.values ? `; allowed: ${def.values.join(', ')}` : ''}`);
  }
  lines.push('', 'Exit status: 0 verdict pass, 1 a check failed or errored, 2 invalid settings or the run cannot start.');
  return lines.join('\n');
}
