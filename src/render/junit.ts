// JUnit XML: one testsuite, one testcase per check, for CI test-report views.
import type { CheckResult, Verdict } from '../verdict.js';
import { deviationLine, hazardLine, printable, tally } from './common.js';

const SUITE = 'nixenv-verify';

const xmlSeconds = (ms: number): string => (ms / 1000).toFixed(3);

/**
 * Text XML 1.0 can carry: C0 controls other than tab/newline/CR, lone
 * surrogates and U+FFFE/U+FFFF are not allowed even as character references,
 * so they are spelled out as \uXXXX.
 */
function xmlSafe(text: string): string {
  return printable(text).replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|[\uFFFE\uFFFF]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function xmlText(text: string): string {
  return xmlSafe(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values keep their line breaks and tabs as character references (parsers normalise raw ones to spaces). */
export function xmlAttr(text: string): string {
  return xmlText(text).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

const attrs = (pairs: Record<string, string | number>): string =>
  Object.entries(pairs)
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join('');

/**
 * One testcase per check. The classname is the same in both modes, so a CI's
 * test history follows a check across `mode` changes; the mode is a property.
 */
function testcase(verdict: Verdict, c: CheckResult): string[] {
  const head = `    <testcase${attrs({ classname: SUITE, name: `${c.id}: ${c.title}`, time: xmlSeconds(c.durationMs) })}>`;
  const props = [
    '      <properties>',
    `        <property${attrs({ name: 'mode', value: verdict.mode })}/>`,
    '      </properties>',
  ];
  const body = xmlText(c.evidence.join('\n'));
  switch (c.status) {
    case 'fail':
    case 'error':
      return [
        head,
        ...props,
        `      <${c.status === 'fail' ? 'failure' : 'error'}${attrs({ message: c.summary, type: c.status })}>${body}</${c.status === 'fail' ? 'failure' : 'error'}>`,
        '    </testcase>',
      ];
    case 'skip':
      return [head, ...props, `      <skipped${attrs({ message: c.summary })}/>`, '    </testcase>'];
    case 'pass':
      // What a pass proved (store paths, grep hits) is worth keeping beside the test.
      return [
        head,
        ...props,
        ...(c.evidence.length ? [`      <system-out>${body}</system-out>`] : []),
        '    </testcase>',
      ];
  }
}

/** A check the `checks` setting left out: skipped, so it does not vanish from the test history. */
function notSelected(verdict: Verdict, c: { id: string; title: string }): string[] {
  return [
    `    <testcase${attrs({ classname: SUITE, name: `${c.id}: ${c.title}`, time: xmlSeconds(0) })}>`,
    '      <properties>',
    `        <property${attrs({ name: 'mode', value: verdict.mode })}/>`,
    '      </properties>',
    `      <skipped${attrs({ message: 'not selected (checks setting)' })}/>`,
    '    </testcase>',
  ];
}

export function renderJunit(verdict: Verdict): string {
  const t = tally(verdict);
  const extra = verdict.notSelected ?? [];
  const counts = {
    tests: verdict.checks.length + extra.length,
    failures: t.failed,
    errors: t.errored,
    skipped: t.skipped + extra.length,
    time: xmlSeconds(verdict.durationMs),
  };
  // JUnit's timestamp is an ISO 8601 date-time without a zone (UTC here).
  const suiteAttrs = {
    ...counts,
    ...(verdict.startedAt ? { timestamp: verdict.startedAt.replace(/(\.\d+)?Z$/, '') } : {}),
    ...(verdict.hostname ? { hostname: verdict.hostname } : {}),
  };
  const deviations = deviationLine(verdict.deviations);
  const properties: Record<string, string> = {
    flake: verdict.flake,
    flake_ref: verdict.flakeRef,
    hosts: verdict.hosts.join(','),
    mode: verdict.mode,
    nix_version: verdict.nix.version,
    tool_version: `${verdict.tool.name} ${verdict.tool.version}`,
    verdict: verdict.verdict,
    ...(deviations ? { deviations } : {}),
    ...(hazardLine(verdict) ? { hazards: hazardLine(verdict)! } : {}),
    ...(verdict.isolation ? { builds: verdict.isolation.description } : {}),
    ...(verdict.spec ? { spec: verdict.spec } : {}),
    ...(verdict.source?.repo ? { repo: verdict.source.repo } : {}),
    ...(verdict.source?.commit ? { commit: verdict.source.commit } : {}),
  };
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: SUITE, ...counts })}>`,
    `  <testsuite${attrs({ name: SUITE, ...suiteAttrs })}>`,
    '    <properties>',
    ...Object.entries(properties).map(([name, value]) => `      <property${attrs({ name, value })}/>`),
    '    </properties>',
    ...verdict.checks.flatMap((c) => testcase(verdict, c)),
    ...extra.flatMap((c) => notSelected(verdict, c)),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
