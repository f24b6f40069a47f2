// Runs the built CLI (dist/main.js) as users do, and snapshots workspaces.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, lstatSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Verdict } from '../../src/verdict.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const mainJs = path.join(repoRoot, 'dist', 'main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  report?: Verdict;
}

/** Env for the CLI: PLUGIN_* only from `settings`, nothing inherited from the test runner's PLUGIN_*. */
export function cliEnv(settings: Record<string, string>, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PLUGIN_') && !k.startsWith('DRONE')) env[k] = v;
  env.CI = 'true';
  for (const [k, v] of Object.entries(settings)) env[`PLUGIN_${k.toUpperCase()}`] = v;
  return { ...env, ...extra };
}

export function runCli(
  settings: Record<string, string>,
  options: { args?: string[]; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): CliRun {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'nv-report-'));
  const reportFile = path.join(tmp, 'report.json');
  try {
    const res = spawnSync(process.execPath, [mainJs, ...(options.args ?? [])], {
      env: cliEnv({ report: reportFile, ...settings }, options.env),
      cwd: options.cwd ?? repoRoot,
      encoding: 'utf8',
      timeout: 600_000,
    });
    const report = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, 'utf8')) as Verdict) : undefined;
    return { code: res.status, stdout: res.stdout, stderr: res.stderr, ...(report ? { report } : {}) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Check ids whose status is fail or error. */
export const failingChecks = (report: Verdict | undefined): string[] =>
  (report?.checks ?? [])
    .filter((c) => c.status === 'fail' || c.status === 'error')
    .map((c) => c.id)
    .sort();

/**
 * Every file's bytes (and symlink target) under dir, plus `git status`.
 * `.git/index` is left out: git itself refreshes its stat cache on read.
 */
export function snapshotWorkspace(dir: string): { files: Record<string, string>; gitStatus: string } {
  const files: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const full = path.join(d, name);
      const rel = path.relative(dir, full);
      if (rel === path.join('.git', 'index')) continue;
      const st = lstatSync(full);
      if (st.isSymbolicLink()) files[rel] = `-> ${readlinkSync(full)}`;
      else if (st.isDirectory()) walk(full);
      else files[rel] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  const gitStatus = spawnSync('git', ['status', '--porcelain=v1', '--ignored'], { cwd: dir, encoding: 'utf8' }).stdout;
  return { files, gitStatus };
}

/**
 * A report as JSON with what differs between two runs of the same input masked: timings,
 * when and where it ran, and the temporary copy the propagation check evaluates.
 */
export const maskedReport = (report: unknown, { ignore = [] as string[] } = {}): string =>
  JSON.stringify(
    report,
    (key, value) => (key === 'durationMs' || key === 'startedAt' ? '<time>' : ignore.includes(key) ? undefined : value),
    2,
  )
    // summaries quote durations too ("6/6 checks passed in 0.7s")
    .replace(/\b\d+(\.\d+)?s\b/g, '<s>')
    .replace(/nixenv-verify-propagation-[A-Za-z0-9]+/g, 'nixenv-verify-propagation-<tmp>');
