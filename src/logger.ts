// pino to stderr (stdout carries the verdict and the card). Two formats:
//   text (default): one readable line per event,
//     `2026-12-01T19:30:00Z INFO evaluating cc-ci host=cc-ci`, coloured only on a terminal;
//   json: pino's own JSON lines.
// Every line is redacted at the destination, after pino has serialised it, so
// bindings, error objects and messages at every level go through the one
// redaction function.
import { pino, type DestinationStream, type Logger } from 'pino';
import { collectSecrets, redact } from './redact.js';

export { redact };

/** Values that must never reach a log or a written report (see collectSecrets). */
export function secretValues(env: NodeJS.ProcessEnv, flags: Record<string, string> = {}): string[] {
  return collectSecrets(env, flags);
}

export interface LoggerOptions {
  level: string;
  format?: 'text' | 'json';
  /** Colour the level words (a terminal). */
  color?: boolean;
  /** Where each finished line goes; stderr by default. */
  write?: (line: string) => void;
  secrets?: readonly string[];
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const LEVEL_COLORS: Record<number, string> = {
  10: '\x1b[90m',
  20: '\x1b[36m',
  30: '\x1b[32m',
  40: '\x1b[33m',
  50: '\x1b[31m',
  60: '\x1b[35m',
};
const HIDDEN_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v']);

// C0/C1 controls, DEL, line separators and bidi controls: spelled \uXXXX in a text log line (inert, issue 16).

const ACTIVE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const inert = (text: string): string =>
  text.replace(ACTIVE, (c) =>
    c === '\n' ? '\\n' : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
  );

function fieldValue(value: unknown): string {
  if (typeof value === 'string')
    return /^[^\s"=\x00-\x1f\x7f-\x9f]*$/.test(value) && value !== '' ? inert(value) : JSON.stringify(value);
  if (value && typeof value === 'object' && 'message' in value && typeof value.message === 'string') {
    // A serialised error: its message, never the stack.
    return JSON.stringify((value as { message: string }).message);
  }
  return JSON.stringify(value);
}

/** One pino JSON line -> `TIME LEVEL message key=value …` (a single line: newlines in values are escaped). */
export function formatLogLine(line: string, color = false): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${inert(line.replace(/\n$/, ''))}\n`;
  }
  const time =
    typeof record.time === 'number'
      ? new Date(record.time).toISOString().replace(/\.\d{3}Z$/, 'Z')
      : String(record.time ?? '');
  const level = Number(record.level);
  const word = LEVEL_NAMES[level] ?? String(record.level);
  const shownLevel = color ? `${LEVEL_COLORS[level] ?? ''}${word}\x1b[0m` : word;
  const fields = Object.entries(record)
    .filter(([k]) => !HIDDEN_KEYS.has(k))
    .map(([k, v]) => `${k}=${fieldValue(v)}`);
  const text = [inert(time), shownLevel, inert(String(record.msg ?? '')), ...fields.map(inert)]
    .filter((p) => p !== '')
    .join(' ');
  return `${text}\n`;
}

/** A synchronous destination: redact, format, write. */
function destination(options: LoggerOptions): DestinationStream {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const secrets = options.secrets ?? [];
  return {
    write(line: string) {
      const clean = redact(line, secrets);
      write(options.format === 'json' ? clean : formatLogLine(clean, options.color ?? false));
    },
  };
}

export function createLogger(options: LoggerOptions): Logger {
  return pino({ level: options.level, base: { name: 'nixenv-verify' } }, destination(options));
}
