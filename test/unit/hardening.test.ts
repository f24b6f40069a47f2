// Hostile settings, paths and outputs: each exits 2 before nix runs, with a
// message naming the variable (or flag) and what is allowed, and no stack trace.
import { spawnSync } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { mainJs } from '../helpers/cli.js';
import { makeFakeFlake, runFake, type FakeFlake } from '../helpers/fakeFlake.js';

let flake: FakeFlake;
let server: net.Server;
beforeAll(async () => {
  flake = makeFakeFlake();
  server = net.createServer();
  await new Promise<void>((resolve) => server.listen(path.join(flake.dir, 'a-socket'), resolve));
  mkdirSync(path.join(flake.dir, 'reports'));
  execFileSync('mkfifo', [path.join(flake.dir, 'a-fifo')]);
  symlinkSync('/etc', path.join(flake.dir, 'etc-link'));
  symlinkSync('/dev/null', path.join(flake.dir, 'null-link'));
  writeFileSync(path.join(flake.dir, 'drone-output.env'), '');
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  flake.cleanup();
});

const opts = (v: unknown): NodeJS.ProcessEnv => ({ PLUGIN_NIX_OPTIONS: JSON.stringify(v) });
const cfg = (v: unknown): NodeJS.ProcessEnv => ({ PLUGIN_NIX_CONFIG: JSON.stringify(v) });
const ALLOWED = 'Allowed: --option NAME VALUE';

