import type { Verdict } from '../verdict.js';

/** The JSON report: the verdict object itself, stable key order. */
export function renderJson(verdict: Verdict): string {
  return `${JSON.stringify(verdict, null, 2)}\n`;
}
