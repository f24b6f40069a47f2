// The runtime comparison: version order, the per-consumer diff, the reviewer's
// one-line reading, and the diff in every output (console, Markdown, card —
// the card through the real Adaptive Cards renderer).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCard } from '../../src/render/card.js';
import { renderConsole } from '../../src/render/console.js';
import { renderJson } from '../../src/render/json.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import {
  compareVersions,
  diffLines,
  diffRuntimes,
  diffSummary,
  toolsOnPath,
  type ConsumerRuntime,
  type RuntimeSnapshot,
  type Tool,
} from '../../src/runtime.js';
import type { Verdict } from '../../src/verdict.js';
import { expandTemplate } from '../helpers/adaptiveCard.js';
import { renderAdaptiveCard } from '../helpers/adaptiveCardsRenderer.js';
import { PASS_VERDICT } from '../helpers/cardSamples.js';

const tool = (name: string, from = 'nix/modules/packages.nix:12'): Tool => {
  const m = /^(.*?)-(\d.*)$/.exec(name);
  return { pname: m ? m[1] : name, version: m ? m[2] : '', name, from };
};
const consumer = (key: string, host: string, tools: string[], problem?: string): ConsumerRuntime => ({
  key: `${key}@${host}`,
  label: `the ${key} on ${host}`,
  consumer: key.split(':')[0],
  host,
  tools: tools.map((t) => tool(t)),
  notes: [],
  ...(problem ? { problem } : {}),
});
const snap = (...consumers: ConsumerRuntime[]): RuntimeSnapshot => ({ consumers, absent: [] });
const BASE = { rev: 'HEAD~1', commit: 'a'.repeat(40), source: 'the base setting' };

describe('compareVersions (builtins.compareVersions)', () => {
  test.each([
    ['3.3.2', '3.3.3', -1],
    ['8.12.1', '8.12.1', 0],
    ['8.13.0', '8.12.1', 1],
    ['1.10', '1.9', 1],
    ['2.0pre', '2.0', -1],
    ['5.2p37', '5.2p9', 1],
    ['0.13.0-beta', '0.13.0', 1],
  ])('%s vs %s → %i', (a, b, want) => expect(compareVersions(a, b)).toBe(want));
});