// [case, env, argv, fragments the message must hold]
const HOSTILE: [string, NodeJS.ProcessEnv, string[], string[]][] = [
  // nix_options that change what is evaluated, or where
  ['--impure', opts(['--impure']), [], ['PLUGIN_NIX_OPTIONS', '"--impure" is not allowed', ALLOWED]],
  [
    '--expr',
    opts(['--expr', '1']),
    [],
    ['PLUGIN_NIX_OPTIONS', '"--expr" is not allowed', 'replaces what nix evaluates'],
  ],
  ['--file', opts(['--file', 'x.nix']), [], ['PLUGIN_NIX_OPTIONS', '"--file"']],
  ['-f', opts(['-f', 'x.nix']), [], ['PLUGIN_NIX_OPTIONS', '"-f"']],
  ['--apply', opts(['--apply', 'x: x']), [], ['PLUGIN_NIX_OPTIONS', '"--apply"']],
  [
    '--override-input',
    opts(['--override-input', 'nixpkgs', 'github:x/y']),
    [],
    ['PLUGIN_NIX_OPTIONS', '"--override-input"', 'locked flake input'],
  ],
  ['--arg', opts(['--arg', 'a', '1']), [], ['PLUGIN_NIX_OPTIONS', '"--arg"']],
  ['--argstr', opts(['--argstr', 'a', 'b']), [], ['PLUGIN_NIX_OPTIONS', '"--argstr"']],
  ['--include', opts(['--include', 'nixpkgs=/x']), [], ['PLUGIN_NIX_OPTIONS', '"--include"']],
  ['-I', opts(['-I', 'nixpkgs=/x']), [], ['PLUGIN_NIX_OPTIONS', '"-I"']],
  [
    '--store',
    opts(['--store', '/tmp/s']),
    [],
    ['PLUGIN_NIX_OPTIONS', '"--store"', 'reads built outputs from /nix/store'],
  ],
  ['--eval-store', opts(['--eval-store', '/tmp/s']), [], ['PLUGIN_NIX_OPTIONS', '"--eval-store"']],
  ['--recreate-lock-file', opts(['--recreate-lock-file']), [], ['PLUGIN_NIX_OPTIONS', '"--recreate-lock-file"']],
  ['-L changes what we parse', opts(['-L']), [], ['PLUGIN_NIX_OPTIONS', '"-L"', 'output the verifier reads']],
  [
    '--option pure-eval false',
    opts(['--option', 'pure-eval', 'false']),
    [],
    ['PLUGIN_NIX_OPTIONS', 'nix setting "pure-eval" is not allowed'],
  ],
  [
    '--option allow-import-from-derivation',
    opts(['--option', 'allow-import-from-derivation', 'true']),
    [],
    ['PLUGIN_NIX_OPTIONS', '"allow-import-from-derivation"'],
  ],
  [
    '--option sandbox false',
    opts(['--option', 'sandbox', 'false']),
    [],
    ['PLUGIN_NIX_OPTIONS', '"sandbox"', 'unsandboxed'],
  ],
  [
    '--option post-build-hook',
    opts(['--option', 'post-build-hook', '/x']),
    [],
    ['PLUGIN_NIX_OPTIONS', '"post-build-hook"'],
  ],
  [
    '--option unknown',
    opts(['--option', 'frobnicate', '1']),
    [],
    ['PLUGIN_NIX_OPTIONS', '"frobnicate" is not on the allow-list', ALLOWED],
  ],
  [
    'an unknown option',
    opts(['--frobnicate']),
    [],
    ['PLUGIN_NIX_OPTIONS', '"--frobnicate" is not on the allow-list', ALLOWED],
  ],
  ['a stray word (not echoed)', opts(['hello']), [], ['PLUGIN_NIX_OPTIONS', 'item 1 (a value, not shown']],
  ['--option without a value', opts(['--option', 'builders']), [], ['PLUGIN_NIX_OPTIONS', '"builders" needs a value']],
  ['--option without a name', opts(['--option']), [], ['PLUGIN_NIX_OPTIONS', '"--option" needs a setting name']],
  [
    '--max-jobs not a number',
    opts(['--max-jobs', 'many']),
    [],
    ['PLUGIN_NIX_OPTIONS', 'max-jobs', 'whole number >= 0 or auto'],
  ],
  [
    '--cores swallowing an option',
    opts(['--cores', '--impure']),
    [],
    ['PLUGIN_NIX_OPTIONS', 'cores', 'did an option lose its value?'],
  ],
  [
    '--option builders swallowing an option',
    opts(['--option', 'builders', '--impure']),
    [],
    ['PLUGIN_NIX_OPTIONS', 'builders', 'did an option lose its value?'],
  ],
  ['--max-jobs=4', opts(['--max-jobs=4']), [], ['PLUGIN_NIX_OPTIONS', 'with "="']],
  [
    'a boolean with a bad value',
    opts(['--option', 'fallback', 'maybe']),
    [],
    ['PLUGIN_NIX_OPTIONS', 'fallback', 'true or false'],
  ],
  ['malformed JSON', { PLUGIN_NIX_OPTIONS: '["--option", ' }, [], ['PLUGIN_NIX_OPTIONS', 'not valid JSON']],
  ['the flag form', {}, ['--nix-options', '["--impure"]'], ['--nix-options', '"--impure" is not allowed']],
  // nix_config
  ['nix_config pure-eval', cfg({ 'pure-eval': false }), [], ['PLUGIN_NIX_CONFIG', '"pure-eval"']],
  ['nix_config store', cfg({ store: '/x' }), [], ['PLUGIN_NIX_CONFIG', '"store"', '/nix/store']],
  ['nix_config not a map', cfg(['a']), [], ['PLUGIN_NIX_CONFIG', 'expected a map of nix settings']],
  ['nix_config bad number', cfg({ 'max-jobs': 'lots' }), [], ['PLUGIN_NIX_CONFIG', 'max-jobs']],
  ['nix_config nested map', cfg({ builders: { a: 1 } }), [], ['PLUGIN_NIX_CONFIG', 'builders needs a value']],
  ['nix_config malformed', { PLUGIN_NIX_CONFIG: '{builders: x' }, [], ['PLUGIN_NIX_CONFIG', 'not valid JSON']],
  // repository paths
  ['nix_dir ../', { PLUGIN_NIX_DIR: '../other' }, [], ['PLUGIN_NIX_DIR', 'leaves the repository']],
  ['packages_file absolute', { PLUGIN_PACKAGES_FILE: '/etc/passwd' }, [], ['PLUGIN_PACKAGES_FILE', 'absolute path']],
  [
    'host_config escaping after normalising',
    { PLUGIN_HOST_CONFIG: 'nix/../../{host}.nix' },
    [],
    ['PLUGIN_HOST_CONFIG', 'leaves the repository'],
  ],
  ['drone_file ../', { PLUGIN_DRONE_FILE: 'a/../../b.yml' }, [], ['PLUGIN_DRONE_FILE', 'leaves the repository']],
  [
    'drone_script absolute (windows form)',
    { PLUGIN_DRONE_SCRIPT: 'C:\\x.py' },
    [],
    ['PLUGIN_DRONE_SCRIPT', 'absolute path'],
  ],
  ['sweep_file a FIFO', { PLUGIN_SWEEP_FILE: 'a-fifo' }, [], ['PLUGIN_SWEEP_FILE', 'is a FIFO']],
  ['nix_dir a socket', { PLUGIN_NIX_DIR: 'a-socket' }, [], ['PLUGIN_NIX_DIR', 'is a socket']],
  ['summary a socket', { PLUGIN_SUMMARY: 'a-socket' }, [], ['PLUGIN_SUMMARY', 'is a socket']],
  [
    'runner_file a symlink out of the repository',
    { PLUGIN_RUNNER_FILE: 'etc-link/passwd' },
    [],
    ['PLUGIN_RUNNER_FILE', 'leads out of the repository'],
  ],
  [
    'drone_script a symlink to a device',
    { PLUGIN_DRONE_SCRIPT: 'null-link' },
    [],
    ['PLUGIN_DRONE_SCRIPT', 'character device'],
  ],
  // outputs
  ['report a directory', { PLUGIN_REPORT: 'reports' }, [], ['PLUGIN_REPORT', 'is a directory']],
  [
    'report = junit',
    { PLUGIN_REPORT: 'out/a.xml', PLUGIN_JUNIT: 'out/a.xml' },
    [],
    ['PLUGIN_JUNIT', 'same file as PLUGIN_REPORT'],
  ],
  [
    'summary = DRONE_OUTPUT',
    { PLUGIN_SUMMARY: 'drone-output.env', DRONE_OUTPUT: 'drone-output.env' },
    [],
    ['PLUGIN_SUMMARY', 'same file as DRONE_OUTPUT'],
  ],
  ['report under /proc', { PLUGIN_REPORT: '/proc/self/status' }, [], ['PLUGIN_REPORT', 'under /proc']],
  ['report /dev/stdout', { PLUGIN_REPORT: '/dev/stdout' }, [], ['PLUGIN_REPORT', 'under /dev']],
  ['summary under a file', { PLUGIN_SUMMARY: 'flake.nix/x.md' }, [], ['PLUGIN_SUMMARY', 'is not a directory']],
  ['report over flake.nix', { PLUGIN_REPORT: 'flake.nix' }, [], ['PLUGIN_REPORT', 'would overwrite an input']],
  ['junit under nix_dir', { PLUGIN_JUNIT: 'nix/report.xml' }, [], ['PLUGIN_JUNIT', 'would overwrite an input']],
  ['report a FIFO', { PLUGIN_REPORT: 'a-fifo' }, [], ['PLUGIN_REPORT', 'is a FIFO']],
  // ranges
  ['timeout beyond Node timers', { PLUGIN_TIMEOUT: '25d' }, [], ['PLUGIN_TIMEOUT', 'longer than Node timers hold']],
  [
    'timeout in bare seconds beyond Node timers',
    { PLUGIN_TIMEOUT: '99999999999' },
    [],
    ['PLUGIN_TIMEOUT', '2^31-1 ms'],
  ],
  ['timeout below 1s', { PLUGIN_TIMEOUT: '500ms' }, [], ['PLUGIN_TIMEOUT', 'shorter than 1s']],
  ['concurrency 257', { PLUGIN_CONCURRENCY: '257' }, [], ['PLUGIN_CONCURRENCY', 'more than 256']],
  ['concurrency 1e3', { PLUGIN_CONCURRENCY: '1e3' }, [], ['PLUGIN_CONCURRENCY', 'whole number from 0 to 256']],
  // unknown, empty, null
  ['PLUGIN_HOST', { PLUGIN_HOST: 'cc-ci' }, [], ['PLUGIN_HOST is not a setting', 'did you mean hosts (PLUGIN_HOSTS)?']],
  ['PLUGIN_CHEKS', { PLUGIN_CHEKS: 'build' }, [], ['PLUGIN_CHEKS is not a setting', 'did you mean checks']],
  ['PLUGIN_DRY_RUN', { PLUGIN_DRY_RUN: 'true' }, [], ['PLUGIN_DRY_RUN (dry_run) is not a setting', 'mode: eval']],
  ['checks: [] as ""', { PLUGIN_CHECKS: '' }, [], ['PLUGIN_CHECKS', 'empty list']],
  ['checks: [] as JSON', { PLUGIN_CHECKS: '[]' }, [], ['PLUGIN_CHECKS', 'empty list']],
  ['hosts of commas only', { PLUGIN_HOSTS: ', ,' }, [], ['PLUGIN_HOSTS', 'the list is empty']],
  ['expected_tools []', { PLUGIN_EXPECTED_TOOLS: '[]' }, [], ['PLUGIN_EXPECTED_TOOLS', 'empty list']],
  ['report: (null)', { PLUGIN_REPORT: 'null' }, [], ['PLUGIN_REPORT', 'got null']],
  ['mode fast', { PLUGIN_MODE: 'fast' }, [], ['PLUGIN_MODE', 'one of build, eval']],
  ['log_format xml', { PLUGIN_LOG_FORMAT: 'xml' }, [], ['PLUGIN_LOG_FORMAT', 'one of text, json']],
  ['a misspelt flag', {}, ['--hots', 'a'], ['unknown argument "--hots"', 'did you mean --hosts?']],
  ['host "."', { PLUGIN_HOSTS: '.' }, [], ['PLUGIN_HOSTS', 'attribute names']],
];

