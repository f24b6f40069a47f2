// Every file renderer against expected text, from one hand-built verdict with
// fixed durations and a zeroed store hash; then the wiring in writeOutputs.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, writeOutputs, type CliIo } from '../../src/cli.js';
import { CARD_SCHEMA_URL, cardEscape, cardTarget, renderCard, type CardTarget } from '../../src/render/card.js';
import { inlineCode, markdownCell, redactVerdict } from '../../src/render/common.js';
import { renderConsole } from '../../src/render/console.js';
import { renderDroneOutput } from '../../src/render/droneOutput.js';
import { renderJunit, xmlAttr, xmlText } from '../../src/render/junit.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { parseSettings } from '../../src/settings.js';
import type { Verdict } from '../../src/verdict.js';
import { fakeRunner } from '../fakes/runner.js';

const ESC = '\x1b';

const verdict: Verdict = {
  verdict: 'fail',
  mode: 'build',
  flake: '/work/flake',
  flakeRef: '/work/flake?submodules=1',
  hosts: ['cc-ci', 'cc-ci-hetzner'],
  nix: { version: '2.8.0' },
  checks: [
    {
      id: 'build',
      title: 'Every host builds with no collision',
      status: 'pass',
      summary: '2 hosts built, no collision',
      evidence: ['cc-ci: built /nix/store/00000000000000000000000000000000-nixos-system-cc-ci'],
      durationMs: 1234,
    },
    {
      id: 'single-source',
      title: 'The runtime is declared once (grep proofs)',
      status: 'fail',
      summary: 'tools: `a | b` listed twice <nixpkgs>',
      evidence: ['nix/a.nix:3: x = a | b;', `if x < 1 && y > 2 then "q" else 's'`, '```'],
      durationMs: 50,
    },
    {
      id: 'path-superset',
      title: 'The wrapper PATH carries every expected tool',
      status: 'error',
      summary: 'nix failed: error: bell\x07 here',
      evidence: [`${ESC}[31merror:${ESC}[0m undefined variable`, `nul \x00 esc ${ESC} end`],
      durationMs: 10,
    },
    {
      id: 'host-parity',
      title: 'Hosts declare identical system packages',
      status: 'skip',
      summary: 'not selected',
      evidence: [],
      durationMs: 0,
    },
  ],
  durationMs: 3000,
  tool: { name: 'nixenv-verify', version: '0.1.0' },
};

const passing: Verdict = { ...verdict, verdict: 'pass', checks: [verdict.checks[0]] };

