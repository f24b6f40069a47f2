// The stdout verdict, read top-down: the verdict line carries the first failing
// reason of each check that did not pass; a failing check shows its decisive
// evidence first (missing entries before present ones, which are collapsed to
// one list; long PATHs folded); a
// passing check is one line unless `verbose` (--verbose, log_level debug/trace).
//
// Inert (issue 16): every text from the repository or from Nix (the flake, hosts, spec, summaries,
// evidence, the nix version) is one line with its controls spelled out (inlineText), and evidence
// with a newline continues on lines of its own, indented; so nothing from the repository starts a
// line at column 0, and the verdict line is always the last line.
import type { CheckResult, Verdict } from '../verdict.js';
import {
  deviationLine,
  hazardLine,
  inertLines,
  inlineText,
  notPassed,
  orderedEvidence,
  runtimeDiffText,
  seconds,
  STATUS_WORD,
  verdictReasons,
} from './common.js';

export interface ConsoleOptions {
  color: boolean;
  /** Evidence lines shown under a failed or errored check. */
  maxEvidence?: number;
  /** Passing and skipped checks show their key evidence (store paths) too. */
  verbose?: boolean;
  /** Width a PATH value is folded to. */
  width?: number;
}

/** An evidence line that quotes Nix's error (`error: …`, possibly after a `name: ` prefix). */
const NIX_ERROR = /(^|: )error: /;

const COLORS = {
  pass: '\x1b[32m',
  fail: '\x1b[31m',
  error: '\x1b[35m',
  skip: '\x1b[90m',
  bold: '\x1b[1m',
  reset: '\x1b[0m',
};

export function renderConsole(
  verdict: Verdict,
  { color, maxEvidence = 20, verbose = false, width = 110 }: ConsoleOptions,
): string {
  const paint = (key: keyof typeof COLORS, text: string): string =>
    color ? `${COLORS[key]}${text}${COLORS.reset}` : text;
  const idWidth = Math.max(...verdict.checks.map((c) => c.id.length), 5);
  const indent = `         ${' '.repeat(idWidth)}  `;
  const out: string[] = [];
  const t = inlineText;
  out.push(
    `nixenv-verify ${t(verdict.tool.version)} · ${verdict.mode === 'eval' ? 'eval mode (nothing built)' : 'build mode'} · nix ${t(verdict.nix.version)}`,
  );
  out.push(
    `flake: ${t(verdict.flakeRef)}  hosts: ${t(verdict.hosts.join(', '))}${verdict.spec && verdict.spec !== 'built-in' ? `  spec: ${t(verdict.spec)}` : ''}`,
  );
  const deviations = deviationLine(verdict.deviations);
  if (deviations) out.push(paint('error', t(deviations)));
  if (verdict.isolation) out.push(`builds: ${t(verdict.isolation.description)}`);
  const hazards = hazardLine(verdict);
  if (hazards) out.push(paint('fail', t(hazards)));
  out.push('');
  for (const c of verdict.checks) {
    out.push(
      `  ${paint(c.status, STATUS_WORD[c.status].padEnd(5))}  ${t(c.id).padEnd(idWidth)}  ${t(c.summary)}  (${seconds(c.durationMs)})`,
    );
    const failing = c.status === 'fail' || c.status === 'error';
    const shown = failing ? collapsePresent(orderedEvidence(c), width) : verbose ? keyEvidence(c) : [];
    // Nix's own error lines (an attribute the spec names that does not exist, …) are never cut: the rest may be.
    const kept = shown.filter((line, i) => i < maxEvidence || NIX_ERROR.test(line));
    for (const line of kept) {
      const [first, ...more] = inertLines(line);
      out.push(...foldPath(first ?? '', width).map((l) => `${indent}${l}`));
      for (const next of more) out.push(`${indent}  ${next}`);
    }
    if (shown.length > kept.length) out.push(`${indent}… ${shown.length - kept.length} more (see the JSON report)`);
  }
  const diff = runtimeDiffText(verdict);
  if (diff) {
    out.push('', paint('bold', t(diff.title)), `  ${t(diff.summary)}`);
    for (const c of diff.consumers) {
      out.push(`  ${t(c.label)}:`);
      for (const l of c.lines) out.push(`    ${t(l)}`);
    }
  }
  out.push('');
  const bad = notPassed(verdict);
  const ran = verdict.checks.filter((c) => c.status !== 'skip').length;
  const line =
    verdict.verdict === 'pass'
      ? `verdict: PASS (${ran}/${ran} checks passed in ${seconds(verdict.durationMs)}${verdict.mode === 'eval' ? '; eval mode: nothing was built, build failures and collision warnings were not checked' : ''})`
      : `verdict: FAIL: ${t(verdictReasons(verdict) || verdict.hazards?.[0] || 'no check passed')} (${[...(bad.length || !verdict.hazards?.length ? [`${bad.length} of ${ran} checks did not pass: ${bad.map((c) => `${t(c.id)} ${c.status}`).join(', ')}`] : []), ...(verdict.hazards?.length ? [`${verdict.hazards.length} run-level problem(s), see above`] : [])].join('; ')})`;
  out.push(paint('bold', paint(verdict.verdict === 'pass' ? 'pass' : 'fail', line)));
  return `${out.join('\n')}\n`;
}

/** For a passing check, the store paths it proved (the rest is in the report). */
function keyEvidence(c: CheckResult): string[] {
  return c.evidence.filter((e) => /built \/nix|runs \/nix|= \/nix|evaluates to/.test(e)).slice(0, 4);
}

/**
 * Words joined with `sep`, wrapped into lines of at most `width` characters (a word longer than that gets its own
 * line).
 */
function wrapJoined(words: readonly string[], sep: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const [i, w] of words.entries()) {
    const piece = i < words.length - 1 ? `${w}${sep}` : w;
    if (cur && cur.length + piece.length > width) {
      lines.push(cur.trimEnd());
      cur = '';
    }
    cur += piece;
  }
  if (cur) lines.push(cur.trimEnd());
  return lines;
}

/**
 * A line holding a long `PATH=a:b:…` value, folded: the text before the value
 * (`PATH=…`), then the directories, store hashes elided, wrapped at `:`. Other
 * lines are returned as they are.
 */
export function foldPath(line: string, width: number): string[] {
  const m = /^(.*?\bPATH=)(\S+)(.*)$/.exec(line);
  if (!m || line.length <= width) return [line];
  const [, before, value, after] = m as unknown as [string, string, string, string];
  const dirs = value.split(':').map((d) => d.replace(/^\/nix\/store\/[0-9a-z]{32}-/, '/nix/store/…-'));
  return [`${before}…${after}`, ...wrapJoined(dirs, ':', width - 4).map((l) => `    ${l}`)];
}

/**
 * More than three `ok      name: dir` lines in a row become one `ok      N present: a, b, …` (wrapped); the report
 * keeps each.
 */
export function collapsePresent(lines: readonly string[], width: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length;) {
    let j = i;
    while (j < lines.length && /^ok\s+\S+: /.test(lines[j])) j++;
    if (j - i > 3) {
      const names = lines.slice(i, j).map((l) => /^ok\s+(\S+): /.exec(l)![1]);
      out.push(
        ...wrapJoined(names, ', ', width - 8).map((l, k) =>
          k === 0 ? `ok      ${names.length} present: ${l}` : `        ${l}`,
        ),
      );
      i = j;
    } else {
      out.push(lines[i]);
      i++;
    }
  }
  return out;
}
