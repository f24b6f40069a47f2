// A fake command runner: records every call and answers from a script of responses.
import type { CommandResult, CommandRunner } from '../../src/nix/command.js';

export interface FakeCall {
  cmd: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
}

export function fakeRunner(respond: (call: FakeCall) => Partial<CommandResult>): {
  runner: CommandRunner;
  calls: FakeCall[];
} {
  const calls: FakeCall[] = [];
  const runner: CommandRunner = async (cmd, args, options = {}) => {
    const call = { cmd, args, env: options.env };
    calls.push(call);
    return { exitCode: 0, stdout: '', stderr: '', timedOut: false, durationMs: 1, ...respond(call) };
  };
  return { runner, calls };
}