describe('JUnit XML', () => {
  test('one testsuite, a testcase per check, failure/error/skipped by status, counts and properties', () => {
    expect(renderJunit(verdict).split('\n')).toEqual([
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<testsuites name="nixenv-verify" tests="4" failures="1" errors="1" skipped="1" time="3.000">',
      '  <testsuite name="nixenv-verify" tests="4" failures="1" errors="1" skipped="1" time="3.000">',
      '    <properties>',
      '      <property name="flake" value="/work/flake"/>',
      '      <property name="flake_ref" value="/work/flake?submodules=1"/>',
      '      <property name="hosts" value="cc-ci,cc-ci-hetzner"/>',
      '      <property name="mode" value="build"/>',
      '      <property name="nix_version" value="2.8.0"/>',
      '      <property name="tool_version" value="nixenv-verify 0.1.0"/>',
      '      <property name="verdict" value="fail"/>',
      '    </properties>',
      '    <testcase classname="nixenv-verify" name="build: Every host builds with no collision" time="1.234">',
      '      <properties>',
      '        <property name="mode" value="build"/>',
      '      </properties>',
      '      <system-out>cc-ci: built /nix/store/00000000000000000000000000000000-nixos-system-cc-ci</system-out>',
      '    </testcase>',
      '    <testcase classname="nixenv-verify" name="single-source: The runtime is declared once (grep proofs)" time="0.050">',
      '      <properties>',
      '        <property name="mode" value="build"/>',
      '      </properties>',
      '      <failure message="tools: `a | b` listed twice &lt;nixpkgs&gt;" type="fail">nix/a.nix:3: x = a | b;',
      `if x &lt; 1 &amp;&amp; y &gt; 2 then "q" else 's'`,
      '```</failure>',
      '    </testcase>',
      '    <testcase classname="nixenv-verify" name="path-superset: The wrapper PATH carries every expected tool" time="0.010">',
      '      <properties>',
      '        <property name="mode" value="build"/>',
      '      </properties>',
      '      <error message="nix failed: error: bell\\u0007 here" type="error">error: undefined variable',
      'nul \\u0000 esc \\u001B end</error>',
      '    </testcase>',
      '    <testcase classname="nixenv-verify" name="host-parity: Hosts declare identical system packages" time="0.000">',
      '      <properties>',
      '        <property name="mode" value="build"/>',
      '      </properties>',
      '      <skipped message="not selected"/>',
      '    </testcase>',
      '  </testsuite>',
      '</testsuites>',
      '',
    ]);
  });

  test('the classname is the same in both modes; the mode is a property', () => {
    const text = renderJunit({ ...passing, mode: 'eval' });
    expect(text).toContain(
      '<testcase classname="nixenv-verify" name="build: Every host builds with no collision" time="1.234">\n      <properties>\n        <property name="mode" value="eval"/>',
    );
  });

  test('timestamp and hostname on the suite, deviations and source as properties, not-selected checks skipped', () => {
    const text = renderJunit({
      ...passing,
      startedAt: '2026-12-01T19:30:00.123Z',
      hostname: 'ci-1',
      deviations: [{ setting: 'hosts', value: 'cc-ci', default: 'cc-ci,cc-ci-hetzner', label: 'hosts=cc-ci' }],
      source: { repo: 'cc-ci/cc-ci', commit: 'abc123' },
      notSelected: [{ id: 'propagation', title: 'One edit reaches every consumer' }],
    });
    expect(text).toContain(
      '<testsuite name="nixenv-verify" tests="2" failures="0" errors="0" skipped="1" time="3.000" timestamp="2026-12-01T19:30:00" hostname="ci-1">',
    );
    expect(text).toContain('<property name="deviations" value="settings differing from the claim: hosts=cc-ci"/>');
    expect(text).toContain('<property name="repo" value="cc-ci/cc-ci"/>');
    expect(text).toContain(
      '<testcase classname="nixenv-verify" name="propagation: One edit reaches every consumer" time="0.000">',
    );
    expect(text).toContain('<skipped message="not selected (checks setting)"/>');
  });

  test('the spec the claim came from is named in JUnit, Markdown and on the console', () => {
    const v: Verdict = { ...passing, spec: '.nixenv-verify.yml' };
    expect(renderJunit(v)).toContain('<property name="spec" value=".nixenv-verify.yml"/>');
    expect(renderMarkdown(v)).toContain('Claim: spec `.nixenv-verify.yml`');
    expect(renderConsole(v, { color: false })).toContain('spec: .nixenv-verify.yml');
    // The built-in spec is the seed claim: the console and Markdown stay as they were.
    expect(renderConsole({ ...passing, spec: 'built-in' }, { color: false })).not.toContain('spec:');
    expect(renderMarkdown({ ...passing, spec: 'built-in' })).not.toContain('Claim: spec');
  });

  test.each([
    ['markup', `a & b < c > d`, 'a &amp; b &lt; c &gt; d', 'a &amp; b &lt; c &gt; d'],
    ['quotes', `say "hi" it's`, `say "hi" it's`, 'say &quot;hi&quot; it&apos;s'],
    ['line breaks and tabs', 'a\nb\r\nc\td', 'a\nb\nc\td', 'a&#10;b&#10;c&#9;d'],
    [
      'C0 controls invalid in XML 1.0',
      'x\x00y\x08z\x0b\x0c\x1f',
      'x\\u0000y\\u0008z\\u000B\\u000C\\u001F',
      'x\\u0000y\\u0008z\\u000B\\u000C\\u001F',
    ],
    [
      'ANSI colours are dropped, a bare ESC is spelled out',
      `${ESC}[1;31mred${ESC}[0m ${ESC}`,
      'red \\u001B',
      'red \\u001B',
    ],
    [
      'lone surrogates and non-characters',
      'a\uD800b\uDC00c\uFFFE',
      'a\\uD800b\\uDC00c\\uFFFE',
      'a\\uD800b\\uDC00c\\uFFFE',
    ],
    ['astral characters stay', 'ok \u{1F600}', 'ok \u{1F600}', 'ok \u{1F600}'],
  ])('escaping: %s', (_name, input, text, attr) => {
    expect(xmlText(input)).toBe(text);
    expect(xmlAttr(input)).toBe(attr);
  });
});

