// The Drone card: `{schema, data}`, where schema is the URL of our Adaptive Card
// template (templates/card.json) and data fills its ${...} bindings.
import path from 'node:path';
import type { CheckResult, CheckStatus, Verdict } from '../verdict.js';
import {
  deviationLine,
  hazardLine,
  inlineText,
  orderedEvidence,
  printable,
  reasonHeadline,
  runtimeDiffText,
  seconds,
  STATUS_WORD,
} from './common.js';

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
  /** A failed or errored check's decisive evidence: the first few lines, each cut short; [] for the rest. */
  evidence: string[];
}

export interface CardFact {
  title: string;
  value: string;
}

export interface CardData {
  verdict: string;
  verdictColor: string;
  headline: string;
  mode: string;
  nix: string;
  /** What was verified: DRONE_REPO@commit under Drone, else the flake reference. */
  subject: string;
  hosts: string;
  duration: string;
  tool: string;
  /** `settings differing from the claim: …`, or '' when the claim was verified as stated. */
  deviations: string;
  /** DRONE_BUILD_LINK, or ''. */
  buildLink: string;
  facts: CardFact[];
  checks: CardCheck[];
  /** The runtime diff against the base revision: its headline and summary ('' without a base), one line per change. */
  runtimeTitle: string;
  runtime: string;
  runtimeChanges: string[];
}

export interface CardPayload {
  schema: string;
  data: CardData;
}

export const CARD_EVIDENCE_LINES = 4;
export const CARD_EVIDENCE_WIDTH = 160;

const cut = (line: string): string =>
  line.length > CARD_EVIDENCE_WIDTH ? `${line.slice(0, CARD_EVIDENCE_WIDTH - 1)}…` : line;

/**
 * The lines a reviewer needs first, in the console's order (orderedEvidence: missing, collision, error lines lead;
 * present entries last).
 */
function decisive(c: CheckResult): string[] {
  const ordered = orderedEvidence(c)
    .map((l) => printable(l).replace(/\n/g, ' ').trim())
    .filter((l) => l !== '');
  const shown = ordered.slice(0, CARD_EVIDENCE_LINES).map(cut);
  return ordered.length > CARD_EVIDENCE_LINES
    ? [...shown, `… ${ordered.length - CARD_EVIDENCE_LINES} more in the report`]
    : shown;
}

export function renderCard(verdict: Verdict): CardPayload {
  const src = verdict.source ?? {};
  const commit = src.commit ? src.commit.slice(0, 12) : undefined;
  const subject = src.repo ? `${src.repo}${commit ? ` @ ${commit}` : ''}` : verdict.flakeRef;
  const diff = runtimeDiffText(verdict);
  const changes = diff ? diff.consumers.flatMap((c) => c.lines.map((l) => cut(`${c.label}: ${printable(l)}`))) : [];
  const facts: CardFact[] = [
    ...(src.repo ? [{ title: 'Repository', value: src.repo }] : [{ title: 'Flake', value: verdict.flakeRef }]),
    ...(src.commit ? [{ title: 'Commit', value: src.commit }] : []),
    { title: 'Hosts', value: verdict.hosts.join(', ') },
  ];
  // One-line fields are inert text (no control, no newline); JSON.stringify escapes the rest.
  const t = inlineText;
  for (const f of facts) f.value = t(f.value);
  return {
    schema: CARD_SCHEMA_URL,
    data: {
      verdict: verdict.verdict === 'pass' ? 'PASS' : 'FAIL',
      verdictColor: verdict.verdict === 'pass' ? 'Good' : 'Attention',
      headline: printable(reasonHeadline(verdict)),
      mode: verdict.mode === 'eval' ? 'eval mode (nothing built)' : 'build mode',
      nix: t(verdict.nix.version),
      subject: t(subject),
      hosts: t(verdict.hosts.join(', ')),
      duration: seconds(verdict.durationMs),
      tool: `${verdict.tool.name} ${verdict.tool.version}`,
      // The card's schema has one warning line: run-level hazards lead it.
      deviations: t(
        [hazardLine(verdict), deviationLine(verdict.deviations)].filter((l) => l !== undefined).join(' · '),
      ),
      buildLink: t(src.buildLink ?? ''),
      facts,
      runtimeTitle: diff ? printable(diff.title) : '',
      runtime: diff ? printable(diff.summary) : '',
      runtimeChanges:
        changes.length > 12 ? [...changes.slice(0, 12), `… ${changes.length - 12} more in the report`] : changes,
      checks: verdict.checks.map((c) => ({
        id: c.id,
        title: c.title,
        status: STATUS_WORD[c.status],
        color: COLOR[c.status],
        summary: printable(c.summary),
        duration: seconds(c.durationMs),
        evidence: c.status === 'fail' || c.status === 'error' ? decisive(c) : [],
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

export type CardTarget =
  { kind: 'off'; reason: string } | { kind: 'stdout' } | { kind: 'stderr' } | { kind: 'file'; path: string };

/**
 * Where the card goes: only where DRONE_CARD_PATH says. `/dev/stdout` (what
 * the runners set) gets the escape sequence on stdout, `/dev/stderr` on stderr,
 * any other path plain JSON (its directory is created). Unset: nothing, whatever
 * DRONE says, so a terminal or a log never gets an escape sequence it did not ask for.
 */
export function cardTarget(env: NodeJS.ProcessEnv, cwd: string): CardTarget {
  if (env.DRONE_FLAG_ENABLE_CARDS === 'false') return { kind: 'off', reason: 'DRONE_FLAG_ENABLE_CARDS=false' };
  const where = env.DRONE_CARD_PATH ?? '';
  if (where === '') return { kind: 'off', reason: 'DRONE_CARD_PATH is not set' };
  if (where === '/dev/stdout' || where === '/proc/self/fd/1') return { kind: 'stdout' };
  if (where === '/dev/stderr' || where === '/proc/self/fd/2') return { kind: 'stderr' };
  return { kind: 'file', path: path.resolve(cwd, where) };
}
