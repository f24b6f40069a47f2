// Every nix call goes through here: flake refs, version differences
// (Nix 2.8 … 2.3x), git settings for submodules, timeouts, log excerpts.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { NixCommandError, PreflightError } from '../errors.js';
import type { CommandResult, CommandRunner } from './command.js';
import { createLimiter, memoize } from '../limit.js';
import { derivationClosure, readDerivation, type ParsedDerivation } from './drvFile.js';
import { logExcerpt, nixErrorMessage, remoteBuildHints } from './logExcerpt.js';
import { nixSettingSecrets } from '../redact.js';
import { readStoredLog } from './storedLog.js';
import { takeVersionProbe } from './versionProbe.js';

export interface BuildOutcome {
  ok: boolean;
  /** drvPath -> output name -> store path */
  outputs: { drvPath: string; outputs: Record<string, string> }[];
  /** stderr with build logs (-L), ANSI stripped by the consumer. */
  log: string;
  error?: NixCommandError;
}

export interface DerivationInfo {
  env: Record<string, string>;
  /** output name -> store path */
  outputs: Record<string, string>;
  inputDrvs: string[];
}

export interface NixClientOptions {
  runner: CommandRunner;
  flakeDir: string;
  submodules: boolean;
  extraArgs: readonly string[];
  timeoutMs: number;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Tests with a fake runner have no real nix on PATH to find. */
  skipPathLookup?: boolean;
  /** Known already (a client for a second directory): skips `nix --version`. */
  version?: Promise<string>;
  /**
   * Most nix processes at once (cores and memory, see effectiveConcurrency); shared by clients made with withFlakeDir.
   */
  concurrency?: number;
  /**
   * A commit to evaluate instead of the work tree (`git+file://…?ref=HEAD&rev=…`): the base revision when its
   * submodules must come from Nix.
   */
  rev?: string;
  /**
   * A command prefix every nix process runs under (pidJail): its own PID
   * namespace, so nothing it starts outlives it. Undefined: nix runs directly.
   */
  jail?: readonly string[];
  /** Submodule URLs accepted besides those relative to the repository's remote (settings submodule_urls). */
  submoduleUrls?: readonly string[];
  /** Internal: the slot queue shared with clients made by withFlakeDir. */
  limiter?: <T>(task: () => Promise<T>) => Promise<T>;
}

export interface NixClient {
  /** Detected once, in the background: the first evaluations do not wait for it. */
  readonly version: Promise<string>;
  readonly flakeRef: string;
  installable(attrPath: string): string;
  evalJson<T>(attrPath: string, apply?: string): Promise<T>;
  evalRaw(attrPath: string, apply?: string): Promise<string>;
  /** Builds store derivations (no evaluation); logs of the builders are kept. */
  buildDrvs(drvPaths: readonly string[]): Promise<BuildOutcome>;
  /** `nix path-info -r`: the closure of a built store path. */
  closure(storePath: string): Promise<string[]>;
  /** `nix path-info -r --derivation`: every .drv a derivation is built from (nothing is built). */
  drvClosure(drvPath: string): Promise<string[]>;
  /**
   * The stored build log of a path, or undefined when Nix has none: read from Nix's log file of `drvPath` when there is
   * one (storedLog.ts), else `nix log <storePath>`.
   */
  storedLog(storePath: string, drvPath?: string): Promise<string | undefined>;
  /** A derivation's environment (`nix show-derivation` / `nix derivation show`). */
  derivationEnv(drvPath: string): Promise<Record<string, string>>;
  /** A derivation's environment, output paths and input derivations. */
  derivation(drvPath: string): Promise<DerivationInfo>;
  /**
   * The store path of the flake's source as Nix sees it (`nix flake metadata`): submodules included, untracked files
   * not.
   */
  flakeSource(): Promise<{ path: string; narHash: string }>;
  /** What a reviewer should know about the work tree Nix reads: uncommitted changes, submodules at other commits. */
  readonly workTreeNotes: Promise<string[]>;
  /** The same client for another flake directory (e.g. a temporary copy). */
  withFlakeDir(dir: string): Promise<NixClient>;
}

interface RawDerivation {
  env?: Record<string, string>;
  outputs?: Record<string, { path?: string }>;
  inputDrvs?: Record<string, unknown>;
  inputs?: { drvs?: Record<string, unknown> };
}

const FEATURES = ['--extra-experimental-features', 'nix-command flakes'];

export function parseNixVersion(text: string): string {
  const m = /(\d+\.\d+(?:\.\d+)?)/.exec(text);
  if (!m) throw new PreflightError(`cannot read the nix version from ${JSON.stringify(text.trim())}`);
  return m[1];
}