describe('hostile settings exit 2 before nix runs, naming the variable', () => {
  test(`at least 40 cases (${HOSTILE.length})`, () => expect(HOSTILE.length).toBeGreaterThanOrEqual(40));

  test.each(HOSTILE)('%s', async (_name, env, argv, fragments) => {
    const run = await runFake(flake, env, argv);
    expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 2, stdout: '' });
    for (const f of fragments) expect(run.stderr).toContain(f);
    expect(run.stderr).toMatch(/^nixenv-verify: /);
    expect(run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
    expect(run.calls).toEqual([]);
  });
});

describe('allowed forms run', () => {
  test.each<[string, NodeJS.ProcessEnv, string[]]>([
    ['--option fallback true', opts(['--option', 'fallback', 'true']), ['--option', 'fallback', 'true']],
    ['--fallback true (nix reads it too)', opts(['--fallback', 'true']), ['--fallback']],
    ['--fallback false', opts(['--fallback', 'false']), ['--no-fallback']],
    ['--no-fallback', opts(['--no-fallback']), ['--no-fallback']],
    [
      '-j N, --cores N, --max-jobs auto',
      opts(['-j', '4', '--cores', '2', '--max-jobs', 'auto']),
      ['-j', '4', '--cores', '2', '--max-jobs', 'auto'],
    ],
    [
      'comma-joined (a YAML list through Drone)',
      { PLUGIN_NIX_OPTIONS: '--option,builders,ssh://b x86_64-linux,-k' },
      ['--option', 'builders', 'ssh://b x86_64-linux', '-k'],
    ],
    [
      'nix_config with a comma and a number',
      cfg({ builders: 'ssh://a x86_64-linux - 4 1 big-parallel,kvm', 'max-jobs': 0 }),
      ['--option', 'builders', 'ssh://a x86_64-linux - 4 1 big-parallel,kvm', '--option', 'max-jobs', '0'],
    ],
    [
      'nix_config booleans and lists',
      cfg({ fallback: true, substituters: ['https://a', 'https://b'] }),
      ['--option', 'fallback', 'true', '--option', 'substituters', 'https://a https://b'],
    ],
  ])('%s', async (_name, env, wanted) => {
    const run = await runFake(flake, { ...env, PLUGIN_CHECKS: 'build', PLUGIN_LOG_LEVEL: 'silent' });
    expect(run.code).toBe(1); // the fake nix fails the evaluation
    const evalCall = run.calls.find((c) => !c.args.includes('--version'))!;
    expect(evalCall.args.slice(-wanted.length)).toEqual(wanted);
  });
});

