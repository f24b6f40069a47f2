// The stderr log without a terminal: plain text, one line per event; JSON on
// request. Deviations from the claim: computed once from the settings, shown
// in every output.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { createLogger, formatLogLine } from '../../src/logger.js';
import { parseArgv, parseSettings, settingsDeviations } from '../../src/settings.js';
import { CLAIM_EXPECTED_TOOLS } from '../../src/settings.js';
import { ALL_OUTPUTS, makeFakeFlake, runFake, type FakeFlake } from '../helpers/fakeFlake.js';

describe('log lines', () => {
  const capture = (format: 'text' | 'json', color = false) => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'debug',
      format,
      color,
      write: (l) => lines.push(l),
      secrets: ['s3cr3t-value'],
    });
    return { logger, lines };
  };

  test('text: `TIME LEVEL message key=value`, no colour, no JSON, one line per event', () => {
    const { logger, lines } = capture('text');
    logger.info({ host: 'cc-ci' }, 'evaluating cc-ci');
    logger.debug({ cmd: 'nix eval a b' }, 'two\nlines');
    logger.warn({ err: new Error('boom s3cr3t-value') }, 'failed');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO evaluating cc-ci host=cc-ci\n$/);
    expect(lines[1]).toMatch(/ DEBUG two\\nlines cmd="nix eval a b"\n$/);
    expect(lines[2]).toMatch(/ WARN failed err="boom \*\*\*"\n$/);
    for (const l of lines) {
      expect(l).not.toContain('\x1b[');
      expect(l.trim().startsWith('{')).toBe(false);
      expect(l.split('\n')).toHaveLength(2);
      expect(l).not.toMatch(/at .+:\d+:\d+/);
    }
  });

  test('text on a terminal: the level is coloured', () => {
    const { logger, lines } = capture('text', true);
    logger.info('x');
    expect(lines[0]).toContain('\x1b[32mINFO\x1b[0m x');
  });

  test('json: pino JSON lines, redacted', () => {
    const { logger, lines } = capture('json');
    logger.info({ host: 'cc-ci', token: 's3cr3t-value' }, 'evaluating cc-ci');
    const record = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(record).toMatchObject({
      level: 30,
      msg: 'evaluating cc-ci',
      host: 'cc-ci',
      token: '***',
      name: 'nixenv-verify',
    });
    expect(typeof record.time).toBe('number');
  });

  test('formatLogLine leaves a non-JSON line as one line', () => expect(formatLogLine('plain')).toBe('plain\n'));
});

