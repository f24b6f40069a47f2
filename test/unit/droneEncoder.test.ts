// The Drone settings encoder (test/helpers/droneEncoder.ts), and every settings
// example users copy (README.md, docs/drone.md and plugin.yml YAML) read through it and
// parseSettings, asserting what the example means.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { IMAGE } from '../../src/docs.js';
import { parseSettings } from '../../src/settings.js';
import { repoRoot } from '../helpers/cli.js';
import { encodePipelineSteps, encodeSettings, goFloat } from '../helpers/droneEncoder.js';

describe('encoder: what Drone sends as PLUGIN_*', () => {
  test.each<[string, string, Record<string, string>]>([
    ['a string', 'mode: eval', { PLUGIN_MODE: 'eval' }],
    ['YAML 1.1 booleans', 'submodules: no\ndebug: on', { PLUGIN_SUBMODULES: 'false', PLUGIN_DEBUG: 'true' }],
    ['a quoted yes stays text', 'mode: "yes"', { PLUGIN_MODE: 'yes' }],
    ['YAML 1.1 octal', 'concurrency: 010', { PLUGIN_CONCURRENCY: '8' }],
    ['an integer', 'concurrency: 4', { PLUGIN_CONCURRENCY: '4' }],
    [
      'floats in Go form',
      'a: 1.5\nb: 1.0\nc: 1e6\nd: 0.00001',
      { PLUGIN_A: '1.5', PLUGIN_B: '1', PLUGIN_C: '1e+06', PLUGIN_D: '1e-05' },
    ],
    ['a list of scalars: comma-joined', 'hosts: [cc-ci, cc-ci-hetzner]', { PLUGIN_HOSTS: 'cc-ci,cc-ci-hetzner' }],
    [
      'a list item with a comma is joined too (lossy)',
      'nix_options: ["--builders", "ssh://b x - 1 1 a,b"]',
      { PLUGIN_NIX_OPTIONS: '--builders,ssh://b x - 1 1 a,b' },
    ],
    ['an empty list: the empty string', 'checks: []', { PLUGIN_CHECKS: '' }],
    ['a list holding a map: JSON', 'x: [a, {b: 1}]', { PLUGIN_X: '["a",{"b":1}]' }],
    [
      'a map: JSON with sorted keys',
      'nix_config: {max-jobs: 0, builders: "ssh://a"}',
      { PLUGIN_NIX_CONFIG: '{"builders":"ssh://a","max-jobs":0}' },
    ],
    ['an empty value: dropped', 'report:\nmode: eval', { PLUGIN_MODE: 'eval' }],
    ['a key keeps its dashes', 'log-level: debug', { 'PLUGIN_LOG-LEVEL': 'debug' }],
    ['from_secret: the secret text', 'nix_options:\n  from_secret: opts', { PLUGIN_NIX_OPTIONS: '["--cores","2"]' }],
    ['a timestamp stays text', 'x: 2001-12-14', { PLUGIN_X: '2001-12-14' }],
  ])('%s', (_name, yamlText, want) => expect(encodeSettings(yamlText, { opts: '["--cores","2"]' })).toEqual(want));

  test.each([
    [1e21, '1e+21'],
    [123456, '123456'],
    [1234567, '1.234567e+06'],
    [0.0001, '0.0001'],
    [-2.5, '-2.5'],
  ])('goFloat(%p) = %s', (v, want) => expect(goFloat(v)).toBe(want));
});

describe('settings as users write them in Drone', () => {
  const parseStep = (yamlText: string, secrets: Record<string, string> = {}) =>
    parseSettings({ env: encodeSettings(yamlText, secrets), flags: {}, cwd: '/drone/src' });

  test.each<[string, string, (s: ReturnType<typeof parseStep>) => void]>([
    ['submodules: no', 'submodules: no', (s) => expect(s.submodules).toBe(false)],
    ['debug: true is log_level debug', 'debug: true', (s) => expect(s.logLevel).toBe('debug')],
    [
      'enum values in any case',
      'mode: Eval\nlog_level: DEBUG\nlog_format: JSON',
      (s) => expect([s.mode, s.logLevel, s.logFormat]).toEqual(['eval', 'debug', 'json']),
    ],
    ['checks in any case', 'checks: [Build, HOST-PARITY]', (s) => expect(s.checks).toEqual(['build', 'host-parity'])],
    ['timeout as a bare number of seconds', 'timeout: 90', (s) => expect(s.timeoutMs).toBe(90_000)],
    [
      'an empty value keeps the default',
      'report:\nmode:',
      (s) => expect([s.report, s.mode]).toEqual([undefined, 'build']),
    ],
    [
      'a nix_options YAML list',
      'nix_options: ["--option", "cores", "2", "--fallback"]',
      (s) => expect(s.nixOptions).toEqual(['--option', 'cores', '2', '--fallback']),
    ],
    [
      'nix_options as one JSON string keeps commas',
      `nix_options: '["--builders","ssh://b x - 1 1 a,b"]'`,
      (s) => expect(s.nixOptions).toEqual(['--builders', 'ssh://b x - 1 1 a,b']),
    ],
    [
      'nix_config keeps commas',
      'nix_config:\n  builders: "ssh://a x86_64-linux - 4 1 big-parallel,kvm"\n  max-jobs: 0',
      (s) => expect(s.nixConfig).toEqual({ builders: 'ssh://a x86_64-linux - 4 1 big-parallel,kvm', 'max-jobs': '0' }),
    ],
  ])('%s', (_name, yamlText, assert) => assert(parseStep(yamlText)));

  test('a YAML list item with a comma splits: the reason for nix_config and the JSON string form', () => {
    expect(() => parseStep('nix_options: ["--builders", "ssh://b x - 1 1 big-parallel,kvm"]')).toThrow(
      /PLUGIN_NIX_OPTIONS/,
    );
  });
  test.each([
    ['checks: []', /PLUGIN_CHECKS: got an empty list/],
    ['host: cc-ci', /PLUGIN_HOST is not a setting; did you mean hosts/],
    ['log-level: debug', /PLUGIN_LOG-LEVEL is not a setting; did you mean log_level/],
    ['dry_run: true', /PLUGIN_DRY_RUN \(dry_run\) is not a setting/],
  ])('%s exits 2', (yamlText, message) => expect(() => parseStep(yamlText)).toThrow(message));
});