describe('diffRuntimes', () => {
  test.each<
    [string, RuntimeSnapshot, RuntimeSnapshot, Partial<Record<'status' | 'added' | 'dropped' | 'changed', unknown>>]
  >([
    [
      'nothing changes',
      snap(consumer('drone', 'cc-ci', ['git-2.47.2'])),
      snap(consumer('drone', 'cc-ci', ['git-2.47.2'])),
      { status: 'same', added: [], dropped: [], changed: [] },
    ],
    [
      'a tool added',
      snap(consumer('drone', 'cc-ci', ['git-2.47.2'])),
      snap(consumer('drone', 'cc-ci', ['git-2.47.2', 'git-lfs-3.6.1'])),
      { status: 'changed', added: ['git-lfs-3.6.1'], dropped: [] },
    ],
    [
      'a tool dropped',
      snap(consumer('sweep', 'cc-ci', ['rsync-3.4.1', 'git-2.47.2'])),
      snap(consumer('sweep', 'cc-ci', ['git-2.47.2'])),
      { status: 'changed', dropped: ['rsync-3.4.1'] },
    ],
    [
      'a version bump',
      snap(consumer('drone', 'cc-ci', ['curl-8.12.1'])),
      snap(consumer('drone', 'cc-ci', ['curl-8.13.0'])),
      {
        status: 'changed',
        changed: [{ pname: 'curl', from: 'curl-8.12.1', to: 'curl-8.13.0', downgrade: false }],
        dropped: [],
      },
    ],
    [
      'a downgrade',
      snap(consumer('drone', 'cc-ci', ['openssl-3.3.3'])),
      snap(consumer('drone', 'cc-ci', ['openssl-3.3.2'])),
      {
        status: 'changed',
        changed: [{ pname: 'openssl', from: 'openssl-3.3.3', to: 'openssl-3.3.2', downgrade: true }],
      },
    ],
    [
      'a consumer new at head',
      snap(),
      snap(consumer('drone', 'cc-ci', ['git-2.47.2'])),
      { status: 'new', added: ['git-2.47.2'] },
    ],
    [
      'a consumer gone at head',
      snap(consumer('sweep', 'cc-ci', ['git-2.47.2'])),
      snap(),
      { status: 'vanished', dropped: ['git-2.47.2'] },
    ],
    [
      'a side that could not be computed',
      snap(consumer('drone', 'cc-ci', [], 'cannot follow `eval "$x"`')),
      snap(consumer('drone', 'cc-ci', ['git-2.47.2'])),
      { status: 'error', added: [], dropped: [] },
    ],
  ])('%s', (_, base, head, want) => {
    const d = diffRuntimes(base, head, BASE).consumers[0];
    if (want.status) expect(d.status).toBe(want.status);
    if (want.added) expect(d.added.map((t) => t.name)).toEqual(want.added);
    if (want.dropped) expect(d.dropped.map((x) => x.tool.name)).toEqual(want.dropped);
    if (want.changed) expect(d.changed).toEqual(want.changed);
  });

  test('a dropped tool names what head offers instead: other consumers on the host that still have it', () => {
    const d = diffRuntimes(
      snap(consumer('sweep', 'cc-ci', ['rsync-3.4.1'])),
      snap(consumer('sweep', 'cc-ci', []), consumer('system-packages', 'cc-ci', ['rsync-3.4.1'])),
      BASE,
    );
    expect(d.consumers[0].dropped[0].instead).toBe(
      'nothing named rsync on its PATH at head (still on the system-packages on cc-ci)',
    );
    expect(diffLines(d.consumers[0])).toEqual([
      '- rsync-3.4.1 (from nix/modules/packages.nix:12; head: nothing named rsync on its PATH at head (still on the system-packages on cc-ci))',
    ]);
  });

  test("the seed's refactor reads: added git-lfs, openssl for the Drone step on cc-ci; dropped: none", () => {
    const base = snap(
      consumer('drone:recipe-test', 'cc-ci', ['git-2.47.2', 'curl-8.12.1']),
      consumer('drone:recipe-test', 'cc-ci-hetzner', ['git-2.47.2', 'git-lfs-3.6.1', 'openssl-3.3.3']),
    );
    const head = snap(
      consumer('drone:recipe-test', 'cc-ci', ['git-2.47.2', 'curl-8.12.1', 'git-lfs-3.6.1', 'openssl-3.3.3']),
      consumer('drone:recipe-test', 'cc-ci-hetzner', ['git-2.47.2', 'git-lfs-3.6.1', 'openssl-3.3.3']),
    );
    expect(diffSummary(diffRuntimes(base, head, BASE))).toBe(
      'added git-lfs-3.6.1, openssl-3.3.3 for the drone:recipe-test on cc-ci; dropped: none',
    );
  });

  test('base = head: no change', () => {
    const s = snap(consumer('drone', 'cc-ci', ['git-2.47.2']));
    expect(diffSummary(diffRuntimes(s, s, BASE))).toBe('no change against HEAD~1; dropped: none');
  });
});

describe('toolsOnPath', () => {
  test('store directories by name (outputs dropped), the system profile as the system packages, first on PATH wins', () => {
    const notes: string[] = [];
    const system = [tool('git-lfs-3.6.1', 'host.nix:3'), tool('curl-8.11.0', 'host.nix:3')];
    const tools = toolsOnPath(
      [
        '/nix/store/00000000000000000000000000000000-openssl-3.3.3-bin/bin',
        '/nix/store/11111111111111111111111111111111-curl-8.12.1-bin/bin',
        '/run/current-system/sw/bin',
        '/run/wrappers/bin',
        '/usr/bin',
      ],
      system,
      () => 'wrapper:3',
      notes,
    );
    expect(tools.map((t) => `${t.name} ${t.from}`)).toEqual([
      'openssl-3.3.3 wrapper:3',
      'curl-8.12.1 wrapper:3',
      'git-lfs-3.6.1 /run/current-system/sw/bin ← host.nix:3',
    ]);
    expect(notes).toEqual([
      '/run/wrappers/bin: setuid wrappers made at activation (security.wrappers), not packages',
      '/usr/bin: outside the store, not a package',
    ]);
  });
});

