import { helpText } from '../../src/help.js';
import {
  parseArgv,
  parseDuration,
  parseList,
  parseSettings,
  SETTINGS,
  envName,
  CLAIM_EXPECTED_TOOLS,
} from '../../src/settings.js';
import { SettingsError } from '../../src/errors.js';

const parse = (env: Record<string, string>, argv: string[] = []) =>
  parseSettings({ env, flags: parseArgv(argv).flags, cwd: '/work/repo' });

describe('Drone encodings', () => {
  test.each([
    ['a,b', ['a', 'b']],
    [' a , b ,', ['a', 'b']],
    ['["a","b"]', ['a', 'b']],
    ['single', ['single']],
  ])('list %j', (raw, want) => expect(parseList(raw)).toEqual(want));

  test.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['45', 45_000],
  ])('duration %s', (raw, ms) => expect(parseDuration(raw)).toBe(ms));

  test.each(['soon', '10 minutes', '5w', ''])('bad duration %j', (raw) => expect(() => parseDuration(raw)).toThrow());
});

describe('parseSettings', () => {
  test('defaults are the claim', () => {
    const s = parse({});
    expect(s.flake).toBe('/work/repo');
    expect(s.hosts).toEqual(['cc-ci', 'cc-ci-hetzner']);
    expect(s.mode).toBe('build');
    expect(s.submodules).toBe(true);
    expect(s.timeoutMs).toBe(30 * 60_000);
    expect(s.claim.shared.package).toBe('cc-ci-run');
    expect(s.claim.expectedTools.entries).toEqual(CLAIM_EXPECTED_TOOLS);
    expect(s.claim.expectedTools.entries).toHaveLength(15);
    expect(s.claim.hosts.map((h) => h.requiredPrograms)).toEqual([
      ['git-lfs', 'openssl'],
      ['git-lfs', 'openssl'],
    ]);
    expect(s.claim.hostConfig).toBe('nix/hosts/{host}/configuration.nix');
    expect(s.claim.hosts.map((h) => h.config)).toEqual([
      'nix/hosts/cc-ci/configuration.nix',
      'nix/hosts/cc-ci-hetzner/configuration.nix',
    ]);
    expect(s.checks).toContain('entrypoint-parity');
  });

  test('DRONE_WORKSPACE, then PLUGIN_FLAKE, then --flake', () => {
    expect(parse({ DRONE_WORKSPACE: '/drone/src' }).flake).toBe('/drone/src');
    expect(parse({ DRONE_WORKSPACE: '/drone/src', PLUGIN_FLAKE: 'sub' }).flake).toBe('/work/repo/sub');
    expect(parse({ PLUGIN_FLAKE: '/a' }, ['--flake', '/b']).flake).toBe('/b');
  });

  test.each([
    [{ PLUGIN_HOSTS: '["x","y"]' }, [], (s: ReturnType<typeof parse>) => expect(s.hosts).toEqual(['x', 'y'])],
    [{ PLUGIN_SUBMODULES: 'false' }, [], (s: ReturnType<typeof parse>) => expect(s.submodules).toBe(false)],
    [{}, ['--no-submodules'], (s: ReturnType<typeof parse>) => expect(s.submodules).toBe(false)],
    [
      { PLUGIN_NIX_OPTIONS: '["--option","builders","ssh://b x86_64-linux"]' },
      [],
      (s: ReturnType<typeof parse>) => expect(s.nixOptions).toEqual(['--option', 'builders', 'ssh://b x86_64-linux']),
    ],
    [{ PLUGIN_MODE: 'eval' }, ['--mode=build'], (s: ReturnType<typeof parse>) => expect(s.mode).toBe('build')],
    [
      {},
      ['--hosts', 'a,b', '--log-level', 'debug'],
      (s: ReturnType<typeof parse>) => expect([s.hosts, s.logLevel]).toEqual([['a', 'b'], 'debug']),
    ],
    [
      { PLUGIN_CHECKS: 'build,host-parity' },
      [],
      (s: ReturnType<typeof parse>) => expect(s.checks).toEqual(['build', 'host-parity']),
    ],
  ])('%j %j', (env, argv, assert) => assert(parse(env, argv)));

  test.each([
    [{ PLUGIN_MODE: 'fast' }, 'PLUGIN_MODE', 'one of build, eval'],
    [{ PLUGIN_SUBMODULES: 'maybe' }, 'PLUGIN_SUBMODULES', 'true or false'],
    [{ PLUGIN_CHECKS: 'build,colour' }, 'PLUGIN_CHECKS', 'build, single-source'],
    [{ PLUGIN_NIX_OPTIONS: '--option x' }, 'PLUGIN_NIX_OPTIONS', 'is not on the allow-list'],
    [{ PLUGIN_NIX_OPTIONS: '[1,2]' }, 'PLUGIN_NIX_OPTIONS', 'is not an option'],
    [{ PLUGIN_NIX_OPTIONS: '[{"a":1}]' }, 'PLUGIN_NIX_OPTIONS', 'JSON array of strings'],
    [{ PLUGIN_TIMEOUT: '0s' }, 'PLUGIN_TIMEOUT', 'from 1s to 24d'],
    [{ PLUGIN_CONCURRENCY: '-1' }, 'PLUGIN_CONCURRENCY', 'whole number from 0 to 256'],
    [{ PLUGIN_HOSTS: 'a b' }, 'PLUGIN_HOSTS', 'nixosConfigurations attribute names'],
    [{ PLUGIN_HOST_CONFIG: 'hosts.nix' }, 'PLUGIN_HOST_CONFIG', '{host}'],
    [{ PLUGIN_LOG_LEVEL: 'loud' }, 'PLUGIN_LOG_LEVEL', 'one of trace, debug, info'],
  ])('invalid %j names %s and what is allowed', (env, variable, allowed) => {
    let caught: unknown;
    try {
      parse(env);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SettingsError);
    expect((caught as Error).message).toContain(variable);
    expect((caught as Error).message).toContain(allowed);
  });

  test('every problem is reported at once', () => {
    expect(() => parse({ PLUGIN_MODE: 'x', PLUGIN_TIMEOUT: 'y' })).toThrow(/PLUGIN_MODE[\s\S]*PLUGIN_TIMEOUT/);
  });

  // Issue 19: passing checks are one line on the console unless --verbose (or log_level debug).
  test.each([
    [['--verbose'], true],
    [['--mode', 'eval'], false],
    [['--verbose', '--mode', 'eval'], true],
  ])('parseArgv %j: verbose %s', (argv, verbose) => {
    const args = parseArgv(argv);
    expect(args.verbose).toBe(verbose);
    expect(Object.keys(args.flags)).not.toContain('verbose');
  });

  test('unknown flags are rejected by name', () => {
    expect(() => parseArgv(['--colour', 'red'])).toThrow('unknown argument "--colour"');
  });

  test('--help lists every setting with its variable and default', () => {
    const help = helpText();
    for (const def of SETTINGS) expect(help).toContain(envName(def.name));
    expect(help).toContain('default: cc-ci,cc-ci-hetzner');
  });
});

describe('credentials in nix_options never reach a log', () => {
  test.each([
    ['["--option","access-tokens","github.com=ghp_abc123"]', ['github.com=ghp_abc123', 'ghp_abc123']],
    ['["--access-tokens","github.com=ghp_abc123","--option","cores","2"]', ['github.com=ghp_abc123', 'ghp_abc123']],
    ['["--option","builders","ssh://b x86_64-linux"]', []],
    ['["--option","builders","ssh://root:hunter22@b x86_64-linux"]', ['hunter22']],
    ['not json', []],
  ])('%s', async (raw, want) => {
    const { collectSecrets, redact } = await import('../../src/redact.js');
    expect(collectSecrets({ PLUGIN_NIX_OPTIONS: raw })).toEqual(want);
    for (const secret of want)
      expect(redact(`+ nix eval ${raw}`, collectSecrets({ PLUGIN_NIX_OPTIONS: raw }))).not.toContain(secret);
  });
});
