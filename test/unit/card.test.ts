// The Drone card: templates/card.json bound with renderCard's data is a valid
// Adaptive Card 1.5 (hand-written schema of the elements used), and shows what
// a reviewer needs: repository and commit, deviations, decisive evidence.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CARD_EVIDENCE_LINES, CARD_EVIDENCE_WIDTH, renderCard } from '../../src/render/card.js';
import type { Verdict } from '../../src/verdict.js';
import { AdaptiveCard15, expandTemplate } from '../helpers/adaptiveCard.js';

const template = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../templates/card.json', import.meta.url)), 'utf8'),
) as unknown;

const base: Verdict = {
  verdict: 'fail',
  mode: 'build',
  flake: '/drone/src',
  flakeRef: '/drone/src?submodules=1',
  hosts: ['cc-ci', 'cc-ci-hetzner'],
  nix: { version: '2.18.1' },
  checks: [
    {
      id: 'build',
      title: 'Every host builds',
      status: 'pass',
      summary: 'built',
      evidence: ['cc-ci: built /nix/store/x'],
      durationMs: 10,
    },
    {
      id: 'path-superset',
      title: 'The wrapper PATH carries every expected tool',
      status: 'fail',
      summary: '1 missing',
      evidence: [
        'wrapper: /nix/store/aaa-cc-ci-run',
        'PATH has 14 entries',
        'MISSING git-lfs-3.6.1',
        'x'.repeat(400),
        'l5',
        'l6',
      ],
      durationMs: 20,
    },
  ],
  durationMs: 3000,
  tool: { name: 'nixenv-verify', version: '0.1.0' },
};

const bind = (v: Verdict) => expandTemplate(template, renderCard(v).data as unknown as Record<string, unknown>)[0];

describe('the bound card is a valid Adaptive Card 1.5', () => {
  test.each<[string, Verdict]>([
    ['a failing run outside Drone', base],
    [
      'under Drone, with deviations and a build link',
      {
        ...base,
        deviations: [{ setting: 'hosts', value: 'cc-ci', default: 'cc-ci,cc-ci-hetzner', label: 'hosts=cc-ci' }],
        source: {
          repo: 'cc-ci/cc-ci',
          commit: '0123456789abcdef0123',
          buildLink: 'https://drone.example/cc-ci/cc-ci/42',
        },
      },
    ],
    ['a pass', { ...base, verdict: 'pass', checks: [base.checks[0]] }],
  ])('%s', (_name, v) => {
    const card = bind(v);
    const result = AdaptiveCard15.safeParse(card);
    if (!result.success) throw new Error(JSON.stringify(result.error.issues, null, 2));
    expect(JSON.stringify(card)).not.toContain('${');
  });

  test('the schema rejects what the Drone UI would not render', () => {
    expect(
      AdaptiveCard15.safeParse({
        type: 'AdaptiveCard',
        version: '1.5',
        body: [{ type: 'TextBlock', text: 'x', color: 'Red' }],
      }).success,
    ).toBe(false);
    expect(
      AdaptiveCard15.safeParse({ type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlok', text: 'x' }] })
        .success,
    ).toBe(false);
    expect(
      AdaptiveCard15.safeParse({
        type: 'AdaptiveCard',
        version: '1.5',
        body: [{ type: 'TextBlock', text: 'x', colour: 'Good' }],
      }).success,
    ).toBe(false);
  });
});

describe('what the card shows', () => {
  const drone: Verdict = {
    ...base,
    deviations: [
      { setting: 'checks', value: 'build,path-superset', default: '…', label: 'checks without propagation' },
    ],
    source: { repo: 'cc-ci/cc-ci', commit: '0123456789abcdef0123', buildLink: 'https://drone.example/b/42' },
  };
  const text = JSON.stringify(bind(drone));

  test('repository and commit instead of the container path; a link to the build', () => {
    const data = renderCard(drone).data;
    expect(data.subject).toBe('cc-ci/cc-ci @ 0123456789ab');
    expect(data.facts).toEqual([
      { title: 'Repository', value: 'cc-ci/cc-ci' },
      { title: 'Commit', value: '0123456789abcdef0123' },
      { title: 'Hosts', value: 'cc-ci, cc-ci-hetzner' },
    ]);
    expect(text).not.toContain('/drone/src');
    expect(text).toContain('"url":"https://drone.example/b/42"');
  });

  test('the deviations line', () =>
    expect(text).toContain('settings differing from the claim: checks without propagation'));

  test('per failed check: the decisive lines first, a few, each cut short', () => {
    const check = renderCard(drone).data.checks.find((c) => c.id === 'path-superset')!;
    expect(check.evidence[0]).toBe('MISSING git-lfs-3.6.1');
    expect(check.evidence).toHaveLength(CARD_EVIDENCE_LINES + 1);
    expect(check.evidence.at(-1)).toBe('… 2 more in the report');
    for (const line of check.evidence) expect(line.length).toBeLessThanOrEqual(CARD_EVIDENCE_WIDTH);
    expect(renderCard(drone).data.checks.find((c) => c.id === 'build')!.evidence).toEqual([]);
    expect(text).toContain('MISSING git-lfs-3.6.1');
  });

  test('no deviations and no link: neither is on the card', () => {
    const plain = JSON.stringify(bind(base));
    expect(plain).not.toContain('settings differing');
    expect(plain).toContain('"actions":[]');
  });
});
