// A marker credential per route; every output (stdout, stderr at trace level in
// both log formats, JSON, JUnit, Markdown, card file, stdout card, DRONE_OUTPUT)
// is searched for it. The fake nix echoes its arguments and the environment's
// token in its error text, as a real nix error quoting a URL would.
import { redact, collectSecrets } from '../../src/redact.js';
import { ALL_OUTPUTS, makeFakeFlake, runFake, type FakeFlake } from '../helpers/fakeFlake.js';

let flake: FakeFlake;
beforeAll(() => {
  flake = makeFakeFlake();
});
afterAll(() => flake.cleanup());

const M = 'Zq9MARKERx7';

// [route, env, argv, exit code]
const ROUTES: [string, NodeJS.ProcessEnv, string[], number][] = [
  [
    'nix_options --option access-tokens',
    { PLUGIN_NIX_OPTIONS: JSON.stringify(['--option', 'access-tokens', `github.com=${M}`]) },
    [],
    1,
  ],
  [
    'nix_options --access-tokens',
    { PLUGIN_NIX_OPTIONS: JSON.stringify(['--access-tokens', `github.com=${M} gitlab.com=other${M}`]) },
    [],
    1,
  ],
  ['nix_options comma-joined', { PLUGIN_NIX_OPTIONS: `--option,access-tokens,github.com=${M}` }, [], 1],
  ['nix_config access-tokens', { PLUGIN_NIX_CONFIG: JSON.stringify({ 'access-tokens': `github.com=${M}` }) }, [], 1],
  [
    'nix_config builders ssh://user:pw@',
    { PLUGIN_NIX_CONFIG: JSON.stringify({ builders: `ssh://root:${M}@b x86_64-linux` }) },
    [],
    1,
  ],
  [
    'nix_options builders ssh-ng://user:pw@',
    { PLUGIN_NIX_OPTIONS: JSON.stringify(['--builders', `ssh-ng://u:${M}@b?ssh-key=/k x86_64-linux`]) },
    [],
    1,
  ],
  [
    'substituters https://user:pw@',
    { PLUGIN_NIX_OPTIONS: JSON.stringify(['--option', 'extra-substituters', `https://u:${M}@cache.example`]) },
    [],
    1,
  ],
  ['--nix-options flag', {}, ['--nix-options', JSON.stringify(['--option', 'access-tokens', `github.com=${M}`])], 1],
  ['--nix-config flag', {}, ['--nix-config', JSON.stringify({ 'access-tokens': `github.com=${M}` })], 1],
  ['a token-like environment variable', { GITHUB_TOKEN: M }, [], 1],
  ["Drone's clone password", { DRONE_NETRC_PASSWORD: M }, [], 1],
  [
    'NIX_CONFIG in the environment',
    { NIX_CONFIG: `substituters = https://cache.nixos.org\naccess-tokens = github.com=${M}` },
    [],
    1,
  ],
  [
    'malformed nix_options JSON (exit 2)',
    { PLUGIN_NIX_OPTIONS: `["--option","access-tokens","github.com=${M}"` },
    [],
    2,
  ],
  ['malformed nix_config JSON (exit 2)', { PLUGIN_NIX_CONFIG: `{"access-tokens": "github.com=${M}"` }, [], 2],
  [
    'a misspelt option before the token (exit 2)',
    { PLUGIN_NIX_OPTIONS: JSON.stringify(['--acess-tokens', `github.com=${M}`]) },
    [],
    2,
  ],
  ['a stray token as an option word (exit 2)', { PLUGIN_NIX_OPTIONS: JSON.stringify([`github.com=${M}`]) }, [], 2],
  [
    'a secret next to a bad value (exit 2)',
    { PLUGIN_NIX_OPTIONS: JSON.stringify(['--option', 'access-tokens', `github.com=${M}`, '--impure']) },
    [],
    2,
  ],
  [
    'an access token swallowing the next option (exit 2)',
    { PLUGIN_NIX_OPTIONS: JSON.stringify(['--option', 'builders', '--access-tokens', `github.com=${M}`]) },
    [],
    2,
  ],
  [
    'a builder password next to a bad setting (exit 2)',
    { PLUGIN_NIX_CONFIG: JSON.stringify({ builders: `ssh://r:${M}@b`, sandbox: false }) },
    [],
    2,
  ],
];