const read = (f: string): string => readFileSync(path.join(repoRoot, f), 'utf8');
const yamlBlocks = (file: string): string[] => [...read(file).matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
/** The Drone examples in full live in docs/drone.md; the README has the short ones (README_MEANT). */
const readmeBlocks = yamlBlocks('docs/drone.md');
const SECRETS = { nix_options: '["--option","access-tokens","github.com=ghp_example"]' };

/** What each README example means, found by a line it holds. */
const MEANT: [string, (s: ReturnType<typeof parseSettings>) => void][] = [
  [
    'report: nixenv-verify.json',
    (s) =>
      expect([s.mode, s.report, s.junit, s.summary]).toEqual([
        'build',
        'nixenv-verify.json',
        'nixenv-verify.xml',
        'nixenv-verify.md',
      ]),
  ],
  [
    'max-jobs: 0',
    (s) =>
      expect(s.nixOptions).toEqual([
        '--option',
        'access-tokens',
        'github.com=ghp_example',
        '--option',
        'builders',
        'ssh://builder x86_64-linux - 4 1 big-parallel,kvm',
        '--option',
        'max-jobs',
        '0',
      ]),
  ],
  [
    '"--max-jobs", "0"]',
    (s) =>
      expect([s.mode, s.nixOptions]).toEqual([
        'eval',
        ['--option', 'builders', 'ssh://builder x86_64-linux', '--max-jobs', '0'],
      ]),
  ],
];

/** What each README example means: the short forms of docs/drone.md's. */
const README_MEANT: [string, (s: ReturnType<typeof parseSettings>) => void][] = [
  [
    'report: reports/nixenv-verify.json',
    (s) =>
      expect([s.mode, s.report, s.junit, s.summary]).toEqual([
        'build',
        'reports/nixenv-verify.json',
        'reports/nixenv-verify.xml',
        'reports/nixenv-verify.md',
      ]),
  ],
  [
    'max-jobs: 0',
    (s) =>
      expect(s.nixOptions).toEqual([
        '--option',
        'builders',
        'ssh://builder x86_64-linux - 4 1 big-parallel,kvm',
        '--option',
        'max-jobs',
        '0',
      ]),
  ],
];

describe('README examples, through the encoder', () => {
  const blocks = yamlBlocks('README.md');
  test('every README block with plugin settings has a stated meaning', () => {
    const withSettings = blocks.filter((b) => encodePipelineSteps(b, SECRETS).length > 0);
    expect(withSettings.length).toBe(README_MEANT.length);
    for (const block of withSettings) expect(README_MEANT.some(([marker]) => block.includes(marker))).toBe(true);
  });
  test.each(README_MEANT)('README block with %j', (marker, assert) => {
    const block = blocks.find((b) => b.includes(marker))!;
    const steps = encodePipelineSteps(block, SECRETS).filter((s) => s.image === IMAGE);
    expect(steps).toHaveLength(1);
    assert(parseSettings({ env: steps[0].env, flags: {}, cwd: '/drone/src' }));
  });
});

describe('docs/drone.md and plugin.yml examples, through the encoder', () => {
  test('every docs/drone.md block with plugin settings has a stated meaning', () => {
    const withSettings = readmeBlocks.filter((b) => encodePipelineSteps(b, SECRETS).length > 0);
    expect(withSettings.length).toBe(MEANT.length);
    for (const block of withSettings) expect(MEANT.some(([marker]) => block.includes(marker))).toBe(true);
  });

  test.each(MEANT)('docs/drone.md block with %j', (marker, assert) => {
    const block = readmeBlocks.find((b) => b.includes(marker))!;
    const steps = encodePipelineSteps(block, SECRETS).filter((s) => s.image === IMAGE);
    expect(steps).toHaveLength(1);
    assert(parseSettings({ env: steps[0].env, flags: {}, cwd: '/drone/src' }));
  });

  test('the exec example sets PLUGIN_MODE through environment:', () => {
    const block = readmeBlocks.find((b) => b.includes('type: exec'))!;
    const step = (parse(block) as { steps: { environment: Record<string, string> }[] }).steps[0];
    expect(parseSettings({ env: step.environment, flags: {}, cwd: '/w' }).mode).toBe('eval');
  });

  test('plugin.yml example', () => {
    const plugin = parse(read('plugin.yml')) as { example: string };
    const [step] = encodePipelineSteps(plugin.example).filter((s) => s.image === IMAGE);
    const s = parseSettings({ env: step.env, flags: {}, cwd: '/drone/src' });
    expect([s.hosts, s.mode, s.timeoutMs, s.junit, s.summary, s.report]).toEqual([
      ['cc-ci', 'cc-ci-hetzner'],
      'eval',
      20 * 60_000,
      'reports/nixenv-verify.xml',
      'reports/nixenv-verify.md',
      'reports/nixenv-verify.json',
    ]);
    expect(s.nixConfig).toEqual({ builders: 'ssh://builder x86_64-linux - 4 1 big-parallel,kvm', 'max-jobs': '0' });
  });
});
