// Small pieces the file renderers share: status words, counts, redaction, Markdown cells.
import { stripAnsi } from '../nix/logExcerpt.js';
import { redact } from '../redact.js';
import { diffLines, diffSummary } from '../runtime.js';
import type { CheckResult, CheckStatus, Deviation, Verdict } from '../verdict.js';

export const STATUS_WORD: Record<CheckStatus, string> = { pass: 'PASS', fail: 'FAIL', error: 'ERROR', skip: 'SKIP' };

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** Checks that sink the verdict: failed or errored. */
export const notPassed = (verdict: Verdict): CheckResult[] => verdict.checks.filter((c) => c.status === 'fail' || c.status === 'error');

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
  return { ran: verdict.checks.length - skipped, passed: count('pass'), failed: count('fail'), errored: count('error'), skipped };
}

/**
 * A failing check's evidence in reading order: the decisive lines first (what is
 * missing, drifted, colliding, an error), then the rest as recorded, the present
 * entries (`ok …`) last. A passing check's evidence stays as recorded.
 */
export function orderedEvidence(c: CheckResult): string[] {
  if (c.status !== 'fail' && c.status !== 'error') return [...c.evidence];
  const rank = (line: string): number =>
    /^(MISSING|DRIFT|EXTRA|[-+] )|\bMISSING\b|\bcollision|\bcolliding|\berror\b|cannot follow|\bnot found\b|\bdiffers?\b|\bbypass|\bdrift\b|\bFAIL\b/i.test(line) ? 0 : /^ok\s/.test(line) ? 2 : 1;
  return c.evidence.map((line, i) => ({ line, i, r: rank(line) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.line);
}

/** A check's reason in one clause: the first `; `-separated part of its summary. */
export const firstReason = (c: CheckResult): string => c.summary.split('; ')[0]!.trim();

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
  const hazards = verdict.hazards?.length ? ` (and ${verdict.hazards.length} run-level problem${verdict.hazards.length > 1 ? 's' : ''})` : '';
  return `${t.failed + t.errored} of ${t.ran} checks did not pass${hazards}`;
}

/** The headline with the reasons in front when the verdict fails: "cc-ci-run's PATH lacks git-lfs-3.6.1; … (2 of 6 checks did not pass)". */
export function reasonHeadline(verdict: Verdict): string {
  const reasons = verdict.verdict === 'pass' ? '' : verdictReasons(verdict);
  return reasons ? `${reasons} (${headline(verdict)})` : headline(verdict);
}

/** One line for every output: `settings differing from the claim: …`, or undefined when the claim was verified as stated. */
export function deviationLine(deviations: readonly Deviation[] | undefined): string | undefined {
  return deviations && deviations.length ? `settings differing from the claim: ${deviations.map((d) => d.label).join(', ')}` : undefined;
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
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  return walk(verdict) as Verdict;
}

/** ANSI colour codes gone, then C0 controls (except tab and newline) shown as \uXXXX. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return stripAnsi(text).replace(/\r\n?/g, '\n').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}

/**
 * Text for one GitHub-flavoured Markdown table cell: `|` escaped (also inside
 * code spans, as GFM tables require), line breaks as <br>, and `<` outside
 * code spans as &lt; so `<nixpkgs>` is not swallowed as an HTML tag.
 */
export function markdownCell(text: string): string {
  const src = printable(text).trim();
  let out = '';
  let i = 0;
  while (i < src.length) {
    const tick = src.indexOf('`', i);
    const plainEnd = tick < 0 ? src.length : tick;
    out += src.slice(i, plainEnd).replace(/</g, '&lt;').replace(/\n/g, '<br>');
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

/** An inline code span that holds any text, backticks included. */
export function inlineCode(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** The runtime diff as text every output shares: a headline, then per changed consumer its lines (nvd-like). */
export function runtimeDiffText(verdict: Verdict): { title: string; summary: string; consumers: { label: string; status: string; lines: string[] }[] } | undefined {
  const diff = verdict.runtimeDiff;
  if (!diff) return undefined;
  const consumers = diff.consumers
    .filter((c) => c.status !== 'same')
    .map((c) => ({ label: c.label, status: c.status, lines: c.status === 'error' || c.status === 'vanished' ? [`${c.status}: ${c.reason ?? ''}`, ...diffLines(c)] : c.status === 'new' ? ['new at head', ...diffLines(c)] : diffLines(c) }));
  const same = diff.consumers.filter((c) => c.status === 'same').length;
  return {
    title: `runtime against base ${diff.base.rev === diff.base.commit ? diff.base.commit.slice(0, 12) : `${diff.base.rev} (${diff.base.commit.slice(0, 12)})`}: ${diff.base.source}`,
    summary: `${diffSummary(diff)}${same ? ` (${same} consumer${same === 1 ? '' : 's'} unchanged)` : ''}`,
    consumers,
  };
}
