// The result model every check produces and every renderer consumes.
import type { RuntimeDiff } from './runtime.js';

export const CHECK_IDS = [
  'build',
  'single-source',
  'path-superset',
  'entrypoint-parity',
  'host-parity',
  'propagation',
  'no-drop',
] as const;

export type CheckId = (typeof CHECK_IDS)[number];

/** `error` means the check could not reach an answer (nix failed, input missing): never a pass. */
export type CheckStatus = 'pass' | 'fail' | 'error' | 'skip';

export interface CheckResult {
  id: CheckId;
  title: string;
  status: CheckStatus;
  /** One line a reviewer reads first: why it passed or failed. */
  summary: string;
  /** Facts behind the status: file:line:text, store paths, missing tools, log lines. */
  evidence: string[];
  durationMs: number;
}

export interface Verdict {
  verdict: 'pass' | 'fail';
  mode: 'build' | 'eval';
  flake: string;
  flakeRef: string;
  hosts: string[];
  nix: { version: string };
  checks: CheckResult[];
  durationMs: number;
  tool: { name: string; version: string };
  /**
   * Settings that change what is verified and differ from the claim's defaults (settingsDeviations); [] = the claim as
   * stated.
   */
  deviations?: Deviation[];
  /** The spec file the claim came from (repository-relative), or `built-in` (the seed claim). */
  spec?: string;
  /** When the run started (ISO 8601) and on which machine: the JUnit suite's timestamp and hostname. */
  startedAt?: string;
  hostname?: string;
  /** Where the verified code comes from, as Drone names it (DRONE_REPO, DRONE_COMMIT_SHA, DRONE_BUILD_LINK). */
  source?: { repo?: string; commit?: string; buildLink?: string };
  /** Each consumer's runtime at the base revision against head (the no-drop check), when a base was compared. */
  runtimeDiff?: RuntimeDiff;
  /** Checks the `checks` setting left out: reported as skipped in JUnit, so test history stays complete. */
  notSelected?: { id: CheckId; title: string }[];
  /** How the repository's builds were kept from the verifier (src/nix/isolation.ts), in build mode. */
  isolation?: { kind: 'daemon' | 'sandbox' | 'build-users' | 'unsandboxed'; description: string };
  /**
   * Run-level problems that make a pass untrustworthy whatever the checks say
   * (builds as root without a sandbox, a build that changed the workspace): each fails the verdict.
   */
  hazards?: string[];
}

/**
 * One setting that differs from the claim: its name, the value used, the claim's default, and a short label for every
 * output.
 */
export interface Deviation {
  setting: string;
  value: string;
  default: string;
  /** e.g. `expected_tools (14 of 15: without git-lfs-3.6.1)`, `hosts=cc-ci`, `checks without propagation`. */
  label: string;
}

/** Any failed or errored check fails the verdict, and so does any run-level hazard; skipped checks do not count. */
export function overallVerdict(checks: readonly CheckResult[], hazards: readonly string[] = []): 'pass' | 'fail' {
  const ran = checks.filter((c) => c.status !== 'skip');
  return hazards.length === 0 && ran.length > 0 && ran.every((c) => c.status === 'pass') ? 'pass' : 'fail';
}
