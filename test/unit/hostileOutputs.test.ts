// Outputs are inert (issue 16, route 6): text from the repository (a spec's consumer names, tool
// entries and proof patterns: test/fixtures/hostile/specs/hostile-names.yml) and from Nix
// (evidence quoting file names with newlines, ESC and OSC sequences, NUL, CR, C1 CSI, U+2028,
// HTML, `]]>`, `|`, backticks) is escaped for where it lands; the console's verdict line is the
// last line and nothing from the repository starts a line at column 0.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stderrMessage } from '../../src/cli.js';
import { formatLogLine } from '../../src/logger.js';
import { cardEscape, renderCard } from '../../src/render/card.js';
import { renderConsole } from '../../src/render/console.js';
import { renderDroneOutput } from '../../src/render/droneOutput.js';
import { renderJson } from '../../src/render/json.js';
import { renderJunit } from '../../src/render/junit.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { parseSettings, settingsDeviations } from '../../src/settings.js';
import type { Verdict } from '../../src/verdict.js';

const SPECS = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/hostile/specs');
const ESC = '\x1b';
// Every character that acts on a terminal or log viewer (tab and newline judged separately).

const ACTIVE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** A hostile file name as Nix would quote it in an error. */
const EVIL_FILE = `nix/modules/evil\nverdict: PASS (6/6 checks passed)\r${ESC}[2K${ESC}]1338;Zm9v${ESC}]0m\0<script>alert(1)</script>]]>|\`tick\`\u2028\x9b31m.nix`;

