// runCli in-process against a throwaway flake directory and a fake nix: every
// output (stdout, stderr, report, JUnit, Markdown, card, DRONE_OUTPUT) captured.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import type { CommandResult } from '../../src/nix/command.js';
import { fakeRunner, type FakeCall } from '../fakes/runner.js';

export interface FakeFlake {
  dir: string;
  cleanup: () => void;
}

/** A directory with flake.nix, nix/ and a `nix` program on bin/ (the client looks it up on PATH). */
export function makeFakeFlake(): FakeFlake {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nv-flake-'));
  writeFileSync(path.join(dir, 'flake.nix'), '{ outputs = _: { }; }');
  mkdirSync(path.join(dir, 'nix', 'modules'), { recursive: true });
  writeFileSync(path.join(dir, 'nix', 'modules', 'packages.nix'), '{ }');
  mkdirSync(path.join(dir, 'bin'));
  writeFileSync(path.join(dir, 'bin', 'nix'), '#!/bin/sh\n');
  chmodSync(path.join(dir, 'bin', 'nix'), 0o755);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CapturedRun {
  code: number;
  stdout: string;
  stderr: string;
  calls: FakeCall[];
  /** Every file output that was written, by name. */
  files: Record<string, string>;
  /** The card payload decoded from the stdout escape sequence, when there was one. */
  stdoutCard?: string;
}

const ESC = '\x1b';

/** Decodes `ESC]1338;<base64>ESC]0m` out of stdout. */
export function decodeStdoutCard(stdout: string): string | undefined {
  const m = new RegExp(`${ESC}\\]1338;([A-Za-z0-9+/=]+)${ESC}\\]0m`).exec(stdout);
  return m ? Buffer.from(m[1], 'base64').toString('utf8') : undefined;
}

/** Nix answers its version; every other call fails with `respond` (default: stderr echoing the arguments). */
export async function runFake(
  flake: FakeFlake,
  env: NodeJS.ProcessEnv,
  argv: string[] = [],
  respond: (call: FakeCall) => Partial<CommandResult> = (call) => ({
    exitCode: 1,
    stderr: `error: cannot fetch: ${call.args.join(' ')}\n`,
  }),
): Promise<CapturedRun> {
  const { runner, calls } = fakeRunner((call) =>
    call.args.includes('--version') ? { stdout: 'nix (Nix) 2.18.1\n' } : respond(call),
  );
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCli({
    argv,
    env: { PATH: path.join(flake.dir, 'bin'), PLUGIN_FLAKE: flake.dir, ...env },
    cwd: flake.dir,
    stdout: (t) => stdout.push(t),
    stderr: (t) => stderr.push(t),
    isTTY: false,
    runner,
  });
  const files: Record<string, string> = {};
  for (const name of ['report.json', 'junit.xml', 'summary.md', 'card.json', 'drone-output.env']) {
    const file = path.join(flake.dir, 'out', name);
    if (existsSync(file)) files[name] = readFileSync(file, 'utf8');
  }
  const out = stdout.join('');
  const card = decodeStdoutCard(out);
  return { code, stdout: out, stderr: stderr.join(''), calls, files, ...(card ? { stdoutCard: card } : {}) };
}

/** Settings that write every file output under out/ of the flake. */
export const ALL_OUTPUTS = (dir: string): NodeJS.ProcessEnv => ({
  PLUGIN_REPORT: 'out/report.json',
  PLUGIN_JUNIT: 'out/junit.xml',
  PLUGIN_SUMMARY: 'out/summary.md',
  DRONE_OUTPUT: path.join(dir, 'out', 'drone-output.env'),
});
