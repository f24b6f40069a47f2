// The result model every check produces and every renderer consumes.

export const CHECK_IDS = [
  'build',
  'single-source',
  'path-superset',
  'entrypoint-parity',
  'host-parity',
  'propagation',
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
}

/** Any failed or errored check fails the verdict; skipped checks do not count. */
export function overallVerdict(checks: readonly CheckResult[]): 'pass' | 'fail' {
  const ran = checks.filter((c) => c.status !== 'skip');
  return ran.length > 0 && ran.every((c) => c.status === 'pass') ? 'pass' : 'fail';
}
