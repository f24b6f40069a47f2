// Small pieces the file renderers share: status words, counts, redaction, Markdown cells.
import { stripAnsi } from '../nix/logExcerpt.js';
import { redact } from '../redact.js';
import { diffLines, diffSummary } from '../runtime.js';
import type { CheckResult, CheckStatus, Deviation, Verdict } from '../verdict.js';

export const STATUS_WORD: Record<CheckStatus, string> = { pass: 'PASS', fail: 'FAIL', error: 'ERROR', skip: 'SKIP' };

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** Checks that sink the verdict: failed or errored. */
export const notPassed = (verdict: Verdict): CheckResult[] =>
  verdict.checks.filter((c) => c.status === 'fail' || c.status === 'error');

export interface Tally {
  ran: number;
  passed: number;
  failed: number;
  errored: number;
  skipped: number;
}

export function tally(verdict: Verdict): Tally {
  const count = (s: CheckStatus): number => verdict.checks.filter((c) => c.status === s).length;
  const skipped = count('skip');
  return {
    ran: verdict.checks.length - skipped,
    passed: count('pass'),
    failed: count('fail'),
    errored: count('error'),
    skipped,
  };
}

/**
 * A failing check's evidence in reading order: the decisive lines first (what is
 * missing, drifted, colliding, an error), then the rest as recorded, the present
 * entries (`ok …`) last. A passing check's evidence stays as recorded.
 */
