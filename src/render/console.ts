// The stdout verdict: a line per check with its status and key evidence.
import type { CheckResult, Verdict } from '../verdict.js';
import { deviationLine, hazardLine, notPassed, runtimeDiffText, seconds, STATUS_WORD } from './common.js';

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
  out.push(`nixenv-verify ${verdict.tool.version} · ${verdict.mode === 'eval' ? 'eval mode (nothing built)' : 'build mode'} · nix ${verdict.nix.version}`);
  out.push(`flake: ${verdict.flakeRef}  hosts: ${verdict.hosts.join(', ')}${verdict.spec && verdict.spec !== 'built-in' ? `  spec: ${verdict.spec}` : ''}`);
  const deviations = deviationLine(verdict.deviations);
  if (deviations) out.push(paint('error', deviations));
  if (verdict.isolation) out.push(`builds: ${verdict.isolation.description}`);
  const hazards = hazardLine(verdict);
  if (hazards) out.push(paint('fail', hazards));
  out.push('');
  for (const c of verdict.checks) {
    out.push(`  ${paint(c.status, STATUS_WORD[c.status].padEnd(5))}  ${c.id.padEnd(width)}  ${c.summary}  (${seconds(c.durationMs)})`);
    const shown = c.status === 'pass' || c.status === 'skip' ? keyEvidence(c) : c.evidence;
    for (const line of shown.slice(0, maxEvidence)) out.push(`         ${' '.repeat(width)}  ${line}`);
    if (shown.length > maxEvidence) out.push(`         ${' '.repeat(width)}  … ${shown.length - maxEvidence} more (see the JSON report)`);
  }
  const diff = runtimeDiffText(verdict);
  if (diff) {
    out.push('', paint('bold', diff.title), `  ${diff.summary}`);
    for (const c of diff.consumers) {
      out.push(`  ${c.label}:`);
      for (const l of c.lines) out.push(`    ${l}`);
    }
  }
  out.push('');
  const bad = notPassed(verdict);
  const ran = verdict.checks.filter((c) => c.status !== 'skip').length;
  const line =
    verdict.verdict === 'pass'
      ? `verdict: PASS (${ran}/${ran} checks passed in ${seconds(verdict.durationMs)}${verdict.mode === 'eval' ? '; eval mode: nothing was built, build failures and collision warnings were not checked' : ''})`
      : `verdict: FAIL (${[...(bad.length || !verdict.hazards?.length ? [`${bad.length} of ${ran} checks did not pass: ${bad.map((c) => `${c.id} ${c.status}`).join(', ')}`] : []), ...(verdict.hazards?.length ? [`${verdict.hazards.length} run-level problem(s), see above`] : [])].join('; ')})`;
  out.push(paint('bold', paint(verdict.verdict === 'pass' ? 'pass' : 'fail', line)));
  return `${out.join('\n')}\n`;
}

/** For a passing check, the store paths it proved (the rest is in the report). */
function keyEvidence(c: CheckResult): string[] {
  return c.evidence.filter((e) => /built \/nix|runs \/nix|= \/nix|evaluates to/.test(e)).slice(0, 4);
}