describe('Markdown summary', () => {
  test('verdict header, a row per check, evidence folded per failed or errored check', () => {
    expect(renderMarkdown(verdict).split('\n')).toEqual([
      '### nixenv-verify: FAIL',
      '',
      // Issue 19: the failing reasons lead the headline.
      '**tools: `a \\| b` listed twice &lt;nixpkgs>; nix failed: error: bell\\u0007 here (2 of 3 checks did not pass)** in 3.0s · build mode · nix 2.8.0',
      '',
      'Flake `/work/flake?submodules=1` · hosts: `cc-ci`, `cc-ci-hetzner`',
      '',
      '| Status | Check | Summary |',
      '| --- | --- | --- |',
      '| PASS | `build` | 2 hosts built, no collision |',
      '| FAIL | `single-source` | tools: `a \\| b` listed twice &lt;nixpkgs> |',
      '| ERROR | `path-superset` | nix failed: error: bell\\u0007 here |',
      '| SKIP | `host-parity` | not selected |',
      '',
      '<details>',
      '<summary><b>FAIL</b> <code>single-source</code>: tools: `a | b` listed twice &lt;nixpkgs&gt;</summary>',
      '',
      // The evidence holds ```, so the fence is longer.
      '````text',
      'nix/a.nix:3: x = a | b;',
      `if x < 1 && y > 2 then "q" else 's'`,
      '```',
      '````',
      '',
      '</details>',
      '',
      '<details>',
      '<summary><b>ERROR</b> <code>path-superset</code>: nix failed: error: bell\\u0007 here</summary>',
      '',
      '```text',
      'error: undefined variable',
      'nul \\u0000 esc \\u001B end',
      '```',
      '',
      '</details>',
      '',
      '<sub>nixenv-verify 0.1.0</sub>',
      '',
    ]);
  });

  test('a pass has no details block', () => {
    const text = renderMarkdown(passing);
    expect(text).toContain('### nixenv-verify: PASS\n\n**1 of 1 checks passed** in 3.0s');
    expect(text).not.toContain('<details>');
  });

  test('evidence is cut at maxEvidence with a pointer to the JSON report', () => {
    const long: Verdict = { ...verdict, checks: [{ ...verdict.checks[1], evidence: ['l1', 'l2', 'l3'] }] };
    expect(renderMarkdown(long, { maxEvidence: 2 })).toContain(
      '```text\nl1\nl2\n… 1 more lines (see the JSON report)\n```',
    );
  });

  test.each([
    ['pipe', 'a | b', 'a \\| b'],
    ['pipe inside a code span (GFM tables need it escaped there too)', '`a | b`', '`a \\| b`'],
    ['newlines', 'one\ntwo\r\nthree', 'one<br>two<br>three'],
    ['newline inside a code span', '`a\nb`', '`a b`'],
    ['HTML-like text outside code', '<nixpkgs> and `<a>`', '&lt;nixpkgs> and `<a>`'],
    ['an unclosed backtick is literal', 'a ` b <c>', 'a ` b &lt;c>'],
    ['control characters', 'bell\x07', 'bell\\u0007'],
    ['ANSI colours', `${ESC}[31mred${ESC}[0m`, 'red'],
  ])('cell escaping: %s', (_name, input, want) => expect(markdownCell(input)).toBe(want));

  test.each([
    ['plain', 'x', '`x`'],
    ['holds a backtick', 'a`b', '``a`b``'],
    ['starts with a backtick', '`a', '`` `a ``'],
  ])('inline code: %s', (_name, input, want) => expect(inlineCode(input)).toBe(want));
});