export function orderedEvidence(c: CheckResult): string[] {
  if (c.status !== 'fail' && c.status !== 'error') return [...c.evidence];
  const rank = (line: string): number =>
    /^(MISSING|DRIFT|EXTRA|[-+] )|\bMISSING\b|\bcollision|\bcolliding|\berror\b|cannot follow|\bnot found\b|\bdiffers?\b|\bbypass|\bdrift\b|\bFAIL\b/i.test(
      line,
    )
      ? 0
      : /^ok\s/.test(line)
        ? 2
        : 1;
  return c.evidence
    .map((line, i) => ({ line, i, r: rank(line) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.line);
}

/** A check's reason in one clause: the first `; `-separated part of its summary. */
export const firstReason = (c: CheckResult): string => c.summary.split('; ')[0].trim();

/**
 * The verdict's reasons, the first failing fact of each check that did not pass,
 * joined with `; ` ("cc-ci-run's PATH lacks git-lfs-3.6.1; cc-ci: sw/bin/git-lfs is missing"),
 * each cut at `max` characters.
 */
export function verdictReasons(verdict: Verdict, max = 120): string {
  return notPassed(verdict)
    .map((c) => firstReason(c))
    .map((r) => (r.length > max ? `${r.slice(0, max - 1)}…` : r))
    .join('; ');
}

/** The one-line outcome every format leads with, in the console's words. */
export function headline(verdict: Verdict): string {
  const t = tally(verdict);
  if (verdict.verdict === 'pass') return `${t.passed} of ${t.ran} checks passed`;
  const hazards = verdict.hazards?.length
    ? ` (and ${verdict.hazards.length} run-level problem${verdict.hazards.length > 1 ? 's' : ''})`
    : '';
  return `${t.failed + t.errored} of ${t.ran} checks did not pass${hazards}`;
}

/**
 * The headline with the reasons in front when the verdict fails: "cc-ci-run's PATH lacks git-lfs-3.6.1; … (2 of 6
 * checks did not pass)".
 */
export function reasonHeadline(verdict: Verdict): string {
  const reasons = verdict.verdict === 'pass' ? '' : verdictReasons(verdict);
  return reasons ? `${reasons} (${headline(verdict)})` : headline(verdict);
}

/**
 * One line for every output: `settings differing from the claim: …`, or undefined when the claim was verified as
 * stated.
 */
export function deviationLine(deviations: readonly Deviation[] | undefined): string | undefined {
  return deviations && deviations.length
    ? `settings differing from the claim: ${deviations.map((d) => d.label).join(', ')}`
    : undefined;
}

/** One line for every output: the run-level hazards that failed the verdict, or undefined when there are none. */
export function hazardLine(verdict: Pick<Verdict, 'hazards'>): string | undefined {
  return verdict.hazards && verdict.hazards.length ? `verdict not trusted: ${verdict.hazards.join('; ')}` : undefined;
}

/**
 * The verdict with every secret value replaced by `***` in every string.
 * Evidence quotes nix logs and files, which may echo a token; every output
 * gets the redacted copy (URL passwords and token shapes even with no list).
 */
export function redactVerdict(verdict: Verdict, secrets: readonly string[]): Verdict {
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return redact(value, secrets);
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  return walk(verdict) as Verdict;
}

// Outputs are inert: every text that comes from the repository or from Nix is escaped for where
// it lands (issue 16). Characters that act on a terminal or a log viewer — C0 controls (NUL, CR,
// ESC, …), DEL, C1 controls (U+0080-U+009F: CSI, NEL, OSC), the Unicode line and paragraph
// separators and the bidirectional overrides/isolates that reorder what a reviewer sees — are
// shown as \uXXXX. `printable` keeps newlines and tabs (multi-line evidence in files);
// `inlineText` makes one line of any text (console, DRONE_OUTPUT, one Markdown line).

const ACTIVE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const ACTIVE_OR_NEWLINE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const spelled = (c: string): string =>
  c === '\n' ? '\\n' : c === '\t' ? '\t' : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * ANSI colour codes gone, then C0/C1 controls (except tab and newline), line separators and bidi controls shown as
 * \uXXXX.
 */
export function printable(text: string): string {
  return stripAnsi(text).replace(/\r\n?/g, '\n').replace(ACTIVE, spelled);
}

/** One line: ANSI colour codes gone, newlines as \n, every other control (CR, ESC, NUL, …) as \uXXXX; tabs kept. */
export function inlineText(text: string): string {
  return stripAnsi(text).replace(/\r\n/g, '\n').replace(ACTIVE_OR_NEWLINE, spelled);
}

/**
 * Lines of a text, each inert (for evidence shown line by line: a newline in one becomes a line of its own, indented by
 * the caller).
 */
export function inertLines(text: string): string[] {
  return stripAnsi(text)
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((l) => l.replace(ACTIVE_OR_NEWLINE, spelled));
}

/**
 * Outside code spans, Markdown and HTML that could act: `<` and `&` (HTML, entities, autolinks),
 * `[`, `]`, `!` (links, images), `*`, `~`, a backslash before punctuation (an escape), and `_` where it could open or
 * close
 * emphasis (not between two letters or digits, as in snake_case).
 */
function markdownPlain(text: string): string {
  return text
    .replace(/\\(?=[!-/:-@[-`{-~])|[[\]!*~&]/g, (c) => (c === '&' ? '&amp;' : `\\${c}`))
    .replace(/</g, '&lt;')
    .replace(/_/g, (c, at: number, all: string) =>
      /[A-Za-z0-9]/.test(all[at - 1] ?? '') && /[A-Za-z0-9]/.test(all[at + 1] ?? '') ? c : '\\_',
    );
}

/**
 * Text for one GitHub-flavoured Markdown table cell: `|` escaped (also inside
 * code spans, as GFM tables require), line breaks as <br>, and outside code
 * spans the Markdown and HTML that could act escaped (markdownPlain), so
 * `<nixpkgs>` is not swallowed as an HTML tag and `[x](url)` is no link.
 */
export function markdownCell(text: string): string {
  const src = printable(text).trim();
  let out = '';
  let i = 0;
  while (i < src.length) {
    const tick = src.indexOf('`', i);
    const plainEnd = tick < 0 ? src.length : tick;
    out += markdownPlain(src.slice(i, plainEnd)).replace(/\n/g, '<br>');
    if (tick < 0) break;
    const run = /^`+/.exec(src.slice(tick))![0];
    const close = findClosingRun(src, tick + run.length, run.length);
    if (close < 0) {
      out += run;
      i = tick + run.length;
      continue;
    }
    // Inside a code span a line break would end the row and <br> would show literally.
    out += src.slice(tick, close + run.length).replace(/\n/g, ' ');
    i = close + run.length;
  }
  return out.replace(/\|/g, '\\|');
}

/** Index of the next backtick run of exactly `length` at or after `from`, or -1. */
function findClosingRun(text: string, from: number, length: number): number {
  const re = /`+/g;
  re.lastIndex = from;
  for (let m = re.exec(text); m; m = re.exec(text)) if (m[0].length === length) return m.index;
  return -1;
}

/** An inline code span that holds any text, backticks included (on one line: a blank line would end it). */
export function inlineCode(raw: string): string {
  const text = inlineText(raw);
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** The runtime diff as text every output shares: a headline, then per changed consumer its lines (nvd-like). */
export function runtimeDiffText(
  verdict: Verdict,
): { title: string; summary: string; consumers: { label: string; status: string; lines: string[] }[] } | undefined {
  const diff = verdict.runtimeDiff;
  if (!diff) return undefined;
  const consumers = diff.consumers
    .filter((c) => c.status !== 'same')
    .map((c) => ({
      label: c.label,
      status: c.status,
      lines:
        c.status === 'error' || c.status === 'vanished'
          ? [`${c.status}: ${c.reason ?? ''}`, ...diffLines(c)]
          : c.status === 'new'
            ? ['new at head', ...diffLines(c)]
            : diffLines(c),
    }));
  const same = diff.consumers.filter((c) => c.status === 'same').length;
  return {
    title: `runtime against base ${diff.base.rev === diff.base.commit ? diff.base.commit.slice(0, 12) : `${diff.base.rev} (${diff.base.commit.slice(0, 12)})`}: ${diff.base.source}`,
    summary: `${diffSummary(diff)}${same ? ` (${same} consumer${same === 1 ? '' : 's'} unchanged)` : ''}`,
    consumers,
  };
}
