// The Drone card through the real Adaptive Cards renderer (`adaptivecards`, in
// jsdom): templates/card.json bound with renderCard's data parses and
// validates with no event, renders, and the rendered text carries what a
// reviewer needs. Screenshots of the same two cards: scripts/card-screenshots.mjs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCard } from '../../src/render/card.js';
import { orderedEvidence } from '../../src/render/common.js';
import type { Verdict } from '../../src/verdict.js';
import { expandTemplate } from '../helpers/adaptiveCard.js';
import { renderAdaptiveCard } from '../helpers/adaptiveCardsRenderer.js';
import { FAIL_VERDICT, PASS_VERDICT } from '../helpers/cardSamples.js';

const template = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../templates/card.json', import.meta.url)), 'utf8'),
) as unknown;
const bind = (v: Verdict) => expandTemplate(template, renderCard(v).data as unknown as Record<string, unknown>)[0];
const text = (el: Element) => (el.textContent ?? '').replace(/\s+/g, ' ');

describe.each<[string, Verdict]>([
  ['PASS', PASS_VERDICT],
  ['FAIL', FAIL_VERDICT],
])('the %s card with the real renderer', (word, verdict) => {
  const r = renderAdaptiveCard(bind(verdict));
  const data = renderCard(verdict).data;

  test('parses and validates as Adaptive Card 1.5 with no event, and renders without a console warning', () => {
    expect(r.problems).toEqual([]);
    expect(r.card.version.toString()).toBe('1.5');
    expect(r.console).toEqual([]);
  });

  test('the rendered text: verdict, headline, repository and commit', () => {
    const t = text(r.element);
    expect(t).toContain(word);
    expect(t).toContain(`nixenv-verify: ${data.headline}`);
    expect(t).toContain('cc-ci/cc-ci @ 3f9c2a7d41b0');
    expect(t).toContain('Repository');
    expect(t).toContain(verdict.source!.commit!);
    expect(t).not.toContain('${');
    // under Drone the subject is the repository, not the container's flake reference
    expect(t).not.toContain(verdict.flakeRef);
  });

  test('every check with its status word and title', () => {
    const t = text(r.element);
    for (const c of verdict.checks) expect(t).toContain(`${c.id}: ${c.title}`);
  });

  test('the build link: an OpenUrl button that opens DRONE_BUILD_LINK', () => {
    const buttons = [...r.element.querySelectorAll('button')];
    expect(buttons.map((b) => text(b).trim())).toEqual(['Open the build']);
    const opened: string[] = [];
    r.card.onExecuteAction = (action) =>
      opened.push((action as InstanceType<typeof r.AdaptiveCards.OpenUrlAction>).url ?? '');
    buttons[0].click();
    expect(opened).toEqual([verdict.source!.buildLink]);
  });
});

describe('what only the FAIL card shows', () => {
  const r = renderAdaptiveCard(bind(FAIL_VERDICT));
  const t = text(r.element);
  const shown = renderCard(FAIL_VERDICT).data.checks;

  test('each failed or errored check: its title and its decisive evidence, first line first', () => {
    const failed = FAIL_VERDICT.checks.filter((c) => c.status === 'fail' || c.status === 'error');
    expect(failed.map((c) => c.id)).toEqual(['path-superset', 'entrypoint-parity', 'host-parity']);
    for (const c of failed) {
      const lines = shown.find((s) => s.id === c.id)!.evidence;
      expect(lines[0]).toBe(orderedEvidence(c)[0]);
      expect(t).toContain(c.title);
      expect(t).toContain(lines[0]);
      for (const line of lines) expect(t).toContain(line);
      // the title comes before the evidence
      expect(t.indexOf(`${c.id}: ${c.title}`)).toBeLessThan(t.indexOf(lines[0]));
    }
    expect(t).toContain('MISSING git-lfs-3.6.1 (expected from nix/test-runtime.nix:12)');
    expect(t).toContain('FAIL');
    expect(t).toContain('ERROR');
    expect(t).toContain('SKIP');
  });

  test('the deviations line', () =>
    expect(t).toContain('settings differing from the claim: expected_tools (15 of 16: without jq-1.7.1)'));

  test('the evidence in a monospace font; passed checks show none', () => {
    const mono = [...r.element.querySelectorAll<HTMLElement>('.ac-textBlock')].filter((el) =>
      /monospace|courier|consolas/i.test(el.style.fontFamily),
    );
    expect(mono.map((el) => text(el))).toEqual(shown.flatMap((c) => c.evidence));
    expect(t).not.toContain('build: ok');
  });
});

describe('what only the PASS card shows', () => {
  const t = text(renderAdaptiveCard(bind(PASS_VERDICT)).element);
  test('no deviations line, no evidence, no failure word', () => {
    expect(t).not.toContain('settings differing');
    expect(t).not.toMatch(/FAIL|ERROR/);
    expect(t).toContain('6 of 6 checks passed');
  });
});

describe('outside Drone (no repository, no link)', () => {
  const outside: Verdict = { ...FAIL_VERDICT, source: undefined, deviations: undefined };
  const r = renderAdaptiveCard(bind(outside));
  test('still valid; the flake reference instead of the repository; no button', () => {
    expect(r.problems).toEqual([]);
    const t = text(r.element);
    expect(t).toContain(`Flake${outside.flakeRef}`);
    expect(t).not.toContain('Repository');
    expect(r.element.querySelectorAll('button')).toHaveLength(0);
  });
});

describe('the renderer rejects what the hand-written schema rejects', () => {
  test('an unknown colour and an unknown element are validation events', () => {
    const bad = renderAdaptiveCard({
      type: 'AdaptiveCard',
      version: '1.5',
      body: [
        { type: 'TextBlock', text: 'x', color: 'Red' },
        { type: 'TextBlok', text: 'y' },
      ],
    });
    expect(bad.problems.map((p) => p.event)).toEqual(
      expect.arrayContaining(['InvalidPropertyValue', 'UnknownElementType']),
    );
  });
});