describe('Drone card', () => {
  const expectedData = {
    verdict: 'FAIL',
    verdictColor: 'Attention',
    headline: 'tools: `a | b` listed twice <nixpkgs>; nix failed: error: bell\\u0007 here (2 of 3 checks did not pass)',
    mode: 'build mode',
    nix: '2.8.0',
    subject: '/work/flake?submodules=1',
    hosts: 'cc-ci, cc-ci-hetzner',
    duration: '3.0s',
    tool: 'nixenv-verify 0.1.0',
    deviations: '',
    buildLink: '',
    facts: [
      { title: 'Flake', value: '/work/flake?submodules=1' },
      { title: 'Hosts', value: 'cc-ci, cc-ci-hetzner' },
    ],
    // No base revision compared: the runtime block is hidden (its $when reads runtime != '').
    runtimeTitle: '',
    runtime: '',
    runtimeChanges: [],
    checks: [
      {
        id: 'build',
        title: 'Every host builds with no collision',
        status: 'PASS',
        color: 'Good',
        summary: '2 hosts built, no collision',
        duration: '1.2s',
        evidence: [],
      },
      {
        id: 'single-source',
        title: 'The runtime is declared once (grep proofs)',
        status: 'FAIL',
        color: 'Attention',
        summary: 'tools: `a | b` listed twice <nixpkgs>',
        duration: '0.1s',
        evidence: ['nix/a.nix:3: x = a | b;', `if x < 1 && y > 2 then "q" else 's'`, '```'],
      },
      {
        id: 'path-superset',
        title: 'The wrapper PATH carries every expected tool',
        status: 'ERROR',
        color: 'Warning',
        summary: 'nix failed: error: bell\\u0007 here',
        duration: '0.0s',
        evidence: ['error: undefined variable', 'nul \\u0000 esc \\u001B end'],
      },
      {
        id: 'host-parity',
        title: 'Hosts declare identical system packages',
        status: 'SKIP',
        color: 'Default',
        summary: 'not selected',
        duration: '0.0s',
        evidence: [],
      },
    ],
  };

  test('payload: the template URL and the data its bindings read', () => {
    expect(renderCard(verdict)).toEqual({ schema: CARD_SCHEMA_URL, data: expectedData });
  });

  test('stdout form: ESC]1338; base64 JSON ESC]0m, decoding back to the payload', () => {
    const text = cardEscape(renderCard(verdict));
    expect(text.startsWith(`${ESC}]1338;`)).toBe(true);
    expect(text.endsWith(`${ESC}]0m`)).toBe(true);
    const base64 = text.slice(`${ESC}]1338;`.length, -`${ESC}]0m`.length);
    expect(base64).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(JSON.parse(Buffer.from(base64, 'base64').toString('utf8'))).toEqual({
      schema: CARD_SCHEMA_URL,
      data: expectedData,
    });
  });

  test('every ${binding} in templates/card.json is a field of the card data', () => {
    const template = readFileSync(fileURLToPath(new URL('../../templates/card.json', import.meta.url)), 'utf8');
    const parsed = JSON.parse(template) as { type: string; version: string };
    expect([parsed.type, parsed.version]).toEqual(['AdaptiveCard', '1.5']);
    const bindings = new Set([...template.matchAll(/\$\{([A-Za-z0-9_.]+)\}/g)].map((m) => m[1]));
    const fields = new Set([
      ...Object.keys(expectedData),
      ...Object.keys(expectedData.checks[0]),
      ...Object.keys(expectedData.facts[0]),
      '$data',
    ]);
    expect([...bindings].filter((b) => !fields.has(b))).toEqual([]);
    expect(bindings).toContain('checks');
  });

  test.each<[string, NodeJS.ProcessEnv, CardTarget]>([
    ['outside Drone: nothing', {}, { kind: 'off', reason: 'DRONE_CARD_PATH is not set' }],
    [
      'DRONE=true with no path: still nothing',
      { DRONE: 'true' },
      { kind: 'off', reason: 'DRONE_CARD_PATH is not set' },
    ],
    ['DRONE_CARD_PATH=/dev/stdout (what the runners set)', { DRONE_CARD_PATH: '/dev/stdout' }, { kind: 'stdout' }],
    ['DRONE_CARD_PATH=/dev/stderr', { DRONE_CARD_PATH: '/dev/stderr' }, { kind: 'stderr' }],
    [
      'a file: plain JSON there',
      { DRONE: 'true', DRONE_CARD_PATH: '/drone/cards/card.json' },
      { kind: 'file', path: '/drone/cards/card.json' },
    ],
    [
      'a relative path resolves against the working directory',
      { DRONE_CARD_PATH: 'card.json' },
      { kind: 'file', path: '/drone/cards/card.json' },
    ],
    [
      'a path whose directory is missing: a file there (the directory is made)',
      { DRONE_CARD_PATH: '/nowhere/card.json' },
      { kind: 'file', path: '/nowhere/card.json' },
    ],
    [
      'DRONE_FLAG_ENABLE_CARDS=false wins',
      { DRONE: 'true', DRONE_CARD_PATH: '/dev/stdout', DRONE_FLAG_ENABLE_CARDS: 'false' },
      { kind: 'off', reason: 'DRONE_FLAG_ENABLE_CARDS=false' },
    ],
  ])('target: %s', (_name, env, want) => expect(cardTarget(env, '/drone/cards')).toEqual(want));
});