export function versionAtLeast(version: string, wanted: string): boolean {
  const a = version.split('.').map(Number);
  const b = wanted.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** `nix eval` attribute path with quoted segments: `nixosConfigurations."cc-ci".pkgs."cc-ci-run"`. */
export function attrPath(...segments: string[]): string {
  return segments.map((s) => (/^[A-Za-z_][A-Za-z0-9_']*$/.test(s) ? s : JSON.stringify(s))).join('.');
}

/** A Nix string literal for any text (escapes `${`). */
export function nixString(text: string): string {
  return JSON.stringify(text).replace(/\$\{/g, '\\${');
}

/**
 * The environment a nix call needs: whether git may clone local (file://, path)
 * submodules (nix clones from .gitmodules URLs; see submodulePolicy), and git
 * settings of our own after the caller's (git reads GIT_CONFIG_KEY_n in order:
 * ours win).
 */
export function gitEnvFor(
  base: NodeJS.ProcessEnv,
  fileAllow: 'always' | 'user' = 'always',
  extra: readonly (readonly [string, string])[] = [],
): NodeJS.ProcessEnv {
  const count = Number(base.GIT_CONFIG_COUNT ?? '0') || 0;
  const entries: Record<string, string> = {};
  extra.forEach(([k, v], i) => {
    entries[`GIT_CONFIG_KEY_${count + 1 + i}`] = k;
    entries[`GIT_CONFIG_VALUE_${count + 1 + i}`] = v;
  });
  return {
    ...base,
    GIT_CONFIG_COUNT: String(count + 1 + extra.length),
    [`GIT_CONFIG_KEY_${count}`]: 'protocol.file.allow',
    [`GIT_CONFIG_VALUE_${count}`]: fileAllow,
    ...entries,
    // No interactive prompts for private submodules in CI: fail with a message instead.
    GIT_TERMINAL_PROMPT: '0',
    // Nix's git calls must not take optional locks (index refresh): the workspace is not ours to write.
    GIT_OPTIONAL_LOCKS: '0',
  };
}

/**
 * Nix settings whose value holds a credential (access-tokens, a URL password in
 * builders or substituters) leave argv, where any local user reads them in
 * /proc/PID/cmdline, and go to nix as nix.conf lines in NIX_CONFIG of the nix
 * process only (Nix >= 2.4 reads NIX_CONFIG after nix.conf, so the value wins
 * as `--option` did; `extra-` settings still append). Nix starts builders with
 * the derivation's environment only, so no build inherits it; a build user
 * cannot read root's /proc/PID/environ. Forms: `--option NAME VALUE`,
 * `--NAME VALUE`.
 */
export function secretArgsToConfig(args: readonly string[]): { args: string[]; config: string[] } {
  const out: string[] = [];
  const config: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i];
    const named =
      word === '--option'
        ? args[i + 1]
        : word.startsWith('--') && !word.startsWith('--no-')
          ? word.slice(2)
          : undefined;
    const value = word === '--option' ? args[i + 2] : args[i + 1];
    if (named !== undefined && value !== undefined && nixSettingSecrets(named, value).length > 0) {
      // One nix.conf line: builders' newline separators become `;`, which nix reads the same.
      config.push(`${named} = ${value.replace(/\s*[\r\n]+\s*/g, ' ; ')}`);
      i += word === '--option' ? 2 : 1;
      continue;
    }
    out.push(word);
  }
  return { args: out, config };
}

/**
 * The environment of a nix process: our own PLUGIN_* settings (they may hold credentials) are not passed on; secret
 * settings in NIX_CONFIG.
 */
export function nixProcessEnv(base: NodeJS.ProcessEnv, secretConfig: readonly string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!k.startsWith('PLUGIN_')) env[k] = v;
  if (secretConfig.length) env.NIX_CONFIG = [...(base.NIX_CONFIG ? [base.NIX_CONFIG] : []), ...secretConfig].join('\n');
  return env;
}

/**
 * The prefix that runs nix in a PID namespace of its own (util-linux):
 * `setpriv --pdeathsig KILL` makes `unshare` die with the verifier (even by
 * SIGKILL, or a SIGKILL of the verifier's whole process group), and `unshare
 * --pid --fork --kill-child` makes nix the namespace's init, whose death the
 * kernel turns into SIGKILL for every process in the namespace: a builder's
 * `setsid … &` daemon included. `--mount-proc` gives the namespace its own
 * /proc: nix writes its sandboxed builder's uid_map by pid, which must be the
 * pid of this namespace (without it: "writing to file: Operation not permitted"). Needs root (CAP_SYS_ADMIN) and the
 * three tools
 * (timeout is coreutils); otherwise undefined, and only the process groups stop
 * what nix started (see cleanup.ts).
 */
export function pidJail(
  env: NodeJS.ProcessEnv,
  uid: number = process.getuid?.() ?? -1,
  works: (jail: string[]) => boolean = jailWorks,
): string[] | undefined {
  if (uid !== 0 || env.NIXENV_VERIFY_NO_PID_NAMESPACE === '1') return undefined;
  if (!['setpriv', 'unshare', 'timeout'].every((t) => findOnPath(t, env.PATH))) return undefined;
  const jail = [
    'setpriv',
    '--pdeathsig',
    'KILL',
    '--',
    'unshare',
    '--pid',
    '--fork',
    '--kill-child',
    '--mount-proc',
    '--',
  ];
  // A container without CAP_SYS_ADMIN refuses the namespaces: then nix runs directly.
  return works(jail) ? jail : undefined;
}

/** One try of the jail around `true` (a few ms): the namespaces can be made here. */
function jailWorks(jail: string[]): boolean {
  const res = spawnSync(jail[0], [...jail.slice(1), 'true'], { stdio: 'ignore', timeout: 10_000 });
  return res.status === 0;
}

export interface SubmodulePolicy {
  fileAllow: 'always' | 'user';
  /** `url.<remote URL>.insteadOf <local path>` pairs for relative URLs (git config key, value). */
  gitConfig: [string, string][];
  /** `submodule NAME: URL …`, one per URL nix must not clone. */
  refused: string[];
}

const isLocalUrl = (url: string): boolean =>
  url.startsWith('/') ||
  url.startsWith('file:') ||
  url.startsWith('.') ||
  !/^[A-Za-z][A-Za-z0-9+.-]*:\/\/|^[^/:]+@[^/:]+:/.test(url);

/** A relative submodule URL joined to a base URL or path, as git does (each `../` drops one segment). */
export function joinRelativeUrl(base: string, rel: string): string {
  let b = base.replace(/\/+$/, '').replace(/\.git$/, '');
  let r = rel;
  let sep = '/';
  for (;;) {
    if (r.startsWith('./')) r = r.slice(2);
    else if (r.startsWith('../')) {
      r = r.slice(3);
      const cut = Math.max(b.lastIndexOf('/'), b.lastIndexOf(':'));
      // scp-like `host:path`: dropping the last segment before the colon keeps the colon as separator.
      sep = cut > 0 && b[cut] === ':' ? ':' : '/';
      b = cut > 0 ? b.slice(0, cut) : b;
    } else break;
  }
  return `${b}${sep}${r}`;
}

/**
 * Which .gitmodules URLs nix may clone (a clean tree with ?submodules=1 makes
 * nix run `git submodule update --init --recursive` on a copy whose origin is
 * the work tree: FACTS.md). Contract (gitmodules(5), git-submodule(1)): the
 * `submodule.<name>.url` entries of the work tree's .gitmodules; a URL is
 *   - relative (`./`, `../`): git resolves it against the superproject's
 *     origin, which nix sets to the local work tree. With a remote
 *     (`remote.origin.url`) the verifier maps it back to the repository's own
 *     remote (url.<remote>.insteadOf), so it never reaches a sibling on the
 *     host; without one it is refused unless checked out already (below).
 *   - in `submodule_urls` (exact, or a prefix ending in `/`): accepted.
 *   - fetched by the pipeline already (.git/modules/<name> exists and its
 *     `remote.origin.url` is this URL, also after `git submodule deinit`):
 *     what nix clones is on the host already, from that very URL.
 *   - anything else: refused (the run stops with that message).
 * `protocol.file.allow=always` only when an accepted URL is local; otherwise
 * git's `user` default keeps submodule clones off file:// and paths. Nested
 * submodules (of an accepted submodule) are cloned under the same protocol
 * rule, not checked URL by URL: documented as a limit.
 */
export async function submodulePolicy(
  runner: CommandRunner,
  flakeDir: string,
  env: NodeJS.ProcessEnv,
  allowList: readonly string[],
): Promise<SubmodulePolicy> {
  const policy: SubmodulePolicy = { fileAllow: 'user', gitConfig: [], refused: [] };
  // Nix clones submodules only of a git work tree (a `path:` copy has none to clone).
  if (!existsSync(path.join(flakeDir, '.gitmodules')) || !existsSync(path.join(flakeDir, '.git'))) return policy;
  const git = (args: string[]) => runner('git', ['-C', flakeDir, ...args], { env, timeoutMs: 60_000, label: 'git' });
  const pairs = async (args: string[]): Promise<Map<string, string>> => {
    const res = await git(['config', '--null', ...args, '--get-regexp', '^submodule\\..*\\.url$']);
    const out = new Map<string, string>();
    for (const rec of res.exitCode === 0 ? res.stdout.split('\0') : []) {
      const nl = rec.indexOf('\n');
      if (nl > 0) out.set(rec.slice('submodule.'.length, nl - '.url'.length), rec.slice(nl + 1));
    }
    return out;
  };
  // Read-only questions, asked at once (they are on the way to the first evaluation).
  const [declared, local, remote] = await Promise.all([
    pairs(['-f', '.gitmodules']),
    pairs(['--local']),
    git(['config', '--get', 'remote.origin.url']).then((r) => r.stdout.trim()),
  ]);
  const gitDir = path.join(flakeDir, '.git');
  for (const [name, url] of declared) {
    const allowed = allowList.some((a) => url === a || (a.endsWith('/') && url.startsWith(a)));
    const relative = url.startsWith('./') || url.startsWith('../');
    // Fetched by the pipeline already: the submodule's own git dir is in this work tree's .git, cloned from this URL.
    const moduleDir = path.join(gitDir, 'modules', name);
    const fetchedFrom = existsSync(moduleDir)
      ? (
          await runner('git', ['--git-dir', moduleDir, 'config', '--get', 'remote.origin.url'], {
            env,
            timeoutMs: 60_000,
            label: 'git',
          })
        ).stdout.trim()
      : local.get(name);
    const checkedOut =
      existsSync(moduleDir) &&
      fetchedFrom !== undefined &&
      (fetchedFrom === url || (relative && fetchedFrom === joinRelativeUrl(flakeDir, url)));
    if (relative && remote !== '' && !allowed) {
      const mapped = joinRelativeUrl(remote, url);
      policy.gitConfig.push([`url.${mapped}.insteadOf`, joinRelativeUrl(flakeDir, url)]);
      if (isLocalUrl(mapped)) policy.fileAllow = 'always';
      continue;
    }
    if (allowed || checkedOut) {
      if (isLocalUrl(url)) policy.fileAllow = 'always';
      continue;
    }
    policy.refused.push(
      `submodule ${name}: URL ${url} is not relative to the repository's own remote${remote ? '' : ' (it has none)'}, not in submodule_urls and not checked out by the pipeline`,
    );
  }
  return policy;
}

/**
 * `timeout` is the namespace's init, which cannot re-raise the signal that
 * killed nix on itself: it exits 128+signo instead, and unshare passes that on.
 * Read back as "killed by a signal", as without the jail.
 */
export function fromJail(res: CommandResult): CommandResult {
  const code = res.exitCode ?? 0;
  if (res.timedOut || code <= 128 || code > 128 + 64) return res;
  const name = Object.entries(os.constants.signals).find(([, n]) => n === code - 128)?.[0];
  return name ? { ...res, exitCode: null, signal: name } : res;
}

/** The executable `name` on a PATH, like `command -v`. */
export function findOnPath(name: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(':')) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Paths Nix takes as they are in a flake reference (anything else breaks its URL parser). */
const PLAIN_PATH = /^[A-Za-z0-9._/+@,=~-]+$/;

/**
 * The flake reference of a directory: the path itself (Nix reads a git work tree as it is,
 * uncommitted edits included). A path with spaces, `#`, `?`, `%` or non-ASCII letters is not
 * a valid URL to Nix, and Nix 2.8 only takes it as a percent-encoded `git+file://` URL that
 * names a commit (`rev`): such a checkout is verified at its HEAD commit, which must then be
 * the whole tree (see gitHeadFor).
 */
export function flakeRefFor(flakeDir: string, submodules: boolean, head?: string): string {
  const isGit = existsSync(path.join(flakeDir, '.git'));
  if (PLAIN_PATH.test(flakeDir) && !head) return isGit && submodules ? `${flakeDir}?submodules=1` : flakeDir;
  const encoded = path.resolve(flakeDir).split('/').map(encodeURIComponent).join('/');
  if (!isGit) return `path:${encoded}`;
  const query = [...(head ? [`ref=HEAD`, `rev=${head}`] : []), ...(submodules ? ['submodules=1'] : [])].join('&');
  return `git+file://${encoded}${query ? `?${query}` : ''}`;
}

/**
 * The commit to name in the flake URL, when the work tree cannot be given to Nix as it is:
 * its path needs a URL (see flakeRefFor), or a submodule is not checked out (a Drone clone
 * does not fetch them; Nix >= 2.2x then looks for it in the empty work-tree directory, where
 * a commit makes Nix fetch it from its .gitmodules URL). Either way the work tree must be
 * clean, or Nix would verify something other than what is on disk.
 */
async function gitHeadFor(
  runner: CommandRunner,
  flakeDir: string,
  env: NodeJS.ProcessEnv,
  submodules: boolean,
): Promise<string | undefined> {
  if (!existsSync(path.join(flakeDir, '.git'))) return undefined;
  const plain = PLAIN_PATH.test(flakeDir);
  const git = (args: string[]) => runner('git', ['-C', flakeDir, ...args], { env, timeoutMs: 60_000, label: 'git' });
  let uninitialised: string[] = [];
  if (submodules && existsSync(path.join(flakeDir, '.gitmodules'))) {
    const status = await git(['submodule', 'status']);
    // A leading `-`: the submodule is not initialised in this work tree.
    if (status.exitCode === 0)
      uninitialised = status.stdout
        .split('\n')
        .filter((l) => l.startsWith('-'))
        .map((l) => l.trim().split(/\s+/)[1] ?? '?');
  }
  if (plain && uninitialised.length === 0) return undefined;
  const head = await git(['rev-parse', 'HEAD']);
  if (head.exitCode !== 0) throw new PreflightError(`${flakeDir}: git rev-parse HEAD failed: ${head.stderr.trim()}`);
  const status = await git(['status', '--porcelain', '--untracked-files=no', '--ignore-submodules=all']);
  if (status.exitCode === 0 && status.stdout.trim() !== '') {
    const why = plain
      ? `submodule ${uninitialised.join(', ')} is not checked out (run \`git submodule update --init\`, or clone recursively)`
      : 'its path has characters (space, #, ?, % or non-ASCII) that Nix only accepts in a URL naming a commit';
    throw new PreflightError(
      `${flakeDir}: ${why}, and the work tree has uncommitted changes Nix would not see; commit them, or verify a complete checkout`,
    );
  }
  return head.stdout.trim();
}

async function detectVersion(runner: CommandRunner, env: NodeJS.ProcessEnv): Promise<string> {
  const result = await (takeVersionProbe(runner, env) ??
    runner('nix', ['--version'], { env, timeoutMs: 60_000, label: 'nix --version' }));
  if (result.exitCode !== 0) {
    const why = result.timedOut ? 'no answer within 60s' : `exit ${result.exitCode ?? 'signal'}`;
    throw new PreflightError(
      `nix --version failed (${why}):\n${logExcerpt(`${result.stderr}\n${result.stdout}`).join('\n')}`,
    );
  }
  const version = parseNixVersion(result.stdout);
  if (!versionAtLeast(version, MIN_NIX)) {
    throw new PreflightError(
      `nix ${version} found (${JSON.stringify(result.stdout.trim())}): nixenv-verify needs Nix >= ${MIN_NIX}, which has flakes and the nix command ` +
        `(experimental features nix-command flakes); install a newer Nix (Debian 12+: apt-get install nix-bin) or use the cc-ci/nixenv-verify image`,
    );
  }
  return version;
}

/**
 * Uncommitted tracked changes and submodules checked out at another commit than the one recorded: Nix verifies them as
 * they are.
 */
async function notesOnWorkTree(runner: CommandRunner, flakeDir: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  if (!existsSync(path.join(flakeDir, '.git'))) return [];
  const git = (args: string[]) => runner('git', ['-C', flakeDir, ...args], { env, timeoutMs: 60_000, label: 'git' });
  const notes: string[] = [];
  const status = await git(['status', '--porcelain', '--untracked-files=no', '--ignore-submodules=all']);
  const changed = status.exitCode === 0 ? status.stdout.split('\n').filter((l) => l.trim() !== '') : [];
  if (changed.length) {
    notes.push(
      `the work tree has uncommitted changes to ${changed.length} tracked file(s) (${changed
        .slice(0, 5)
        .map((l) => l.slice(3))
        .join(', ')}${changed.length > 5 ? ', …' : ''}): they are verified as on disk, not the commit`,
    );
  }
  if (existsSync(path.join(flakeDir, '.gitmodules'))) {
    const sub = await git(['submodule', 'status']);
    for (const l of sub.exitCode === 0 ? sub.stdout.split('\n') : []) {
      // `+`: checked out at another commit than the superproject records.
      if (l.startsWith('+'))
        notes.push(
          `submodule ${l.trim().split(/\s+/)[1]} is checked out at ${l.slice(1, 13)}, not at the commit the repository records: a recursive clone of this commit would see other files`,
        );
    }
  }
  return notes;
}

export async function createNixClient(options: NixClientOptions): Promise<NixClient> {
  const { runner, logger } = options;
  const secretsMoved = secretArgsToConfig(options.extraArgs);
  const extraArgs = secretsMoved.args;
  const baseEnv = nixProcessEnv(options.env ?? process.env, secretsMoved.config);
  // The work tree's commit and state (read-only git, no setting of nix's needed): read beside the submodule policy,
  // each git question asked once (gitHeadFor and notesOnWorkTree both ask `git submodule status`).
  const treeEnv = gitEnvFor(baseEnv);
  const asked = new Map<string, Promise<CommandResult>>();
  const gitOnce: CommandRunner = (cmd, args, opts) => {
    const key = JSON.stringify([cmd, args]);
    if (!asked.has(key)) asked.set(key, runner(cmd, args, opts));
    return asked.get(key)!;
  };
  const headRead = options.rev
    ? Promise.resolve(options.rev)
    : gitHeadFor(gitOnce, options.flakeDir, treeEnv, options.submodules);
  headRead.catch(() => undefined); // awaited below, after the checks that come first
  // Submodule URLs nix may clone (only when it clones them: submodules on).
  const policy =
    options.submodules && !options.skipPathLookup
      ? await submodulePolicy(runner, options.flakeDir, baseEnv, options.submoduleUrls ?? [])
      : undefined;
  if (policy?.refused.length)
    throw new PreflightError(`cannot follow the repository's submodules: ${policy.refused.join('; ')}`);
  const env = gitEnvFor(baseEnv, policy ? policy.fileAllow : 'always', policy?.gitConfig ?? []);
  if (!options.version && !options.skipPathLookup && !findOnPath('nix', env.PATH)) {
    throw new PreflightError(
      `nix not found on PATH (${env.PATH ?? ''}): install Nix (Debian: apt-get install --no-install-recommends nix-bin, or scripts/setup-nix.sh) or use the cc-ci/nixenv-verify image`,
    );
  }
  // One queue for every nix process of the run: 8 hosts on 2 cores never start 8 evaluations at once.
  const limiter = options.limiter ?? createLimiter(Math.max(1, options.concurrency ?? 1));
  const version = options.version ?? limiter(() => detectVersion(runner, env));
  version.catch(() => undefined); // awaited by verify(); no unhandled rejection meanwhile
  const head = await headRead;
  const flakeRef = flakeRefFor(options.flakeDir, options.submodules, head);
  const workTreeNotes =
    head || options.version ? Promise.resolve([]) : notesOnWorkTree(gitOnce, options.flakeDir, treeEnv);
  workTreeNotes.catch(() => undefined);
  // Nix >= 2.15 wants `drv^*` to build a derivation's outputs; 2.8 builds them from the bare path.
  const drvInstallable = async (d: string) => (versionAtLeast(await version, '2.13') ? `${d}^*` : d);
  const showDerivation = async () =>
    versionAtLeast(await version, '2.15') ? ['derivation', 'show'] : ['show-derivation'];

  async function nix(args: string[], { allowFailure = false } = {}): Promise<CommandResult> {
    const full = [...FEATURES, ...args, ...extraArgs];
    const label = `nix ${args.filter((a) => !a.startsWith('-'))[0] ?? ''}`;
    const result = await limiter(async () => {
      logger?.debug({ cmd: ['nix', ...full].join(' ') }, `+ nix ${full.join(' ')}`);
      if (options.jail?.length) {
        // The watchdog inside the namespace stops nix at the deadline even when the verifier is stopped (SIGSTOP).
        const watchdog = ['timeout', '-k', '5', `${Math.ceil(options.timeoutMs / 1000) + 10}s`];
        const res = await runner(options.jail[0], [...options.jail.slice(1), ...watchdog, 'nix', ...full], {
          env,
          cwd: options.flakeDir,
          timeoutMs: options.timeoutMs,
          label,
        });
        return fromJail(res);
      }
      return runner('nix', full, { env, cwd: options.flakeDir, timeoutMs: options.timeoutMs, label });
    });
    logger?.debug({ exitCode: result.exitCode, ms: result.durationMs }, `nix ${args[0]} finished`);
    if (result.exitCode !== 0 && !allowFailure) throw commandError(full, result);
    return result;
  }

  function commandError(full: string[], result: CommandResult): NixCommandError {
    const shown = `nix ${full
      .filter((a) => !FEATURES.includes(a))
      // The --apply expression is ours and long; the reviewer needs the nix error, not it.
      .map((a, i, all) => (all[i - 1] === '--apply' ? '<facts expression>' : a))
      .join(' ')}`;
    const excerpt = result.timedOut
      ? [
          `error: timed out after ${formatSeconds(options.timeoutMs)} (PLUGIN_TIMEOUT); the nix process group was stopped`,
          ...logExcerpt(result.stderr, { max: 10 }),
        ]
      : result.exitCode === null
        ? [`error: nix was killed by ${result.signal ?? 'a signal'}`, ...logExcerpt(result.stderr, { max: 10 })]
        : messageFirst(
            logExcerpt(result.stderr).filter((l) => !/^\s*(at «|… while|\d+\||…\s*$)/.test(l) || /error/.test(l)),
            nixErrorMessage(result.stderr),
          );
    const hints = [
      submoduleHint(result.stderr),
      ifdHint(result.stderr),
      ...remoteBuildHints(result.stderr, env),
    ].filter((h): h is string => h !== undefined);
    return new NixCommandError(shown, result.exitCode, [...excerpt, ...hints], result.timedOut);
  }

  /** Eval mode sets allow-import-from-derivation = false: an evaluation that needs a build says so. */
  function ifdHint(stderr: string): string | undefined {
    if (!/allow-import-from-derivation/.test(stderr)) return undefined;
    return 'eval mode builds nothing: this evaluation needs import-from-derivation (a derivation built during evaluation), which eval mode does not allow; use mode: build';
  }

  /** A missing file in a repository with submodules, read without them: say which setting brings them in. */
  function submoduleHint(stderr: string): string | undefined {
    // 2.8: "No such file or directory"; 2.2x: "does not exist"; 2.3x: "… is not tracked by Git".
    if (options.submodules || !/No such file or directory|does not exist|is not tracked by Git/.test(stderr))
      return undefined;
    if (!existsSync(path.join(options.flakeDir, '.gitmodules'))) return undefined;
    return 'hint: this repository has git submodules and PLUGIN_SUBMODULES=false leaves them out of the flake';
  }

  // No eval cache: every run evaluates afresh, and Nix 2.8's SQLite cache answers "attribute … unexpectedly
  // missing" when several evaluations of one flake run at once (the hosts of the propagation copy).
  const flakeArgs = ['--no-write-lock-file', '--option', 'eval-cache', 'false'];
  // Hosts often share these (one system-path, one sweep derivation): ask nix once per path.
  const closures = memoize(async (p: string) =>
    (await nix(['path-info', '-r', p])).stdout.split('\n').filter((l) => l !== ''),
  );
  // Derivations are read from their files in /nix/store (drvFile.ts); nix is asked only for one not readable there.
  // Closures keep only the inputs of each derivation read (a system's closure has thousands, some with large env).
  const inputsOf = new Map<string, Pick<ParsedDerivation, 'inputDrvs' | 'inputSrcs'> | undefined>();
  const localInputs = (p: string): Pick<ParsedDerivation, 'inputDrvs' | 'inputSrcs'> | undefined => {
    if (!inputsOf.has(p)) {
      const d = readDerivation(p);
      inputsOf.set(p, d && { inputDrvs: d.inputDrvs, inputSrcs: d.inputSrcs });
    }
    return inputsOf.get(p);
  };
  const drvClosures = memoize(
    async (p: string) =>
      derivationClosure(p, localInputs) ??
      (await nix(['path-info', '-r', '--derivation', p])).stdout.split('\n').filter((l) => l !== ''),
  );
  const nixLogs = memoize(async (p: string) => {
    const res = await nix(['log', p], { allowFailure: true });
    return res.exitCode === 0 && res.stdout.trim() !== '' ? res.stdout : undefined;
  });
  // The log file is read only for a derivation that has this path as an output: a config's own `drvPath` attribute
  // cannot point the check at another derivation's log.
  const storedLogs = async (p: string, drvPath?: string): Promise<string | undefined> => {
    const builds = drvPath !== undefined && Object.values(readDerivation(drvPath)?.outputs ?? {}).includes(p);
    const local = builds ? readStoredLog(drvPath) : undefined;
    // A file that is there is Nix's answer, even empty (`nix log` prints it and asks no substituter).
    if (local !== undefined) return local.trim() !== '' ? local : undefined;
    return nixLogs(p);
  };
  const derivationEnvs = memoize(async (drvPath: string): Promise<DerivationInfo> => {
    const local = readDerivation(drvPath);
    // Structured attributes: newer Nix shows them apart from env; nix answers for those.
    if (local && !('__json' in local.env))
      return { env: local.env, outputs: local.outputs, inputDrvs: local.inputDrvs };
    const show = await showDerivation();
    const res = await nix([...show, drvPath]);
    const parsed = parseNixJson<Record<string, unknown>>(res.stdout, `nix ${show.join(' ')} ${drvPath}`);
    if (!parsed || typeof parsed !== 'object')
      throw new NixOutputError(`nix ${show.join(' ')} ${drvPath}`, ['error: nix printed JSON that is not an object']);
    // 2.8–2.2x: { "/nix/store/x.drv": {...} }; newer: { derivations: { "x.drv": {...} }, version }.
    const table = (parsed.derivations ?? parsed) as Record<string, RawDerivation>;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the JSON shape, stated once
    const entry = Object.values(table).find((d) => d && typeof d === 'object' && 'env' in d) as
      RawDerivation | undefined;
    if (!entry?.env)
      throw new NixCommandError(`nix ${show.join(' ')} ${drvPath}`, 0, ['no derivation environment in the output']);
    // 2.8: outputs.out.path is absolute, inputDrvs keyed by absolute path; newer: store-relative names.
    const abs = (p: string): string => (p.startsWith('/') ? p : `/nix/store/${p}`);
    const outputs: Record<string, string> = {};
    for (const [name, o] of Object.entries(entry.outputs ?? {})) if (o?.path) outputs[name] = abs(o.path);
    // 2.8-2.3x: inputDrvs; derivation JSON v4 (2.34): inputs.drvs.
    return { env: entry.env, outputs, inputDrvs: Object.keys(entry.inputDrvs ?? entry.inputs?.drvs ?? {}).map(abs) };
  });
  const flakeSource = memoize(async () => {
    const res = await nix(['flake', 'metadata', '--json', ...flakeArgs, flakeRef]);
    const meta = JSON.parse(res.stdout) as { path?: string; locked?: { narHash?: string } };
    if (!meta.path)
      throw new NixCommandError(`nix flake metadata --json ${flakeRef}`, 0, ['no source path in the output']);
    return { path: meta.path, narHash: meta.locked?.narHash ?? '' };
  });

  return {
    version,
    flakeRef,
    installable: (p) => `${flakeRef}#${p}`,
    async evalJson<T>(p: string, apply?: string): Promise<T> {
      const res = await nix(['eval', '--json', ...flakeArgs, `${flakeRef}#${p}`, ...(apply ? ['--apply', apply] : [])]);
      return parseNixJson<T>(res.stdout, `nix eval --json ${flakeRef}#${p}`);
    },
    async evalRaw(p: string, apply?: string): Promise<string> {
      const res = await nix(['eval', '--raw', ...flakeArgs, `${flakeRef}#${p}`, ...(apply ? ['--apply', apply] : [])]);
      return res.stdout;
    },
    async buildDrvs(drvPaths) {
      const full = ['build', '--no-link', '--json', '-L', ...(await Promise.all(drvPaths.map(drvInstallable)))];
      const res = await nix(full, { allowFailure: true });
      if (res.exitCode !== 0) {
        return {
          ok: false,
          outputs: [],
          log: res.stderr,
          error: commandError([...FEATURES, ...full, ...extraArgs], res),
        };
      }
      return {
        ok: true,
        outputs: parseNixJson(res.stdout || '[]', `nix build --json ${drvPaths.join(' ')}`),
        log: res.stderr,
      };
    },
    closure: closures,
    drvClosure: drvClosures,
    storedLog: storedLogs,
    derivationEnv: async (d) => (await derivationEnvs(d)).env,
    derivation: derivationEnvs,
    flakeSource: () => flakeSource(''),
    workTreeNotes,
    withFlakeDir: (dir) => createNixClient({ ...options, flakeDir: dir, version, limiter }),
  };
}

/** The oldest Nix with flakes and the `nix` command (as experimental features). */
export const MIN_NIX = '2.4';

/** `90s`, `1.5s`: a timeout as the reviewer set it. */
function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
}

/**
 * The excerpt with the real error message first. Newer Nix prints a bare
 * `error:` and the message after the trace: that bare line becomes
 * `error: <message>` and the message's own (indented) line is dropped.
 */
export function messageFirst(excerpt: readonly string[], message: string | undefined): string[] {
  const bare = excerpt.findIndex((l) => /^\s*error:\s*$/.test(l));
  if (bare < 0 || !message) return [...excerpt];
  const rest = excerpt.filter((l, i) => i !== bare && l.trim() !== `error: ${message}` && l.trim() !== message);
  return [...rest.slice(0, bare), `error: ${message}`, ...rest.slice(bare)];
}

/** JSON from nix, or a NixCommandError naming the command and what was printed instead (no JS stack). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape
export function parseNixJson<T>(stdout: string, command: string): T {
  try {
    return JSON.parse(stdout) as T;
  } catch {
    const shown = stdout.trim().replace(/\s+/g, ' ');
    const head = shown === '' ? '(nothing)' : `${shown.slice(0, 120)}${shown.length > 120 ? '…' : ''}`;
    throw new NixOutputError(command, [`error: nix printed something that is not JSON: ${head}`]);
  }
}

/** Nix exited 0 but its output cannot be read (not JSON, truncated, empty). */
export class NixOutputError extends NixCommandError {
  constructor(command: string, excerpt: string[]) {
    super(command, 0, excerpt);
    this.name = 'NixOutputError';
  }
}

/**
 * True when nix gave no answer about the flake: it timed out, was killed by a
 * signal (crash, OOM killer), or printed output that cannot be read. A check
 * should then be `error` (cannot verify), not `fail` (the flake is wrong).
 */
export function nixGaveNoAnswer(err: unknown): boolean {
  return err instanceof NixCommandError && (err.timedOut || err.exitCode === null || err instanceof NixOutputError);
}

/** One entry of `nix path-info --json`. */
export interface PathInfo {
  path: string;
  deriver?: string | null;
  narSize?: number;
  references?: string[];
  [key: string]: unknown;
}

/**
 * `nix path-info --json` in either shape: a list of `{path, …}` (Nix < 2.19)
 * or an object keyed by store path (2.19+; 2.34 adds `version`).
 */
export function pathInfoEntries(json: unknown): PathInfo[] {
  if (Array.isArray(json)) return json as PathInfo[];
  if (json && typeof json === 'object') {
    return Object.entries(json as Record<string, unknown>)
      .filter(([, v]) => v && typeof v === 'object')
      .map(([p, v]) => ({ ...(v as Record<string, unknown>), path: p }));
  }
  return [];
}
