// The claim a run verifies, as the checks read it: who the hosts are, what the
// shared runtime is, which consumers must use it, and the grep proofs. It comes
// from a spec file (or the built-in one, the seed claim) with settings over it.
import type { CheckId } from '../verdict.js';

export interface HostClaim {
  name: string;
  /** Repository file of the host's configuration (grep proofs, its systemPackages definition). */
  config: string;
  /** Programs the host's system PATH (sw/bin) must have. */
  requiredPrograms: string[];
}

export interface SharedClaim {
  /** pkgs.<package>: the shared wrapper. */
  package: string;
  /** bin/<program> of the package: what consumers run. */
  program: string;
  /** Repository file that declares the shared runtime. */
  file: string;
  /** pkgs.<toolsAttr>: the shared tool list. */
  toolsAttr: string;
  /** A binding in `file` that also must be defined once (the python withPackages env), if any. */
  envAttr?: string;
}

/** Where a host-bound consumer exists: the spec's `hosts:` on the consumer, else every host of the run. */
interface OnHosts {
  /** The hosts (names from the spec's hosts) it exists on; absent: every host. The checks judge it only there. */
  hosts?: string[];
}

/** A systemd service that runs the program: ExecStart followed through its scripts. */
export interface ServiceConsumer extends OnHosts {
  kind: 'systemd-service';
  name: string;
  unit: string;
  /** It must be started by a timer (and is looked for among timer-started services when the unit name is absent). */
  startedByTimer: boolean;
  /** Its module file, for the grep proofs below. */
  module?: string;
  moduleMustNotContain: string[];
  /** `runtimeInputs = [ pkgs.<package> ]` and nothing else in the module. */
  moduleRuntimeInputsOnly: boolean;
  /** The module's `text`/`script` execs the program. */
  moduleExecsProgram: boolean;
  /**
   * Commands allowed after the program (spec `allow_after`): `true` any, a list by name; absent: none (the program
   * is the last thing the service runs). The commands after it never may do its job without it (src/afterProgram.ts).
   */
  allowAfter?: true | string[];
}

/** A Drone step run by drone-runner-exec on the hosts: its commands run the program through the runner's PATH. */
export interface DroneStepConsumer extends OnHosts {
  kind: 'drone-step';
  name: string;
  pipeline: string;
  /** What the step runs through the program (a repository path). */
  runs: string;
  runnerUnit: string;
  module?: string;
  moduleMustNotContain: string[];
}

/** A place a runner reads its job shell from: the unit's environment, an /etc file's key, or an ExecStart argument. */
export type JobShellPlace =
  { from: 'env'; name: string } | { from: 'file'; file: string; key: string } | { from: 'arg'; name: string };

/** Where a runner's job shell is set, and the runner's sources that win over it. */
export type JobShellSource = JobShellPlace & {
  /** The runner's own default when the setting is absent everywhere (else: cannot follow). */
  default?: string;
  /** The runner's sources that take precedence over this one, highest first (Buildkite: flag, then variable). */
  overriddenBy?: JobShellPlace[];
};

/**
 * A CI runner service (a GitHub Actions self-hosted runner, …) whose jobs inherit its PATH: the program must resolve to
 * the shared package there.
 */
export interface RunnerServiceConsumer extends OnHosts {
  kind: 'runner-service';
  name: string;
  unit: string;
  /** The shell the runner runs each job's commands with, and where it is configured (src/systemd/jobShell.ts). */
  jobShell?: JobShellSource;
  module?: string;
  moduleMustNotContain: string[];
}

/**
 * A systemd user service (`systemd.user.services.<name>`, a unit of /etc/systemd/user run by every user's manager):
 * its ExecStart followed through its scripts to the program, like a system service.
 */
export interface UserServiceConsumer extends OnHosts {
  kind: 'systemd-user-service';
  name: string;
  unit: string;
  /** A user timer (`systemd.user.timers`) must start it. */
  startedByTimer: boolean;
  module?: string;
  moduleMustNotContain: string[];
  /** Not a key of this kind (the program must be the final command). */
  allowAfter?: never;
}

/**
 * A dev shell (`nix develop` on a flake attribute, usually mkShell): the program resolves first on the shell's PATH to
 * the shared package, and (toolsOnPath) every expected tool to the wrapper's own directory.
 */
export interface DevShellConsumer {
  kind: 'dev-shell';
  name: string;
  /** Flake output attribute path, e.g. devShells.x86_64-linux.default. */
  attr: string;
  /** Every expected tool resolves on the shell's PATH to the directory the wrapper's PATH has for it (default true). */
  toolsOnPath: boolean;
  /** On no host: a flake attribute. */
  hosts?: never;
}

/**
 * The hosts' system packages: each host's config refers to the tool list, and (several hosts) all declare the same
 * list.
 */