describe('DRONE_OUTPUT variables', () => {
  test.each<[string, Verdict, string[]]>([
    [
      'a failing run',
      verdict,
      [
        'NIXENV_VERIFY_VERDICT=fail',
        'NIXENV_VERIFY_FAILED_CHECKS=single-source,path-superset',
        'NIXENV_VERIFY_PASSED_COUNT=1',
        'NIXENV_VERIFY_FAILED_COUNT=2',
        'NIXENV_VERIFY_SKIPPED_COUNT=1',
        'NIXENV_VERIFY_SPEC=built-in',
        'NIXENV_VERIFY_DEVIATIONS=',
        'NIXENV_VERIFY_DEVIATION_TEXT=',
        '',
      ],
    ],
    [
      'a passing run',
      passing,
      [
        'NIXENV_VERIFY_VERDICT=pass',
        'NIXENV_VERIFY_FAILED_CHECKS=',
        'NIXENV_VERIFY_PASSED_COUNT=1',
        'NIXENV_VERIFY_FAILED_COUNT=0',
        'NIXENV_VERIFY_SKIPPED_COUNT=0',
        'NIXENV_VERIFY_SPEC=built-in',
        'NIXENV_VERIFY_DEVIATIONS=',
        'NIXENV_VERIFY_DEVIATION_TEXT=',
        '',
      ],
    ],
    [
      'with deviations',
      {
        ...passing,
        spec: '.nixenv-verify.yml',
        deviations: [
          { setting: 'hosts', value: 'cc-ci', default: 'cc-ci,cc-ci-hetzner', label: 'hosts=cc-ci' },
          { setting: 'checks', value: 'build', default: '…', label: 'checks without propagation' },
        ],
      },
      [
        'NIXENV_VERIFY_VERDICT=pass',
        'NIXENV_VERIFY_FAILED_CHECKS=',
        'NIXENV_VERIFY_PASSED_COUNT=1',
        'NIXENV_VERIFY_FAILED_COUNT=0',
        'NIXENV_VERIFY_SKIPPED_COUNT=0',
        'NIXENV_VERIFY_SPEC=.nixenv-verify.yml',
        'NIXENV_VERIFY_DEVIATIONS=hosts,checks',
        'NIXENV_VERIFY_DEVIATION_TEXT=settings differing from the claim: hosts=cc-ci, checks without propagation',
        '',
      ],
    ],
  ])('%s', (_name, v, lines) => expect(renderDroneOutput(v).split('\n')).toEqual(lines));
});

describe('redaction', () => {
  test('every string of the verdict, longest secret first', () => {
    const v: Verdict = {
      ...passing,
      flakeRef: 'x?token=abcdef123',
      checks: [{ ...passing.checks[0], evidence: ['Authorization: abcdef123456'] }],
    };
    const out = redactVerdict(v, ['abcdef123', 'abcdef123456']);
    expect(out.flakeRef).toBe('x?token=***');
    expect(out.checks[0].evidence).toEqual(['Authorization: ***']);
    expect(out.checks[0].durationMs).toBe(1234);
    expect(redactVerdict(v, [])).toEqual(v);
  });
});