// ---------------------------------------------------------------------------
// The diff in every output.

const diff = diffRuntimes(
  snap(
    consumer('drone:recipe-test', 'cc-ci', ['git-2.47.2', 'openssl-3.3.3', 'curl-8.12.1']),
    consumer('sweep', 'cc-ci', ['git-2.47.2']),
  ),
  snap(
    consumer('drone:recipe-test', 'cc-ci', ['git-2.47.2', 'openssl-3.3.2', 'curl-8.12.1', 'git-lfs-3.6.1']),
    consumer('sweep', 'cc-ci', ['git-2.47.2']),
  ),
  BASE,
);
const withDiff: Verdict = { ...PASS_VERDICT, runtimeDiff: diff };

describe('renderers show the runtime diff', () => {
  test('console: a headline, the summary, one line per change under each changed consumer', () => {
    const lines = renderConsole(withDiff, { color: false }).split('\n');
    const at = lines.indexOf(`runtime against base HEAD~1 (${'a'.repeat(12)}): the base setting`);
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 5)).toEqual([
      '  added git-lfs-3.6.1 for the drone:recipe-test on cc-ci; changed openssl-3.3.3 → openssl-3.3.2 (downgrade) for the drone:recipe-test on cc-ci; dropped: none (1 consumer unchanged)',
      '  the drone:recipe-test on cc-ci:',
      '    + git-lfs-3.6.1',
      '    ↓ openssl-3.3.3 → openssl-3.3.2 (DOWNGRADE)',
    ]);
  });

  test('console: no block without a base', () =>
    expect(renderConsole(PASS_VERDICT, { color: false })).not.toContain('runtime against base'));

  test('Markdown: a heading, the summary, the changes in a code block', () => {
    const md = renderMarkdown(withDiff);
    // Markdown escapes the repository's text: `~` would start strikethrough.
    expect(md).toContain(`#### runtime against base HEAD\\~1 (${'a'.repeat(12)}): the base setting`);
    expect(md).toContain('dropped: none (1 consumer unchanged)');
    expect(md).toContain(
      '```text\nthe drone:recipe-test on cc-ci:\n  + git-lfs-3.6.1\n  ↓ openssl-3.3.3 → openssl-3.3.2 (DOWNGRADE)\n```',
    );
    expect(renderMarkdown(PASS_VERDICT)).not.toContain('runtime against base');
  });

  test('JSON: the diff as data', () => {
    const json = JSON.parse(renderJson(withDiff)) as Verdict;
    expect(json.runtimeDiff!.consumers.map((c) => [c.label, c.status])).toEqual([
      ['the drone:recipe-test on cc-ci', 'changed'],
      ['the sweep on cc-ci', 'same'],
    ]);
  });

  test('card: the data and the rendered card carry the summary and each change', () => {
    const data = renderCard(withDiff).data;
    expect(data.runtime).toContain('added git-lfs-3.6.1');
    expect(data.runtimeChanges).toEqual([
      'the drone:recipe-test on cc-ci: + git-lfs-3.6.1',
      'the drone:recipe-test on cc-ci: ↓ openssl-3.3.3 → openssl-3.3.2 (DOWNGRADE)',
    ]);
    const template = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../templates/card.json', import.meta.url)), 'utf8'),
    ) as unknown;
    const r = renderAdaptiveCard(expandTemplate(template, data as unknown as Record<string, unknown>)[0]);
    expect(r.problems).toEqual([]);
    const t = (r.element.textContent ?? '').replace(/\s+/g, ' ');
    expect(t).toContain('runtime against base HEAD~1');
    expect(t).toContain('↓ openssl-3.3.3 → openssl-3.3.2 (DOWNGRADE)');
    // Without a base the block is not rendered at all.
    const plain = renderAdaptiveCard(
      expandTemplate(template, renderCard(PASS_VERDICT).data as unknown as Record<string, unknown>)[0],
    );
    expect((plain.element.textContent ?? '').includes('runtime against base')).toBe(false);
  });
});
