// The stdout verdict: a line per check with its status and key evidence.
import type { CheckResult, Verdict } from '../verdict.js';
import { deviationLine, notPassed, seconds, STATUS_WORD } from './common.js';

export interface ConsoleOptions {
  color: boolean;
  /** Evidence lines shown under a failed or errored check. */
  maxEvidence?: number;
}

/** An evidence line that quotes Nix's error (`error: …`, possibly after a `name: ` prefix). */
const NIX_ERROR = /(^|: )error: /;

const COLORS = { pass: '\x1b[32m', fail: '\x1b[31m', error: '\x1b[35m', skip: '\x1b[90m', bold: '\x1b[1m', reset: '\x1b[0m' };

export function renderConsole(verdict: Verdict, { color, maxEvidence = 20 }: ConsoleOptions): string {
  const paint = (key: keyof typeof COLORS, text: string): string => (color ? `${COLORS[key]}${text}${COLORS.reset}` : text);
  const width = Math.max(...verdict.checks.map((c) => c.id.length), 5);
  const out: string[] = [];
  out.push(`nixenv-verify ${verdict.tool.version} · ${verdict.mode === 'eval' ? 'eval mode (nothing built)' : 'build mode'} · nix ${verdict.nix.version}`);
  out.push(`flake: ${verdict.flakeRef}  hosts: ${verdict.hosts.join(', ')}${verdict.spec && verdict.spec !== 'built-in' ? `  spec: ${verdict.spec}` : ''}`);
  const deviations = deviationLine(verdict.deviations);
  if (deviations) out.push(paint('error', deviations));
  out.push('');
  for (const c of verdict.checks) {
    out.push(`  ${paint(c.status, STATUS_WORD[c.status].padEnd(5))}  ${c.id.padEnd(width)}  ${c.summary}  (${seconds(c.durationMs)})`);
    const shown = c.status === 'pass' || c.status === 'skip' ? keyEvidence(c) : c.evidence;
    // Nix's own error lines (an attribute the spec names that does not exist, …) are never cut: the rest may be.
    const kept = shown.filter((line, i) => i < maxEvidence || NIX_ERROR.test(line));
    for (const line of kept) out.push(`         ${' '.repeat(width)}  ${line}`);
    if (shown.length > kept.length) out.push(`         ${' '.repeat(width)}  … ${shown.length - kept.length} more (see the JSON report)`);
  }
  out.push('');
  const bad = notPassed(verdict);
  const ran = verdict.checks.filter((c) => c.status !== 'skip').length;
  const line =
    verdict.verdict === 'pass'
      ? `verdict: PASS (${ran}/${ran} checks passed in ${seconds(verdict.durationMs)}${verdict.mode === 'eval' ? '; eval mode: nothing was built, build failures and collision warnings were not checked' : ''})`
      : `verdict: FAIL (${bad.length} of ${ran} checks did not pass: ${bad.map((c) => `${c.id} ${c.status}`).join(', ')})`;
  out.push(paint('bold', paint(verdict.verdict === 'pass' ? 'pass' : 'fail', line)));
  return `${out.join('\n')}\n`;
}

/** For a passing check, the store paths it proved (the rest is in the report). */
function keyEvidence(c: CheckResult): string[] {
  return c.evidence.filter((e) => /built \/nix|runs \/nix|= \/nix|evaluates to/.test(e)).slice(0, 4);
}