describe('deviations from the claim', () => {
  const parse = (env: Record<string, string>, argv: string[] = []) =>
    parseSettings({ env, flags: parseArgv(argv).flags, cwd: '/w' });

  test('the defaults are the claim: none', () => expect(settingsDeviations(parse({}))).toEqual([]));

  test('outputs, log level, timeout and concurrency are not deviations', () => {
    expect(
      settingsDeviations(
        parse({
          PLUGIN_REPORT: 'r.json',
          PLUGIN_LOG_LEVEL: 'debug',
          PLUGIN_TIMEOUT: '5m',
          PLUGIN_CONCURRENCY: '2',
          PLUGIN_LOG_FORMAT: 'json',
        }),
      ),
    ).toEqual([]);
  });

  test('a list in another order is no deviation', () =>
    expect(settingsDeviations(parse({ PLUGIN_HOSTS: 'cc-ci-hetzner,cc-ci' }))).toEqual([]));

  test('the example of the brief', () => {
    const d = settingsDeviations(
      parse({
        PLUGIN_EXPECTED_TOOLS: CLAIM_EXPECTED_TOOLS.filter((t) => t !== 'git-lfs-3.6.1').join(','),
        PLUGIN_HOSTS: 'cc-ci',
        PLUGIN_HOST_CONFIG: 'nix/hosts/{host}/configuration.nix',
        PLUGIN_CHECKS: 'build,single-source,path-superset,entrypoint-parity,host-parity',
      }),
    );
    // Seven checks since no-drop: a list of more than six is labelled with its counts.
    expect(d.map((x) => x.label)).toEqual([
      'hosts=cc-ci',
      'checks (5 of 7: without propagation, no-drop)',
      'expected_tools (14 of 15: without git-lfs-3.6.1)',
    ]);
    expect(d[0]).toEqual({ setting: 'hosts', value: 'cc-ci', default: 'cc-ci,cc-ci-hetzner', label: 'hosts=cc-ci' });
  });

  test.each<[string, Record<string, string>, string]>([
    ['mode', { PLUGIN_MODE: 'eval' }, 'mode=eval'],
    ['submodules', { PLUGIN_SUBMODULES: 'false' }, 'submodules=false'],
    ['a path', { PLUGIN_NIX_DIR: 'nix/modules' }, 'nix_dir=nix/modules'],
    [
      'a version drift',
      {
        PLUGIN_EXPECTED_TOOLS: CLAIM_EXPECTED_TOOLS.map((t) => (t === 'openssl-3.3.3' ? 'openssl-3.3.2' : t)).join(','),
      },
      'expected_tools (15 of 15: without openssl-3.3.3, with openssl-3.3.2)',
    ],
    ['required_bins', { PLUGIN_REQUIRED_BINS: 'git-lfs' }, 'required_bins without openssl'],
    [
      'nix options, credentials masked',
      { PLUGIN_NIX_OPTIONS: '["--option","access-tokens","github.com=tok123456","--cores","2"]' },
      'nix options: --option access-tokens *** --cores 2',
    ],
  ])('%s', (_n, env, label) => expect(settingsDeviations(parse(env)).map((d) => d.label)).toEqual([label]));

  test.each<[Record<string, string>, string]>([
    [{ PLUGIN_NIX_OPTIONS: '["--cores","2"]' }, 'nix_options'],
    [{ PLUGIN_NIX_CONFIG: '{"cores":2}' }, 'nix_config'],
    [{ PLUGIN_NIX_OPTIONS: '["--cores","2"]', PLUGIN_NIX_CONFIG: '{"max-jobs":2}' }, 'nix_options+nix_config'],
  ])('nix arguments from %j are named %s', (env, setting) =>
    expect(settingsDeviations(parse(env)).map((d) => d.setting)).toEqual([setting]),
  );
});

describe('every output lists the deviations', () => {
  let flake: FakeFlake;
  beforeAll(() => {
    flake = makeFakeFlake();
  });
  afterAll(() => flake.cleanup());
  beforeEach(() => rmSync(path.join(flake.dir, 'out'), { recursive: true, force: true }));

  test('console, JSON, JUnit, Markdown, card, DRONE_OUTPUT', async () => {
    const run = await runFake(flake, {
      ...ALL_OUTPUTS(flake.dir),
      PLUGIN_CHECKS: 'build',
      PLUGIN_HOSTS: 'cc-ci',
      PLUGIN_LOG_LEVEL: 'silent',
      DRONE_CARD_PATH: `${flake.dir}/out/card.json`,
    });
    expect(run.code).toBe(1);
    const line =
      'settings differing from the claim: hosts=cc-ci, checks (1 of 7: without single-source, path-superset, entrypoint-parity, host-parity, propagation, no-drop)';
    expect(run.stdout).toContain(line);
    expect(JSON.parse(run.files['report.json']).deviations.map((d: { setting: string }) => d.setting)).toEqual([
      'hosts',
      'checks',
    ]);
    expect(run.files['junit.xml']).toContain(`<property name="deviations" value="${line}"/>`);
    expect(run.files['junit.xml']).toContain('<skipped message="not selected (checks setting)"/>');
    expect(run.files['summary.md']).toContain(line);
    expect(JSON.parse(run.files['card.json']).data.deviations).toBe(line);
    expect(run.files['drone-output.env']).toContain('NIXENV_VERIFY_DEVIATIONS=hosts,checks\n');
    expect(run.files['drone-output.env']).toContain(`NIXENV_VERIFY_DEVIATION_TEXT=${line}\n`);
  });

  test('the claim as stated: no deviation line anywhere', async () => {
    const run = await runFake(flake, { ...ALL_OUTPUTS(flake.dir), PLUGIN_LOG_LEVEL: 'silent' });
    for (const text of [run.stdout, ...Object.values(run.files)])
      expect(text).not.toContain('settings differing from the claim');
    expect(JSON.parse(run.files['report.json']).deviations).toEqual([]);
  });

  test('without a terminal the log on stderr is plain text', async () => {
    const run = await runFake(flake, { PLUGIN_CHECKS: 'build' });
    const lines = run.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) /);
    expect(run.stderr).not.toContain('\x1b[');
  });
});
