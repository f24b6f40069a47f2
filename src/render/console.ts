// The stdout verdict: a line per check with its status and key evidence.
//
// Inert (issue 16): every text from the repository or from Nix (the flake, hosts, spec, summaries,
// evidence, the nix version) is one line with its controls spelled out (inlineText), and evidence
// with a newline continues on lines of its own, indented; so nothing from the repository starts a
// line at column 0, and the verdict line is always the last line.
import type { CheckResult, Verdict } from '../verdict.js';
import { deviationLine, inertLines, inlineText, notPassed, seconds, STATUS_WORD } from './common.js';

export interface ConsoleOptions {
  color: boolean;
  /** Evidence lines shown under a failed or errored check. */
  maxEvidence?: number;
}

const COLORS = { pass: '\x1b[32m', fail: '\x1b[31m', error: '\x1b[35m', skip: '\x1b[90m', bold: '\x1b[1m', reset: '\x1b[0m' };

export function renderConsole(verdict: Verdict, { color, maxEvidence = 20 }: ConsoleOptions): string {
  const paint = (key: keyof typeof COLORS, text: string): string => (color ? `${COLORS[key]}${text}${COLORS.reset}` : text);
  const width = Math.max(...verdict.checks.map((c) => c.id.length), 5);
  const out: string[] = [];
  const t = inlineText;
  out.push(`nixenv-verify ${t(verdict.tool.version)} · ${verdict.mode === 'eval' ? 'eval mode (nothing built)' : 'build mode'} · nix ${t(verdict.nix.version)}`);
  out.push(`flake: ${t(verdict.flakeRef)}  hosts: ${t(verdict.hosts.join(', '))}${verdict.spec && verdict.spec !== 'built-in' ? `  spec: ${t(verdict.spec)}` : ''}`);
  const deviations = deviationLine(verdict.deviations);
  if (deviations) out.push(paint('error', t(deviations)));
  out.push('');
  for (const c of verdict.checks) {
    out.push(`  ${paint(c.status, STATUS_WORD[c.status].padEnd(5))}  ${t(c.id).padEnd(width)}  ${t(c.summary)}  (${seconds(c.durationMs)})`);
    const shown = c.status === 'pass' || c.status === 'skip' ? keyEvidence(c) : c.evidence;
    for (const line of shown.slice(0, maxEvidence)) {
      const [first, ...more] = inertLines(line);
      out.push(`         ${' '.repeat(width)}  ${first}`);
      for (const next of more) out.push(`         ${' '.repeat(width)}    ${next}`);
    }
    if (shown.length > maxEvidence) out.push(`         ${' '.repeat(width)}  … ${shown.length - maxEvidence} more (see the JSON report)`);
  }
  out.push('');
  const bad = notPassed(verdict);
  const ran = verdict.checks.filter((c) => c.status !== 'skip').length;
  const line =
    verdict.verdict === 'pass'
      ? `verdict: PASS (${ran}/${ran} checks passed in ${seconds(verdict.durationMs)}${verdict.mode === 'eval' ? '; eval mode: nothing was built, build failures and collision warnings were not checked' : ''})`
      : `verdict: FAIL (${bad.length} of ${ran} checks did not pass: ${bad.map((c) => `${t(c.id)} ${c.status}`).join(', ')})`;
  out.push(paint('bold', paint(verdict.verdict === 'pass' ? 'pass' : 'fail', line)));
  return `${out.join('\n')}\n`;
}

/** For a passing check, the store paths it proved (the rest is in the report). */
function keyEvidence(c: CheckResult): string[] {
  return c.evidence.filter((e) => /built \/nix|runs \/nix|= \/nix|evaluates to/.test(e)).slice(0, 4);
}
