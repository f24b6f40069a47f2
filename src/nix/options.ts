// Nix arguments a user may pass: the allow-list. Each allowed setting changes HOW nix
// builds, fetches or waits, never WHAT it evaluates; everything else is refused with
// the reason and the allowed forms (exit 2).
import { SettingsError } from '../errors.js';
import { nixArgSecrets, redact } from '../redact.js';

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
  builders: {
    value: 'multiline',
    what: 'remote build machines (`;` or newline separated); URL passwords are redacted',
  },
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
  'access-tokens': {
    value: 'text',
    secret: true,
    what: 'tokens for fetching from private forges (secret: redacted everywhere)',
  },
  'netrc-file': {
    value: 'path',
    what: 'credentials file for binary caches (a path; its contents never reach an output)',
  },
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
  '--store':
    'the verifier reads built outputs from /nix/store on this filesystem; another store would build paths it cannot read',
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
  'allow-import-from-derivation': "it changes what the evaluation may do (the verifier uses nix's default)",
  'flake-registry': 'it changes how flake references resolve',
  'accept-flake-config': "it applies the flake's own nixConfig",
  'experimental-features': 'the verifier sets the features it needs',
  'extra-experimental-features': 'the verifier sets the features it needs',
  sandbox:
    'an unsandboxed build may read the host, so outputs would depend on more than the repository (set it in nix.conf if you must)',
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
const showWord = (word: string, index: number): string =>
  /^--?[A-Za-z][A-Za-z0-9-]*$/.test(word)
    ? JSON.stringify(word)
    : `item ${index + 1} (a value, not shown: it may be a credential)`;

function checkNixValue(origin: string, name: string, raw: unknown): string {
  const def = NIX_SETTINGS[name];
  if (raw === undefined)
    throw new SettingsError(
      `${origin}: ${JSON.stringify(name)} needs a value (${def.value === 'bool' ? 'true or false' : def.value.replace('-', ' ')})`,
    );
  const value = String(raw);
  const shown = def.secret ? '(not shown)' : JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  const bad = (expected: string) =>
    new SettingsError(
      `${origin}: nix setting ${name} got ${redact(shown, nixArgSecrets(['--option', name, value]))}; expected ${expected}`,
    );
  if (def.value !== 'bool' && value.startsWith('-'))
    throw bad(`a value (it starts with "-": did an option lose its value?)`);
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
  if (reason)
    throw new SettingsError(
      `${origin}: nix setting ${JSON.stringify(name)} is not allowed: ${reason}. Allowed: ${nixAllowedText()}`,
    );
  throw new SettingsError(
    `${origin}: nix setting ${JSON.stringify(name)} is not on the allow-list of settings that change how nix builds (not what it evaluates). Allowed: ${nixAllowedText()}`,
  );
}

/**
 * nix_options items -> the same arguments, checked against the allow-list (normalised: `--fallback` stays, `-j 4`
 * stays).
 */
export function checkNixArgs(origin: string, args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i];
    if (word === '--option') {
      const name = args[i + 1];
      if (name === undefined || name.startsWith('-'))
        throw new SettingsError(`${origin}: "--option" needs a setting name and a value. Allowed: ${nixAllowedText()}`);
      if (!NIX_SETTINGS[name]) refuseNixSetting(origin, name);
      out.push('--option', name, checkNixValue(origin, name, args[i + 2]));
      i += 2;
      continue;
    }
    const short = NIX_SHORT[word];
    if (short) {
      if (NIX_SETTINGS[short].value === 'bool') out.push(word);
      else {
        out.push(word, checkNixValue(origin, short, args[i + 1]));
        i += 1;
      }
      continue;
    }
    if (word.startsWith('--') && word.includes('=')) {
      throw new SettingsError(
        `${origin}: ${showWord(word.slice(0, word.indexOf('=')), i)} with "=": nix takes the value as the next item, e.g. ["--max-jobs","4"]`,
      );
    }
    const refused = NIX_REFUSED[word];
    if (refused)
      throw new SettingsError(
        `${origin}: ${JSON.stringify(word)} is not allowed: ${refused}. Allowed: ${nixAllowedText()}`,
      );
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
        throw new SettingsError(
          `${origin}: ${showWord(word, i)} is not on the allow-list of options that change how nix builds (not what it evaluates). Allowed: ${nixAllowedText()}`,
        );
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
    throw new SettingsError(
      `${origin}: ${showWord(word, i)} is not an option; nix_options holds options such as ["--option","builders","ssh://b x86_64-linux"]. Allowed: ${nixAllowedText()}`,
    );
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
      if (!raw.every((v) => ['string', 'number', 'boolean'].includes(typeof v)))
        throw new SettingsError(`${origin}: nix setting ${name}: a list must hold plain values`);
      value = raw.map(String).join(NIX_SETTINGS[name].value === 'multiline' ? ' ; ' : ' ');
    } else if (raw === null || typeof raw === 'object') {
      throw new SettingsError(`${origin}: nix setting ${name} needs a value (text, number, true/false or a list)`);
    }
    out.push('--option', name, checkNixValue(origin, name, String(value)));
  }
  return out;
}
