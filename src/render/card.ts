// The Drone card: `{schema, data}`, where schema is the URL of our Adaptive Card
// template (templates/card.json) and data fills its ${...} bindings.
import path from 'node:path';
import type { CheckStatus, Verdict } from '../verdict.js';
import { STATUS_WORD, headline, printable, seconds } from './common.js';

export const PROJECT_REPO_URL = 'https://github.com/cc-ci/nixenv-verify';
/** Where templates/card.json is published; the Drone UI fetches it and binds `data` into it. */
export const CARD_SCHEMA_URL = 'https://raw.githubusercontent.com/cc-ci/nixenv-verify/main/templates/card.json';

/** Adaptive Card text colours (Good, Attention, Warning, Default) per status. */
const COLOR: Record<CheckStatus, string> = { pass: 'Good', fail: 'Attention', error: 'Warning', skip: 'Default' };

export interface CardCheck {
  id: string;
  title: string;
  status: string;
  color: string;
  summary: string;
  duration: string;
}

export interface CardData {
  verdict: string;
  verdictColor: string;
  headline: string;
  mode: string;
  nix: string;
  flake: string;
  hosts: string;
  duration: string;
  tool: string;
  checks: CardCheck[];
}

export interface CardPayload {
  schema: string;
  data: CardData;
}

export function renderCard(verdict: Verdict): CardPayload {
  return {
    schema: CARD_SCHEMA_URL,
    data: {
      verdict: verdict.verdict === 'pass' ? 'PASS' : 'FAIL',
      verdictColor: verdict.verdict === 'pass' ? 'Good' : 'Attention',
      headline: headline(verdict),
      mode: verdict.mode === 'eval' ? 'eval mode (nothing built)' : 'build mode',
      nix: verdict.nix.version,
      flake: verdict.flakeRef,
      hosts: verdict.hosts.join(', '),
      duration: seconds(verdict.durationMs),
      tool: `${verdict.tool.name} ${verdict.tool.version}`,
      checks: verdict.checks.map((c) => ({
        id: c.id,
        title: c.title,
        status: STATUS_WORD[c.status],
        color: COLOR[c.status],
        summary: printable(c.summary),
        duration: seconds(c.durationMs),
      })),
    },
  };
}

const CARD_START = '\x1b]1338;';
const CARD_END = '\x1b]0m';

/**
 * The card as the Drone runner picks it out of stdout: one write that starts
 * with ESC]1338;, carries base64 JSON and ends with ESC]0m (the runner only
 * looks for the prefix at the start of a write).
 */
export function cardEscape(payload: CardPayload): string {
  return `${CARD_START}${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64')}${CARD_END}`;
}

export type CardTarget = { kind: 'off'; reason: string } | { kind: 'stdout' } | { kind: 'stderr' } | { kind: 'file'; path: string };

/**
 * Where the card goes. Drone runners set DRONE_CARD_PATH=/dev/stdout; a real
 * path (existing, or in an existing directory) gets plain JSON. Outside Drone
 * (no DRONE=true, no DRONE_CARD_PATH) nothing is written: the escape sequence
 * would only litter a terminal.
 */
export function cardTarget(env: NodeJS.ProcessEnv, cwd: string, exists: (file: string) => boolean): CardTarget {
  if (env.DRONE_FLAG_ENABLE_CARDS === 'false') return { kind: 'off', reason: 'DRONE_FLAG_ENABLE_CARDS=false' };
  const where = env.DRONE_CARD_PATH ?? '';
  if (where === '/dev/stdout') return { kind: 'stdout' };
  if (where === '/dev/stderr') return { kind: 'stderr' };
  if (where !== '') {
    const file = path.resolve(cwd, where);
    if (exists(file) || exists(path.dirname(file))) return { kind: 'file', path: file };
    return { kind: 'stdout' };
  }
  return env.DRONE === 'true' ? { kind: 'stdout' } : { kind: 'off', reason: 'not running under Drone' };
}
