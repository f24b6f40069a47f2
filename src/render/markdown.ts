// The Markdown summary: a table fit for a pull-request comment, evidence folded per failure.
import type { CheckResult, Verdict } from '../verdict.js';
import {
  deviationLine,
  hazardLine,
  inlineCode,
  inlineText,
  markdownCell,
  notPassed,
  orderedEvidence,
  printable,
  reasonHeadline,
  runtimeDiffText,
  seconds,
  STATUS_WORD,
} from './common.js';

export interface MarkdownOptions {
  /** Evidence lines shown per failed or errored check; the JSON report has all of them. */
  maxEvidence?: number;
}

/**
 * Text inside the tool's own HTML (a <summary> line): one line, entities for & < > and for [ ] (no Markdown link,
 * whatever the renderer).
 */
const html = (text: string): string =>
  inlineText(printable(text).replace(/\n/g, ' '))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\[/g, '&#91;')
    .replace(/\]/g, '&#93;');

/** A fenced block longer than any backtick run in the text, so evidence cannot close it early. */
function codeBlock(lines: readonly string[]): string[] {
  const text = lines.map(printable).join('\n');
  const longest = Math.max(0, ...[...text.matchAll(/`{3,}/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return [`${fence}text`, text, fence];
}

function details(c: CheckResult, maxEvidence: number): string[] {
  const ordered = orderedEvidence(c);
  const shown = ordered.slice(0, maxEvidence);
  const more = ordered.length - shown.length;
  return [
    '<details>',
    `<summary><b>${STATUS_WORD[c.status]}</b> <code>${html(c.id)}</code>: ${html(c.summary)}</summary>`,
    '',
    ...(shown.length
      ? codeBlock(more > 0 ? [...shown, `… ${more} more lines (see the JSON report)`] : shown)
      : ['(no evidence recorded)']),
    '',
    '</details>',
  ];
}

export function renderMarkdown(verdict: Verdict, { maxEvidence = 40 }: MarkdownOptions = {}): string {
  const mode = verdict.mode === 'eval' ? 'eval mode (nothing built)' : 'build mode';
  const bad = notPassed(verdict);
  const out = [
    `### nixenv-verify: ${verdict.verdict === 'pass' ? 'PASS' : 'FAIL'}`,
    '',
    `**${markdownCell(inlineText(reasonHeadline(verdict)))}** in ${seconds(verdict.durationMs)} · ${mode} · nix ${markdownCell(inlineText(verdict.nix.version))}`,
    '',
    verdict.source?.repo
      ? `Repository ${inlineCode(verdict.source.repo)}${verdict.source.commit ? ` at ${inlineCode(verdict.source.commit)}` : ''} · hosts: ${verdict.hosts.map(inlineCode).join(', ')}`
      : `Flake ${inlineCode(verdict.flakeRef)} · hosts: ${verdict.hosts.map(inlineCode).join(', ')}`,
    '',
    ...(verdict.spec && verdict.spec !== 'built-in' ? [`Claim: spec ${inlineCode(verdict.spec)}`, ''] : []),
    ...(deviationLine(verdict.deviations)
      ? [`> **Warning:** ${markdownCell(inlineText(deviationLine(verdict.deviations)!))}`, '']
      : []),
    ...(hazardLine(verdict) ? [`> **Untrusted:** ${markdownCell(inlineText(hazardLine(verdict)!))}`, ''] : []),
    ...(verdict.isolation ? [`Builds: ${markdownCell(inlineText(verdict.isolation.description))}`, ''] : []),
    '| Status | Check | Summary |',
    '| --- | --- | --- |',
    ...verdict.checks.map(
      (c) => `| ${STATUS_WORD[c.status]} | ${markdownCell(inlineCode(c.id))} | ${markdownCell(c.summary)} |`,
    ),
  ];
  const diff = runtimeDiffText(verdict);
  if (diff) {
    out.push('', `#### ${markdownCell(diff.title)}`, '', markdownCell(diff.summary));
    const lines = diff.consumers.flatMap((c) => [`${c.label}:`, ...c.lines.map((l) => `  ${l}`)]);
    if (lines.length) out.push('', ...codeBlock(lines));
  }
  for (const c of bad) out.push('', ...details(c, maxEvidence));
  out.push('', `<sub>${html(`${verdict.tool.name} ${verdict.tool.version}`)}</sub>`, '');
  return out.join('\n');
}
