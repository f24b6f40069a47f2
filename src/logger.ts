// pino to stderr (stdout carries the verdict and the card): JSON in CI, readable on a terminal.
import { pino, type Logger } from 'pino';
import { redact } from './redact.js';
import { envName, SETTINGS } from './settings.js';

const SECRET_ENV = /(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIAL)/i;

/** Values that must never reach a log or a written report: secret settings and token-like environment variables. */
export function secretValues(env: NodeJS.ProcessEnv): string[] {
  const tokenLike = Object.entries(env)
    .filter(([k, v]) => v && v.length >= 6 && SECRET_ENV.test(k))
    .map(([, v]) => v!);
  const secretSettings = SETTINGS.filter((d) => d.secret)
    .map((d) => env[envName(d.name)] ?? '')
    .filter((v) => v.length >= 3);
  return [...new Set([...secretSettings, ...tokenLike, ...nixOptionSecrets(env[envName('nix_options')])])];
}

/** Nix settings that carry credentials, as passed in nix_options: `--option access-tokens X` or `--access-tokens X`. */
const SECRET_NIX_SETTINGS = ['access-tokens', 'netrc-file'];

export function nixOptionSecrets(raw: string | undefined): string[] {
  let args: unknown;
  try {
    args = JSON.parse(raw ?? '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(args)) return [];
  const found: string[] = [];
  args.forEach((a, i) => {
    if (a === '--option' && SECRET_NIX_SETTINGS.includes(String(args[i + 1]))) found.push(String(args[i + 2] ?? ''));
    if (SECRET_NIX_SETTINGS.some((k) => a === `--${k}`)) found.push(String(args[i + 1] ?? ''));
  });
  return found.filter((v) => v.length >= 3);
}

export { redact };

/**
 * Logs go to stderr synchronously, so they are all out before the verdict and the
 * Drone card are written. On a terminal pino-pretty formats them in-process (no
 * transport worker); it is loaded only then.
 */
export async function createLogger(level: string, env: NodeJS.ProcessEnv = process.env, pretty = Boolean(process.stderr.isTTY) && !env.CI): Promise<Logger> {
  const secrets = secretValues(env);
  const hooks = {
    logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
      method.apply(this, args.map((a) => (typeof a === 'string' ? redact(a, secrets) : a && typeof a === 'object' ? JSON.parse(redact(JSON.stringify(a), secrets)) : a)));
    },
  };
  if (pretty) {
    const { default: prettyStream } = await import('pino-pretty');
    return pino({ level, hooks }, prettyStream({ destination: 2, sync: true, colorize: true, singleLine: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' }));
  }
  return pino({ level, hooks, base: { name: 'nixenv-verify' } }, pino.destination({ fd: 2, sync: true }));
}