describe('writeOutputs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nv-outputs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (env: NodeJS.ProcessEnv, flags: Record<string, string> = {}, v: Verdict = verdict) => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const io: CliIo = {
      argv: [],
      env,
      cwd: dir,
      stdout: (t) => stdout.push(t),
      stderr: (t) => stderr.push(t),
      isTTY: false,
    };
    writeOutputs(v, parseSettings({ env: {}, flags, cwd: dir }), io);
    return { stdout, stderr };
  };

  test('junit and summary settings write their files', () => {
    run({}, { junit: 'out/junit.xml', summary: 'out/summary.md' });
    expect(readFileSync(path.join(dir, 'out', 'junit.xml'), 'utf8')).toBe(renderJunit(verdict));
    expect(readFileSync(path.join(dir, 'out', 'summary.md'), 'utf8')).toBe(renderMarkdown(verdict));
  });

  test('DRONE_OUTPUT is appended to, on a line of its own, never truncated', () => {
    const file = path.join(dir, 'drone-output.env');
    writeFileSync(file, 'EARLIER_STEP=1');
    run({ DRONE_OUTPUT: file });
    run({ DRONE_OUTPUT: file }, {}, passing);
    expect(readFileSync(file, 'utf8')).toBe(
      `EARLIER_STEP=1\n${renderDroneOutput(verdict)}${renderDroneOutput(passing)}`,
    );
  });

  test('DRONE_CARD_PATH=/dev/stdout: the card is one stdout write, the last one', () => {
    const { stdout } = run({ DRONE: 'true', DRONE_CARD_PATH: '/dev/stdout' });
    expect(stdout).toEqual([cardEscape(renderCard(verdict))]);
  });

  test('DRONE=true without DRONE_CARD_PATH: no card', () => {
    expect(run({ DRONE: 'true' })).toEqual({ stdout: [], stderr: [] });
  });

  test('DRONE_CARD_PATH naming a file gets plain JSON and stdout stays clean', () => {
    const file = path.join(dir, 'card.json');
    const { stdout } = run({ DRONE: 'true', DRONE_CARD_PATH: file });
    expect(stdout).toEqual([]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(renderCard(verdict));
  });

  test('DRONE_FLAG_ENABLE_CARDS=false: no card anywhere', () => {
    const file = path.join(dir, 'card.json');
    const { stdout, stderr } = run({ DRONE: 'true', DRONE_CARD_PATH: file, DRONE_FLAG_ENABLE_CARDS: 'false' });
    expect([stdout, stderr, existsSync(file)]).toEqual([[], [], false]);
  });

  test('token-like environment values are redacted from files and the card', () => {
    const secret = 'ghp_s3cr3tvalue';
    const leaky: Verdict = {
      ...verdict,
      checks: verdict.checks.map((c) => ({
        ...c,
        summary: `${c.summary} (${secret})`,
        evidence: [...c.evidence, `fetching https://x:${secret}@host`],
      })),
    };
    const { stdout } = run(
      { DRONE: 'true', DRONE_CARD_PATH: '/dev/stdout', GITHUB_TOKEN: secret, DRONE_OUTPUT: path.join(dir, 'o.env') },
      { junit: 'j.xml', summary: 's.md', report: 'r.json' },
      leaky,
    );
    for (const name of ['j.xml', 's.md', 'r.json']) {
      const text = readFileSync(path.join(dir, name), 'utf8');
      expect(text).toContain('https://x:***@host');
      expect(text).not.toContain(secret);
    }
    const card = Buffer.from(stdout.join('').slice(`${ESC}]1338;`.length, -`${ESC}]0m`.length), 'base64').toString(
      'utf8',
    );
    expect(card).toContain('(***)');
    expect(card).not.toContain(secret);
  });
});

describe('runCli order', () => {
  test('stdout: the console verdict, then the card as the last write', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nv-order-'));
    try {
      // A flake with no nix/ directory: single-source errors without calling nix.
      writeFileSync(path.join(dir, 'flake.nix'), '{ outputs = _: { }; }');
      mkdirSync(path.join(dir, 'bin'));
      writeFileSync(path.join(dir, 'bin', 'nix'), '#!/bin/sh\n');
      chmodSync(path.join(dir, 'bin', 'nix'), 0o755);
      const { runner } = fakeRunner((call) =>
        call.args[0] === '--version' ? { stdout: 'nix (Nix) 2.8.0\n' } : { exitCode: 1 },
      );
      const stdout: string[] = [];
      const code = await runCli({
        argv: ['--checks', 'single-source', '--log-level', 'silent'],
        env: { DRONE: 'true', DRONE_CARD_PATH: '/dev/stdout', PATH: path.join(dir, 'bin'), PLUGIN_FLAKE: dir },
        cwd: dir,
        stdout: (t) => stdout.push(t),
        stderr: () => undefined,
        isTTY: false,
        runner,
      });
      expect(code).toBe(1);
      expect(stdout).toHaveLength(2);
      expect(stdout[0]).toContain('verdict: FAIL');
      expect(stdout[1].startsWith(`${ESC}]1338;`)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