export interface SystemPackagesConsumer extends OnHosts {
  kind: 'system-packages';
  name: string;
  sameDefinition: boolean;
  configReferencesTools: boolean;
  /** The shared package is in every host's system packages: sw/bin/<program> is its program. */
  includesPackage: boolean;
  /** `tools`: each required program in sw/bin is the shared tool list's (buildEnv's winner); `anywhere`: present. */
  requiredProgramsFrom: 'tools' | 'anywhere';
}

/**
 * A NixOS module option (`config.<option>` of each host) whose value must be the shared tool list (`tools`: the same
 * derivations in the same order, nothing added or missing) or the shared package (`package`): a toolbox passed to the
 * module's consumers through an option (src/moduleOption.ts).
 */
export interface ModuleOptionConsumer extends OnHosts {
  kind: 'module-option';
  name: string;
  /** Dotted option path under each host's `config` (validated as attribute names: never Nix code). */
  option: string;
  value: 'tools' | 'package';
}

/** A flake attribute (a container image, a dev shell) whose derivation must reference the shared package. */
export interface DerivationConsumer {
  kind: 'derivation';
  name: string;
  /** Flake output attribute path, e.g. packages.x86_64-linux.ci-image. */
  attr: string;
  /** An attribute path under attr whose derivation is judged instead (`stream` of a buildLayeredImage). */
  through?: string;
  /**
   * How the derivation uses the package: `runtime` (its runtime closure holds it: a build proves it, eval mode
   * cannot), `build-input` (its build runs the program: input closure and build script). Absent: the runtime closure
   * in build mode, the input closure in eval mode.
   */
  reference?: 'runtime' | 'build-input';
  /**
   * A nixpkgs dockerTools image (buildLayeredImage/streamLayeredImage): its config's Entrypoint (or Cmd) runs the
   * program, its PATH resolves the shared runtime's tools, and it holds the package (src/imageUse.ts).
   */
  image?: boolean;
}

export type Consumer =
  | ServiceConsumer
  | DroneStepConsumer
  | RunnerServiceConsumer
  | SystemPackagesConsumer
  | DerivationConsumer
  | UserServiceConsumer
  | DevShellConsumer
  | ModuleOptionConsumer;
export type ConsumerKind = Consumer['kind'];

/** `grep -rn PATTERN` over a directory or a file, with an expected count. */
export interface GrepProof {
  id?: string;
  pattern: string;
  /** A directory (recursive) or a file; default: searchDir. */
  in?: string;
  count?: number;
  atLeast?: number;
  /** Every hit is in this file. */
  allIn?: string;
  /** Every hit is in the shared file (follows the packages_file setting). */
  inSharedFile: boolean;
  /** Every hit is on a line of the proof with this id. */
  sameLineAs?: string;
}

export interface Claim {
  /** Where the claim came from: `built-in` or the spec file's path. */
  spec: string;
  /** The claim settings given over the spec, by setting name, as the user gave each (`--package`, `PLUGIN_PACKAGE`). */
  settingLabels?: Record<string, string>;
  hosts: HostClaim[];
  /** The host config path pattern (`{host}`) for hosts named by settings alone. */
  hostConfig: string;
  /** Required programs of hosts named by settings alone. */
  requiredPrograms: string[];
  shared: SharedClaim;
  expectedTools: { match: 'superset' | 'exact'; entries: string[] };
  consumers: Consumer[];
  /** Directory the grep proofs and definition counts search. */
  searchDir: string;
  proofs: GrepProof[];
  checks: CheckId[];
  /**
   * Consumers (name, or `name@host`) the change retires on purpose: no-drop does not fail when they are gone at head.
   */
  retired?: string[];
}

export const consumersOf = <K extends ConsumerKind>(
  claim: Pick<Claim, 'consumers'>,
  kind: K,
): Extract<Consumer, { kind: K }>[] =>
  claim.consumers.filter((c): c is Extract<Consumer, { kind: K }> => c.kind === kind);

/**
 * Does the consumer exist on this host (its `hosts:`, default every host)? A derivation is on no host: a flake
 * attribute.
 */
export const onHost = (consumer: Consumer, host: string): boolean =>
  consumer.kind !== 'derivation' &&
  consumer.kind !== 'dev-shell' &&
  (consumer.hosts === undefined || consumer.hosts.includes(host));

/** A consumer that is a flake attribute, on no host (a derivation, a dev shell). */
export const isFlakeAttrConsumer = (c: Consumer): c is DerivationConsumer | DevShellConsumer =>
  c.kind === 'derivation' || c.kind === 'dev-shell';

/** The claim's consumers that exist on `host` (derivations, flake attributes, are never among them). */
export const consumersOn = (claim: Pick<Claim, 'consumers'>, host: string): Consumer[] =>
  claim.consumers.filter((c) => onHost(c, host));
