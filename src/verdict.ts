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
  /** Settings that change what is verified and differ from the claim's defaults (settingsDeviations); [] = the claim as stated. */
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
}

/** One setting that differs from the claim: its name, the value used, the claim's default, and a short label for every output. */
export interface Deviation {
  setting: string;
  value: string;
  default: string;
  /** e.g. `expected_tools (14 of 15: without git-lfs-3.6.1)`, `hosts=cc-ci`, `checks without propagation`. */
  label: string;
}

/** Any failed or errored check fails the verdict; skipped checks do not count. */
export function overallVerdict(checks: readonly CheckResult[]): 'pass' | 'fail' {
  const ran = checks.filter((c) => c.status !== 'skip');
  return ran.length > 0 && ran.every((c) => c.status === 'pass') ? 'pass' : 'fail';
}
