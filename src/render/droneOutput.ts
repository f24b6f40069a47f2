// Output variables for later steps: KEY=value lines appended to the file named by
// DRONE_OUTPUT (Drone/Harness plugin outputs, env-file format).
//
//   NIXENV_VERIFY_VERDICT        pass | fail
//   NIXENV_VERIFY_FAILED_CHECKS  comma-separated ids of failed and errored checks ('' when none)
//   NIXENV_VERIFY_PASSED_COUNT   number of checks that passed
//   NIXENV_VERIFY_FAILED_COUNT   number of checks that failed or errored
//   NIXENV_VERIFY_SKIPPED_COUNT  number of checks skipped
//   NIXENV_VERIFY_DEVIATIONS     comma-separated settings that differ from the claim ('' when none)
//   NIXENV_VERIFY_DEVIATION_TEXT the same, as the one line every output shows ('' when none)
//   NIXENV_VERIFY_HAZARDS        run-level problems that failed the verdict, one line ('' when none;
//                                both this and BUILDS only in reports of a real run)
//   NIXENV_VERIFY_BUILDS         how builds were isolated (daemon, sandbox, unsandboxed; '' in eval mode)
import type { Verdict } from '../verdict.js';
import { deviationLine, hazardLine, inlineText, notPassed, tally } from './common.js';

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
    [`${DRONE_OUTPUT_PREFIX}SPEC`]: oneLine(verdict.spec ?? 'built-in'),
    [`${DRONE_OUTPUT_PREFIX}DEVIATIONS`]: (verdict.deviations ?? []).map((d) => d.setting).join(','),
    [`${DRONE_OUTPUT_PREFIX}DEVIATION_TEXT`]: oneLine(deviationLine(verdict.deviations) ?? ''),
    ...(verdict.isolation || verdict.hazards?.length
      ? {
          [`${DRONE_OUTPUT_PREFIX}HAZARDS`]: oneLine(hazardLine(verdict) ?? ''),
          [`${DRONE_OUTPUT_PREFIX}BUILDS`]: verdict.isolation?.kind ?? '',
        }
      : {}),
  };
}

/**
 * env-file values are one line, inert: line breaks become spaces, every other control (ESC, NUL,
 * CR, …) is spelled \uXXXX, and `$` is written `\$` so an env-file reader (godotenv) expands no
 * variable from a spec's text.
 */
const oneLine = (text: string): string => inlineText(text.replace(/[\r\n]+/g, ' ')).replace(/\$/g, '\\$');

/**
 * The lines to append: ids, numbers and one line of text, unquoted (the env-file format reads to the end of the line).
 */
export function renderDroneOutput(verdict: Verdict): string {
  return Object.entries(droneOutputVariables(verdict))
    .map(([k, v]) => `${k}=${inlineText(v)}\n`)
    .join('');
}
