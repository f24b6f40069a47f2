// The one way secret values are hidden, in logs and in every written output,
// and the one place that knows where secrets come from.
//
// Two layers: a list of known secret values (token-like environment variables,
// nix settings that carry credentials, passwords in builder/substituter URLs),
// and patterns that need no list (the password of any `scheme://user:pw@host`,
// GitHub/GitLab token shapes), so text nix echoes is covered even when the
// value came from somewhere the list does not know.

/** Environment variable names whose values are credentials. (Not AUTH: DRONE_COMMIT_AUTHOR is a name.) */
export const SECRET_ENV = /(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_?KEY|CREDENTIAL|COOKIE)/i;

/**
 * Nix settings whose value is a credential. `netrc-file` is a path (the credentials stay in the file): not a secret.
 */
export const SECRET_NIX_SETTINGS: readonly string[] = ['access-tokens'];

const MASK = '***';

/** `scheme://user:password@host`: the password (never the user or host). */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s/@:'"]*):([^\s/@'"]+)@/gi;
/** Token shapes worth hiding wherever they appear. */
const TOKEN_SHAPES = /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,})\b/g;

/** Forms a secret takes in our outputs: as is, and escaped inside a JSON string. */
function forms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  return json === secret ? [secret] : [secret, json];
}

/**
 * Every occurrence of each secret replaced by `***` (longest first, so a secret
 * containing another is hidden whole), then URL passwords and token shapes.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  const all = [...new Set(secrets.filter((s) => s !== '').flatMap(forms))].sort((a, b) => b.length - a.length);
  const listed = all.reduce((out, s) => out.split(s).join(MASK), text);
  return listed.replace(URL_PASSWORD, `$1:${MASK}@`).replace(TOKEN_SHAPES, MASK);
}

/** Passwords of `scheme://user:pw@host` URLs in a value (builders, substituters). */
export function urlPasswords(value: string): string[] {
  return [...value.matchAll(URL_PASSWORD)].map((m) => m[2]);
}

/**
 * The secret parts of one nix setting's value: the whole `access-tokens` value and each token in it, URL passwords of
 * any value.
 */
export function nixSettingSecrets(name: string, value: string): string[] {
  const found = urlPasswords(value);
  if (SECRET_NIX_SETTINGS.includes(name.replace(/^extra-/, ''))) {
    found.push(value);
    // `host=token host2=token2`: each token alone, as nix may echo one.
    for (const item of value.split(/\s+/)) {
      const eq = item.indexOf('=');
      if (eq > 0) found.push(item.slice(eq + 1));
    }
  }
  return found.filter((v) => v.length >= 3);
}

/** Secrets in a list of nix arguments: `--option NAME VALUE`, `--NAME VALUE`, and URL passwords anywhere. */
export function nixArgSecrets(args: readonly unknown[]): string[] {
  const found: string[] = [];
  args.forEach((a, i) => {
    const word = String(a);
    found.push(...urlPasswords(word));
    if (word === '--option' && args[i + 2] !== undefined)
      found.push(...nixSettingSecrets(String(args[i + 1]), String(args[i + 2])));
    else if (word.startsWith('--') && args[i + 1] !== undefined)
      found.push(...nixSettingSecrets(word.slice(2), String(args[i + 1])));
  });
  return found.filter((v) => v.length >= 3);
}

/**
 * Best effort over raw setting text that may not even parse: a JSON array or
 * object, or a comma-joined list. Used before the settings are validated, so
 * the exit-2 message of a malformed value is redacted too.
 */
export function rawNixSecrets(options: string | undefined, config: string | undefined): string[] {
  const found: string[] = [];
  for (const raw of [options, config]) {
    if (!raw) continue;
    found.push(...urlPasswords(raw));
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = raw.split(',');
    }
    if (Array.isArray(parsed)) found.push(...nixArgSecrets(parsed));
    else if (parsed && typeof parsed === 'object') {
      for (const [k, v] of Object.entries(parsed))
        found.push(...nixSettingSecrets(k, Array.isArray(v) ? v.join(' ') : String(v)));
    }
    // Unparseable text: a token-ish word after access-tokens.
    for (const m of raw.matchAll(/access-tokens["',\s:=]+([^"',\]}]+)/g))
      found.push(...nixSettingSecrets('access-tokens', m[1].trim()));
  }
  return found.filter((v) => v.length >= 3);
}

const NOT_SECRET_VALUES = new Set(['true', 'false', 'null', 'undefined']);

/** Token-like environment variables: name matches SECRET_ENV, value long enough not to be a word like `true`. */
export function envSecrets(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([k, v]) => v && v.length >= 6 && SECRET_ENV.test(k) && !NOT_SECRET_VALUES.has(v.toLowerCase()))
    .map(([, v]) => v!);
}

/** Credentials in nix.conf-style text (`name = value` lines), as NIX_CONFIG in the environment carries it to nix. */
export function nixConfTextSecrets(text: string | undefined): string[] {
  if (!text) return [];
  return text.split('\n').flatMap((line) => {
    const m = /^\s*([A-Za-z0-9-]+)\s*=\s*(.*?)\s*$/.exec(line);
    return m ? nixSettingSecrets(m[1], m[2]) : urlPasswords(line);
  });
}

/**
 * Every secret value of a run, from every route: the environment (token-like
 * names, PLUGIN_NIX_OPTIONS, PLUGIN_NIX_CONFIG, NIX_CONFIG) and the CLI flags
 * (--nix-options, --nix-config).
 */
export function collectSecrets(env: NodeJS.ProcessEnv, flags: Record<string, string> = {}): string[] {
  return [
    ...new Set([
      ...envSecrets(env),
      ...nixConfTextSecrets(env.NIX_CONFIG),
      ...rawNixSecrets(env.PLUGIN_NIX_OPTIONS, env.PLUGIN_NIX_CONFIG),
      ...rawNixSecrets(flags.nix_options, flags.nix_config),
    ]),
  ];
}