describe('through the built dist/main.js', () => {
  const run = (env: Record<string, string>) => {
    const clean: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env))
      if (!k.startsWith('PLUGIN_') && !k.startsWith('DRONE')) clean[k] = v;
    return spawnSync(process.execPath, [mainJs], {
      env: { ...clean, PLUGIN_FLAKE: flake.dir, ...env },
      cwd: flake.dir,
      encoding: 'utf8',
    });
  };
  test.each<[string, Record<string, string>, string]>([
    ['--impure', { PLUGIN_NIX_OPTIONS: '["--impure"]' }, '"--impure" is not allowed'],
    ['../ path', { PLUGIN_NIX_DIR: '../x' }, 'PLUGIN_NIX_DIR'],
    ['a typo', { PLUGIN_HOST: 'cc-ci' }, 'did you mean hosts'],
    ['report = junit', { PLUGIN_REPORT: 'o.json', PLUGIN_JUNIT: 'o.json' }, 'same file as PLUGIN_REPORT'],
  ])('%s', (_name, env, fragment) => {
    const res = run(env);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain(fragment);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  test('a malformed value holding a token: exit 2, the token nowhere', () => {
    const res = run({
      PLUGIN_NIX_OPTIONS: '["--option","access-tokens","github.com=ghp_Zq9distMARKER"',
      GITHUB_TOKEN: 'envMARKERvalue',
      PLUGIN_MODE: 'envMARKERvalue',
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('PLUGIN_NIX_OPTIONS');
    expect(res.stderr).toContain('PLUGIN_MODE: got "***"');
    expect(res.stdout + res.stderr).not.toMatch(/MARKER/);
  });
});
