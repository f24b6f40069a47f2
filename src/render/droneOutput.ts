// Output variables for later steps: KEY=value lines appended to the file named by
// DRONE_OUTPUT (Drone/Harness plugin outputs, env-file format).
//
//   NIXENV_VERIFY_VERDICT        pass | fail
//   NIXENV_VERIFY_FAILED_CHECKS  comma-separated ids of failed and errored checks ('' when none)
//   NIXENV_VERIFY_PASSED_COUNT   number of checks that passed
//   NIXENV_VERIFY_FAILED_COUNT   number of checks that failed or errored
//   NIXENV_VERIFY_SKIPPED_COUNT  number of checks skipped
import type { Verdict } from '../verdict.js';
import { notPassed, tally } from './common.js';

export const DRONE_OUTPUT_PREFIX = 'NIXENV_VERIFY_';

export function droneOutputVariables(verdict: Verdict): Record<string, string> {
  const t = tally(verdict);
  return {
    [`${DRONE_OUTPUT_PREFIX}VERDICT`]: verdict.verdict,
    [`${DRONE_OUTPUT_PREFIX}FAILED_CHECKS`]: notPassed(verdict)
      .map((c) => c.id)
      .join(','),
    [`${DRONE_OUTPUT_PREFIX}PASSED_COUNT`]: String(t.passed),
    [`${DRONE_OUTPUT_PREFIX}FAILED_COUNT`]: String(t.failed + t.errored),
    [`${DRONE_OUTPUT_PREFIX}SKIPPED_COUNT`]: String(t.skipped),
  };
}

/** The lines to append; values are ids and numbers, so they need no quoting. */
export function renderDroneOutput(verdict: Verdict): string {
  return Object.entries(droneOutputVariables(verdict))
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}