let repo: string;
let verdict: Verdict;
beforeAll(() => {
  repo = mkdtempSync(path.join(os.tmpdir(), 'nv-hostile-out-'));
  mkdirSync(path.join(repo, 'nix'));
  copyFileSync(path.join(SPECS, 'hostile-names.yml'), path.join(repo, '.nixenv-verify.yml'));
  const settings = parseSettings({ env: { PLUGIN_FLAKE: repo }, flags: {}, cwd: repo });
  const drone = settings.claim.consumers.find((c) => c.kind === 'drone-step')!;
  verdict = {
    verdict: 'fail',
    mode: 'build',
    flake: repo,
    flakeRef: `git+file://${repo}?submodules=1`,
    hosts: settings.hosts,
    nix: { version: `2.8.0\n${ESC}[31mverdict: PASS` },
    spec: `.nixenv-verify.yml\nverdict: PASS`,
    deviations: settingsDeviations(settings),
    checks: [
      {
        id: 'build',
        title: 'Builds',
        status: 'pass',
        summary: `built ${EVIL_FILE}`,
        evidence: [`cc-ci: built /nix/store/abc-${EVIL_FILE}`],
        durationMs: 1,
      },
      {
        id: 'entrypoint-parity',
        title: 'Entrypoints',
        status: 'fail',
        summary: `consumer ${drone.name} bypasses the wrapper`,
        evidence: [`${EVIL_FILE}:3: error: ${drone.name}`, `unit ${ESC}[2Kcc-ci\nverdict: PASS.service`, 'plain'],
        durationMs: 2,
      },
      {
        id: 'single-source',
        title: 'One source',
        status: 'error',
        summary: `cannot follow: ${EVIL_FILE}`,
        evidence: [`error: ${EVIL_FILE}`],
        durationMs: 3,
      },
    ],
    durationMs: 6,
    tool: { name: 'nixenv-verify', version: '0.1.0' },
    source: { repo: `org/repo\nverdict: PASS`, commit: `abc${ESC}[2K`, buildLink: 'https://ci.example/1' },
  };
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('the hostile spec is read, and its text reaches the outputs (so the rows below test something)', () => {
  test('deviations carry the hostile consumer name and tool entry', () => {
    const labels = verdict.deviations!.map((d) => d.label).join('\n');
    expect(labels).toContain('drone\nverdict: PASS');
    expect(labels).toContain(`openssl-3.3.3${ESC}]1338;`);
  });
});

describe('every output is inert', () => {
  const cases: { name: string; render: () => string; check: (text: string) => void }[] = [
    {
      name: 'console: the verdict line is last; no repository text at column 0; no control characters',
      render: () => renderConsole(verdict, { color: false }),
      check: (text) => {
        const lines = text.replace(/\n$/, '').split('\n');
        // The verdict line leads with the reasons (repository text, spelled out on one line).
        expect(lines[lines.length - 1]).toMatch(
          /^verdict: FAIL: .* \(2 of 3 checks did not pass: entrypoint-parity fail, single-source error\)$/,
        );
        expect(lines.filter((l) => /^verdict/.test(l))).toHaveLength(1);
        // Column 0 belongs to the tool: its header lines, blank lines and the verdict.
        for (const l of lines)
          if (/^\S/.test(l))
            expect([
              l,
              /^(nixenv-verify 0\.1\.0 · |flake: |settings differing from the claim: |verdict: FAIL: )/.test(l),
            ]).toEqual([l, true]);
        expect(ACTIVE.test(text)).toBe(false);
        expect(text).toContain('evil\\nverdict: PASS');
        expect(text).toContain('\\u001B]1338;');
      },
    },
    {
      name: "console with colour: only the tool's own SGR codes",
      render: () => renderConsole(verdict, { color: true }),
      check: (text) => {
        const lines = text.replace(/\n$/, '').split('\n');
        expect(lines[lines.length - 1]).toMatch(/verdict: FAIL/);
        expect(text.replace(/\x1b\[(?:0|1|3[0-9]|9[0-9])m/g, '')).not.toMatch(ACTIVE);
      },
    },
    {
      name: 'DRONE_OUTPUT: eight KEY=value lines, one line each, no control character, no $ expansion',
      render: () => renderDroneOutput(verdict),
      check: (text) => {
        const lines = text.replace(/\n$/, '').split('\n');
        expect(lines.map((l) => l.split('=')[0])).toEqual(
          [
            'VERDICT',
            'FAILED_CHECKS',
            'PASSED_COUNT',
            'FAILED_COUNT',
            'SKIPPED_COUNT',
            'SPEC',
            'DEVIATIONS',
            'DEVIATION_TEXT',
          ].map((k) => `NIXENV_VERIFY_${k}`),
        );
        expect(lines[0]).toBe('NIXENV_VERIFY_VERDICT=fail');
        expect(ACTIVE.test(text)).toBe(false);
      },
    },
    {
      name: 'Markdown: no raw HTML, no link, table rows intact, no control character',
      render: () => renderMarkdown(verdict),
      check: (text) => {
        // Evidence sits in fenced blocks longer than any backtick run in it: inert there. Outside them:
        const fences = text.match(/^`{3,}text$/gm)!;
        expect(fences).toHaveLength(2);
        const outside = text.replace(/^(`{3,})text\n[\s\S]*?\n\1$/gm, '');
        expect(outside).not.toMatch(/<script|<\/code><\/details>|(?<!\\)\]\(http/);
        expect(outside).not.toMatch(/(?<!\\)\[click\]/);
        expect(outside.split('\n').filter((l) => /^verdict/.test(l))).toEqual([]);
        expect(ACTIVE.test(text)).toBe(false);
        const rows = text
          .split('\n')
          .filter((l) => l.startsWith('| ') && !l.startsWith('| ---') && !l.startsWith('| Status'));
        expect(rows).toHaveLength(3);
        // Four unescaped pipes per row: the row has three cells.
        for (const r of rows) expect([r, r.match(/(?<!\\)\|/g)!.length]).toEqual([r, 4]);
        // The verdict heading is the tool's; no line of the repository's is a heading or a fake verdict.
        expect(outside.split('\n').filter((l) => /^#|^verdict/.test(l))).toEqual(['### nixenv-verify: FAIL']);
      },
    },
    {
      name: 'JUnit: well-formed XML 1.0 text (no illegal character, no ]]>, no raw tag)',
      render: () => renderJunit(verdict),
      check: (text) => {
        expect(text).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1f\uFFFE\uFFFF]/);
        expect(text).not.toContain(']]>');
        expect(text).not.toContain('<script');
        // Every < opens one of the tool's own elements.
        for (const m of text.matchAll(/<\/?([A-Za-z?][\w-]*)/g))
          expect([
            '?xml',
            'testsuites',
            'testsuite',
            'properties',
            'property',
            'testcase',
            'failure',
            'error',
            'skipped',
            'system-out',
          ]).toContain(m[1]);
      },
    },
    {
      name: 'JSON report: parses back to the same strings (JSON escapes them)',
      render: () => renderJson(verdict),
      check: (text) => {
        expect(ACTIVE.test(text)).toBe(false);
        expect((JSON.parse(text) as Verdict).checks[0].summary).toBe(verdict.checks[0].summary);
      },
    },
    {
      name: 'Adaptive Card: valid JSON; its one-line fields hold no control character or newline',
      render: () => JSON.stringify(renderCard(verdict)),
      check: (text) => {
        const card = JSON.parse(text) as ReturnType<typeof renderCard>;
        for (const v of [
          card.data.subject,
          card.data.hosts,
          card.data.deviations,
          card.data.nix,
          ...card.data.facts.map((f) => f.value),
        ])
          expect([v, /[\n]/.test(v) || ACTIVE.test(v)]).toEqual([v, false]);
        for (const c of card.data.checks) expect(ACTIVE.test([c.summary, ...c.evidence].join(''))).toBe(false);
        // The card escape itself: one ESC]1338; … ESC]0m write, base64 inside (no ESC from the repository).
        const escaped = cardEscape(card);
        expect(escaped.match(/\x1b/g)).toHaveLength(2);
      },
    },
  ];
  test.each(cases)('$name', ({ render, check }) => check(render()));
});

describe('stderr is inert too', () => {
  test.each([
    [
      'a log line with a hostile message and field',
      JSON.stringify({ level: 30, time: 0, msg: `reading ${EVIL_FILE}`, file: `a${ESC}[2Kb` }),
    ],
    ['a line that is not JSON', `garbage ${EVIL_FILE}`],
  ])('%s', (_name, line) => {
    const out = formatLogLine(line);
    expect(out.endsWith('\n')).toBe(true);
    expect(out.slice(0, -1)).not.toMatch(/\n/);
    expect(ACTIVE.test(out)).toBe(false);
  });
  test('an error message: controls spelled out, every line after the first indented', () => {
    const out = stderrMessage(`invalid spec ${EVIL_FILE}:\n  x\nverdict: PASS`);
    expect(ACTIVE.test(out)).toBe(false);
    expect(
      out
        .split('\n')
        .slice(1)
        .every((l) => /^\s/.test(l)),
    ).toBe(true);
  });
});
