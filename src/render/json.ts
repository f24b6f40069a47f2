import type { Verdict } from '../verdict.js';

/**
 * The JSON report: the verdict object itself, stable key order. JSON.stringify escapes C0
 * controls; DEL, C1 controls, line separators and bidi controls (valid raw in JSON, active on a
 * terminal that shows the file) are written as \uXXXX too: the same strings, inert bytes.
 */
export function renderJson(verdict: Verdict): string {
  return `${JSON.stringify(verdict, null, 2).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}
