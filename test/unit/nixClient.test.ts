import {
  attrPath,
  createNixClient,
  gitEnvFor,
  nixString,
  parseNixVersion,
  versionAtLeast,
} from '../../src/nix/client.js';
import { NixCommandError } from '../../src/errors.js';
import { fakeRunner } from '../fakes/runner.js';

const client = async (version: string, respond: Parameters<typeof fakeRunner>[0] = () => ({})) => {
  const fake = fakeRunner((call) =>
    call.args[0] === '--version' ? { stdout: `nix (Nix) ${version}\n` } : respond(call),
  );
  const nix = await createNixClient({
    runner: fake.runner,
    flakeDir: '/repo',
    submodules: true,
    extraArgs: ['--option', 'cores', '2'],
    timeoutMs: 1000,
    skipPathLookup: true,
    env: {},
  });
  return { nix, calls: fake.calls };
};

describe('nix client', () => {
  test.each([
    ['nix (Nix) 2.8.0', '2.8.0'],
    ['nix (Nix) 2.24.10', '2.24.10'],
    ['nix (Determinate Nix 3.6.2) 2.29.0', '3.6.2'],
  ])('version %s', (text, v) => expect(parseNixVersion(text)).toBe(v));

  test.each([
    ['2.8.0', '2.13', false],
    ['2.13.0', '2.13', true],
    ['2.24.10', '2.15', true],
  ])('%s >= %s is %s', (a, b, want) => expect(versionAtLeast(a, b)).toBe(want));

  test('attribute paths quote host names with dashes; strings escape ${', () => {
    expect(attrPath('nixosConfigurations', 'cc-ci', 'pkgs', 'cc-ci-run')).toBe(
      'nixosConfigurations."cc-ci".pkgs."cc-ci-run"',
    );
    expect(nixString('a${b}"')).toBe('"a\\${b}\\""');
  });

  test("git may clone local submodules, without clobbering the caller's GIT_CONFIG entries", () => {
    expect(gitEnvFor({ GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'a.b', GIT_CONFIG_VALUE_0: 'c' })).toMatchObject({
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'a.b',
      GIT_CONFIG_KEY_1: 'protocol.file.allow',
      GIT_CONFIG_VALUE_1: 'always',
    });
  });

  test('Nix 2.8: bare .drv build, show-derivation; every call gets features and the user options', async () => {
    const { nix, calls } = await client('2.8.0', (call) =>
      call.args.includes('show-derivation')
        ? { stdout: '{"/nix/store/x.drv":{"env":{"text":"hi"}}}' }
        : { stdout: '[]' },
    );
    await nix.buildDrvs(['/nix/store/x.drv']);
    expect(await nix.derivationEnv('/nix/store/x.drv')).toEqual({ text: 'hi' });
    const build = calls.find((c) => c.args.includes('build'))!;
    expect(build.args).toEqual([
      '--extra-experimental-features',
      'nix-command flakes',
      'build',
      '--no-link',
      '--json',
      '-L',
      '/nix/store/x.drv',
      '--option',
      'cores',
      '2',
    ]);
    expect(calls.some((c) => c.args.includes('show-derivation'))).toBe(true);
  });

  test('Nix 2.24: drv^* and derivation show; newer JSON shape', async () => {
    const { nix, calls } = await client('2.24.10', (call) =>
      call.args.includes('derivation')
        ? { stdout: '{"derivations":{"x.drv":{"env":{"text":"hi"}}},"version":4}' }
        : { stdout: '[]' },
    );
    await nix.buildDrvs(['/nix/store/x.drv']);
    expect(await nix.derivationEnv('/nix/store/x.drv')).toEqual({ text: 'hi' });
    expect(calls.find((c) => c.args.includes('build'))!.args).toContain('/nix/store/x.drv^*');
    expect(calls.some((c) => c.args.join(' ').includes('derivation show'))).toBe(true);
  });

  test('flake refs use ?submodules=1 only for git repos; evaluations never write a lock file', async () => {
    const { nix, calls } = await client('2.8.0', () => ({ stdout: '"x"' }));
    expect(nix.flakeRef).toBe('/repo'); // /repo has no .git here
    await nix.evalJson('a');
    expect(calls.at(-1)!.args).toContain('--no-write-lock-file');
  });

  test('a failing nix is a NixCommandError with the decisive log lines', async () => {
    const { nix } = await client('2.8.0', () => ({
      exitCode: 1,
      stderr: "evaluating...\nerror: attribute 'cc-ci-run' missing\n",
    }));
    const err = await nix.evalJson('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NixCommandError);
    expect((err as NixCommandError).excerpt).toContain("error: attribute 'cc-ci-run' missing");
  });

  test('a timeout says so and names PLUGIN_TIMEOUT', async () => {
    const { nix } = await client('2.8.0', () => ({ exitCode: null, timedOut: true }));
    const err = (await nix.evalRaw('x').catch((e: unknown) => e)) as NixCommandError;
    expect(err.timedOut).toBe(true);
    expect(err.excerpt[0]).toContain('PLUGIN_TIMEOUT');
  });
});

describe('concurrency', () => {
  test('every nix process takes a slot: 8 hosts on 2 slots never run more than 2 at once, also through withFlakeDir', async () => {
    let running = 0;
    let peak = 0;
    const runner: Parameters<typeof createNixClient>[0]['runner'] = async (_cmd, args) => {
      if (args[0] === '--version')
        return { exitCode: 0, stdout: 'nix (Nix) 2.8.0', stderr: '', timedOut: false, durationMs: 1 };
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return { exitCode: 0, stdout: '"x"', stderr: '', timedOut: false, durationMs: 5 };
    };
    const nix = await createNixClient({
      runner,
      flakeDir: '/repo',
      submodules: true,
      extraArgs: [],
      timeoutMs: 1000,
      skipPathLookup: true,
      env: {},
      concurrency: 2,
    });
    const copy = await nix.withFlakeDir('/copy');
    await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => nix.evalJson(`h${i}`)),
      ...Array.from({ length: 4 }, (_, i) => copy.evalRaw(`c${i}`)),
    ]);
    expect(peak).toBe(2);
  });
});
