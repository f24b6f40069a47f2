import type { RunContext } from '../context.js';
import { NixCommandError } from '../errors.js';
import type { CheckId, CheckStatus } from '../verdict.js';

export interface CheckOutcome {
  /** `skip`: the check does not apply to this run (no-drop without a base revision); the summary says why. */
  status: CheckStatus;
  summary: string;
  evidence: string[];
}

/** A check of the claim: a function of the run context (settings + Nix client + shared facts). */
export interface CheckDefinition {
  id: CheckId;
  title: string;
  run(ctx: RunContext): Promise<CheckOutcome>;
}

export const pass = (summary: string, evidence: string[]): CheckOutcome => ({ status: 'pass', summary, evidence });
export const fail = (summary: string, evidence: string[]): CheckOutcome => ({ status: 'fail', summary, evidence });
export const skip = (summary: string, evidence: string[]): CheckOutcome => ({ status: 'skip', summary, evidence });
export const error = (summary: string, evidence: string[]): CheckOutcome => ({ status: 'error', summary, evidence });

/** Settles one promise per host, keeping each host's error instead of stopping at the first. */
export async function perHost<T>(
  hosts: readonly string[],
  fn: (host: string) => Promise<T>,
): Promise<{ host: string; value?: T; error?: unknown }[]> {
  const settled = await Promise.allSettled(hosts.map(fn));
  return settled.map((s, i) =>
    s.status === 'fulfilled' ? { host: hosts[i], value: s.value } : { host: hosts[i], error: s.reason as unknown },
  );
}

/** Evidence lines for a host whose evaluation or build threw: the nix command and its log excerpt. */
export function describeError(host: string, err: unknown): string[] {
  if (err instanceof NixCommandError) {
    return [
      `${host}: ${err.command} ${err.timedOut ? 'timed out' : `failed (exit ${err.exitCode ?? 'signal'})`}`,
      ...err.excerpt.map((l) => `${host}: ${l}`),
    ];
  }
  return [`${host}: ${(err as Error)?.message ?? String(err)}`];
}
