// How the repository's builds are kept away from the verifier.
//
// Contract (nix.conf(5) of Nix 2.8 … 2.34, FACTS.md): a build's builder runs
//   - through a nix-daemon (NIX_REMOTE=daemon, or the "auto" store finding
//     /nix/var/nix/daemon-socket/socket): as the daemon's build users, under the
//     daemon's own sandbox setting. The verifier cannot change that policy and
//     trusts the host's daemon.
//   - in a local store as root: as a member of `build-users-group` when that
//     setting names a group with members (getgrnam(3) `gr_mem`), else as root;
//     in its own namespaces (mount, PID, network, IPC, UTS) when `sandbox =
//     true`, seeing only the store and `sandbox-paths`.
//   - in a local store as another uid (single-user install): as that uid, no
//     build users.
// Inputs read here: NIX_REMOTE, the daemon socket's existence, the effective uid,
// and the group file /etc/group (only the files NSS source: a group served by
// LDAP or sssd is not seen, which gives "unsandboxed", never a false "sandbox").
//
// What the verifier does with it:
//   - daemon: nothing to add.
//   - root with a build group that has members: every nix call gets
//     `--option build-users-group <group> --option sandbox true --option
//     sandbox-paths <host dirs>`: the builder runs as nixbld<N> in the sandbox.
//     Builders of this project's fixtures (and of cc-ci's fake packages) run the
//     host's /bin/sh and coreutils, so the host's /bin, /usr, /lib* are mounted
//     into the sandbox; the build user cannot write them (they belong to root,
//     which is not mapped into the build user's namespace). Without a build user
//     the sandbox maps root to the builder, which could then write those host
//     directories: that is why the sandbox is only used with build users.
//   - root with build users where namespaces cannot be made (an unprivileged
//     container, probed with `unshare --pid --fork --mount true`): build users
//     without the sandbox (`--option sandbox false`): never root, but a builder
//     sees the host's world-readable files and /tmp.
//   - otherwise: builds run as the verifier's own uid without a sandbox
//     ("unsandboxed"): a build can signal, trace or rewrite the verifier. The
//     verdict is then untrusted (see untrustedBuild) unless the pipeline accepts
//     it with allow_unsandboxed_build.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export const DAEMON_SOCKET = '/nix/var/nix/daemon-socket/socket';
/** The group Debian's nix-setup-systemd and NixOS create; NIXENV_VERIFY_BUILD_GROUP names another (tests). */
export const BUILD_GROUP_DEFAULT = 'nixbld';
/** Host directories a /bin/sh builder needs (interpreter, coreutils, their libraries), when they exist. */
export const HOST_SANDBOX_PATHS = ['/bin', '/usr', '/lib', '/lib64', '/lib32', '/libx32', '/sbin'];

export type BuildIsolation =
  | { kind: 'daemon'; description: string; args: readonly string[] }
  | { kind: 'sandbox'; description: string; args: readonly string[]; group: string }
  | { kind: 'build-users'; description: string; args: readonly string[]; group: string }
  | { kind: 'unsandboxed'; description: string; args: readonly string[] };

export interface IsolationProbe {
  uid: number;
  exists: (p: string) => boolean;
  /** The text of /etc/group, or undefined when it cannot be read. */
  groupFile: () => string | undefined;
  /** Whether this process can create namespaces (the sandbox needs them; a container without CAP_SYS_ADMIN cannot). */
  namespaces?: () => boolean;
}

export const hostProbe: IsolationProbe = {
  uid: process.getuid?.() ?? -1,
  exists: (p) => existsSync(p),
  namespaces: () =>
    spawnSync('unshare', ['--pid', '--fork', '--mount', '--', 'true'], { stdio: 'ignore', timeout: 10_000 }).status ===
    0,
  groupFile: () => {
    try {
      return readFileSync('/etc/group', 'utf8');
    } catch {
      return undefined;
    }
  },
};

/** Members of a group in group(5) text (`name:x:gid:member,member`). */
export function groupMembers(text: string | undefined, group: string): string[] {
  for (const line of (text ?? '').split('\n')) {
    const [name, , , members] = line.split(':');
    if (name === group)
      return (members ?? '')
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m !== '');
  }
  return [];
}

export function detectBuildIsolation(env: NodeJS.ProcessEnv, probe: IsolationProbe = hostProbe): BuildIsolation {
  const remote = env.NIX_REMOTE ?? '';
  if ((remote !== '' && remote !== 'local') || (remote === '' && probe.exists(DAEMON_SOCKET))) {
    return {
      kind: 'daemon',
      description: `builds run through the nix-daemon (${remote || DAEMON_SOCKET}) as its build users`,
      args: [],
    };
  }
  const group = env.NIXENV_VERIFY_BUILD_GROUP || BUILD_GROUP_DEFAULT;
  if (probe.uid === 0) {
    const members = groupMembers(probe.groupFile(), group);
    if (members.length > 0 && probe.namespaces && !probe.namespaces()) {
      // No namespaces (an unprivileged container): build users without the sandbox. Still never root.
      return {
        kind: 'build-users',
        group,
        description: `builds run as the ${group} build users (${members.length}) without a sandbox (this host cannot create namespaces)`,
        args: ['--option', 'build-users-group', group, '--option', 'sandbox', 'false'],
      };
    }
    if (members.length > 0) {
      const paths = HOST_SANDBOX_PATHS.filter((p) => probe.exists(p));
      return {
        kind: 'sandbox',
        group,
        description: `builds run as the ${group} build users (${members.length}) in Nix's sandbox`,
        args: [
          '--option',
          'build-users-group',
          group,
          '--option',
          'sandbox',
          'true',
          '--option',
          'sandbox-paths',
          paths.join(' '),
        ],
      };
    }
    return {
      kind: 'unsandboxed',
      description: `builds run as root without a sandbox: no nix-daemon and no build users (group ${group} has no members; scripts/setup-nix.sh creates them)`,
      args: [],
    };
  }
  return {
    kind: 'unsandboxed',
    description: `builds run as the verifier's own uid ${probe.uid} without a sandbox (a single-user Nix store, no nix-daemon)`,
    args: [],
  };
}

/**
 * What an unsandboxed build does to the verdict: nothing when builds are
 * isolated or nothing is built (eval mode); otherwise a reason the verdict
 * cannot pass, unless the pipeline accepted it (then a deviation says so).
 */
export function untrustedBuild(
  isolation: BuildIsolation,
  mode: 'build' | 'eval',
  accepted: boolean,
): { hazard?: string; accepted?: string } {
  if (isolation.kind !== 'unsandboxed' || mode === 'eval') return {};
  const text = `untrusted: ${isolation.description}; a build could rewrite this verdict`;
  return accepted ? { accepted: text } : { hazard: `${text} (set allow_unsandboxed_build: true to accept it)` };
}