describe.each(['text', 'json'])('no output holds the marker (log_format %s, log_level trace)', (format) => {
  test.each(ROUTES)('%s', async (_route, env, argv, code) => {
    const run = await runFake(
      flake,
      {
        ...ALL_OUTPUTS(flake.dir),
        PLUGIN_CHECKS: 'build',
        PLUGIN_LOG_LEVEL: 'trace',
        PLUGIN_LOG_FORMAT: format,
        DRONE_CARD_PATH: `${flake.dir}/out/card.json`,
        ...env,
      },
      argv,
      (call) => ({
        exitCode: 1,
        stderr: `error: unable to download 'https://oauth2:${M}@github.com/x': HTTP 401 (token ${env.GITHUB_TOKEN ?? env.DRONE_NETRC_PASSWORD ?? ''}) ${env.NIX_CONFIG ?? ''}\nwhile running nix ${call.args.join(' ')}\n`,
      }),
    );
    expect(run.code).toBe(code);
    const outputs: Record<string, string> = { stdout: run.stdout, stderr: run.stderr, ...run.files };
    if (code === 1) {
      // The run reached every output, and nix's error (with the credentials) was read.
      expect(Object.keys(run.files).sort()).toEqual([
        'card.json',
        'drone-output.env',
        'junit.xml',
        'report.json',
        'summary.md',
      ]);
      expect(run.stderr).toContain('+ nix');
      expect(run.files['report.json']).toContain('unable to download');
      expect(run.files['report.json']).toContain('***');
    }
    for (const [name, text] of Object.entries(outputs)) expect([name, text.includes(M)]).toEqual([name, false]);
  });
});

test('the card on stdout (base64) is redacted too', async () => {
  const run = await runFake(
    flake,
    { GITHUB_TOKEN: M, PLUGIN_CHECKS: 'build', PLUGIN_LOG_LEVEL: 'silent', DRONE_CARD_PATH: '/dev/stdout' },
    [],
    () => ({ exitCode: 1, stderr: `error: token ${M} refused\n` }),
  );
  expect(run.stdoutCard).toBeDefined();
  expect(run.stdoutCard).toContain('***');
  expect(run.stdoutCard).not.toContain(M);
});

describe('redact', () => {
  test.each([
    [
      'a URL password, user and host kept',
      'ssh://root:pw1234@host x86_64-linux',
      [],
      'ssh://root:***@host x86_64-linux',
    ],
    [
      'an ssh-key path is not a secret',
      'ssh://root@host?ssh-key=/root/.ssh/id x86_64-linux',
      [],
      'ssh://root@host?ssh-key=/root/.ssh/id x86_64-linux',
    ],
    ['a GitHub token shape', 'Authorization: ghp_abcdefghijklmnopqrstuvwxyz0123', [], 'Authorization: ***'],
    ['the JSON-escaped form of a listed secret', '{"v":"a\\"b\\\\c"}', ['a"b\\c'], '{"v":"***"}'],
    ['longest first', 'abcdef123456', ['abcdef', 'abcdef123456'], '***'],
  ])('%s', (_n, text, secrets, want) => expect(redact(text, secrets)).toBe(want));

  test('access-tokens: the value and each token', () => {
    expect(
      collectSecrets({ PLUGIN_NIX_CONFIG: '{"access-tokens":"github.com=aaa111 gitlab.com=PAT:bbb222"}' }),
    ).toEqual(['github.com=aaa111 gitlab.com=PAT:bbb222', 'aaa111', 'PAT:bbb222']);
  });
  test('netrc-file is a path, not a secret; short or boolean env values are not secrets', () => {
    expect(
      collectSecrets({
        PLUGIN_NIX_OPTIONS: '["--option","netrc-file","/etc/nix/netrc"]',
        SOME_TOKEN: 'true',
        API_KEY: 'abc',
      }),
    ).toEqual([]);
  });
});
