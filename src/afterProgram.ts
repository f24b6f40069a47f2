// What a script may run after the shared program, and what it never may. A consumer whose last step is the
// program (`exec cc-ci-run …`) runs nothing after it; a spec may allow commands after it (`allow_after`: a
// notification, a cleanup), and a build script (a flake `checks` derivation) ends by writing its output. In
// every case a command after the program must not do the program's job again without it:
// - it runs a runner sweep script (src/systemd/sweep.ts: a `runner/…sweep…` file named in its words);
// - it runs the command the program was given (`cc-ci-run pytest -q` then `pytest -q`: the same program name),
//   or names a file the program was given (`cc-ci-run python3 runner/x.py` then `python3 runner/x.py`);
// - it is a shell `-c` whose script does one of these (its first words are read, not followed further);
// - its program word is computed at run time (what runs cannot be told).
// With a list, every command after the program must be one of the names listed (by basename).
import { programName, type Invocation } from './shell/index.js';
import { SWEEP_SCRIPT } from './systemd/sweep.js';

const SHELLS = new Set(['sh', 'bash', 'dash']);

/** The words of the program's own job: the command it was given and the files named in its arguments. */
function jobOf(run: Invocation): { command?: string; files: string[] } {
  const words = run.args.filter((a) => !a.startsWith('<unknown'));
  const first = words.find((a) => !a.startsWith('-'));
  const files = words.filter((a) => !a.startsWith('-') && (a.includes('/') || /\.(py|sh|js|rb|pl)$/.test(a)));
  return { ...(first !== undefined && !first.includes('/') ? { command: programName(first) } : {}), files };
}

/** Why this command after the program redoes its job without it, or undefined. */
export function redoesJob(run: Invocation, after: Invocation): string | undefined {
  const job = jobOf(run);
  const sweep = SWEEP_SCRIPT.exec(after.text);
  if (sweep) return `it runs the runner sweep ${sweep[1]}`;
  if (after.program.includes('<unknown')) return 'its program is computed at run time';
  const name = programName(after.program);
  if (job.command !== undefined && name === job.command)
    return `it runs ${name}, the command ${programName(run.program)} was given`;
  const file = after.args.find((a) => job.files.includes(a));
  if (file !== undefined) return `it runs ${file}, which ${programName(run.program)} was given`;
  if (SHELLS.has(name) && after.args[0] === '-c' && after.args[1] !== undefined) {
    const words = after.args[1].trim().split(/\s+/);
    const first = words[0] !== undefined ? programName(words[0]) : undefined;
    if (first !== undefined && first === job.command) return `its \`${name} -c\` script runs ${first}`;
    const named = words.find((w) => job.files.includes(w));
    if (named) return `its \`${name} -c\` script runs ${named}`;
  }
  return undefined;
}

/**
 * The first command after the program that is not allowed: not in `allowed` (true: any), or doing the program's job
 * without it. Undefined when every command after it is allowed.
 */
export function afterProblem(
  run: Invocation,
  later: readonly Invocation[],
  allowed: true | readonly string[],
): string | undefined {
  for (const i of later) {
    const where = `\`${i.text}\` (line ${i.line}) runs after it`;
    const redo = redoesJob(run, i);
    if (redo) return `${where} and does its job without it (${redo})`;
    if (allowed !== true && !allowed.includes(programName(i.program)))
      return `${where}, and allow_after lists only ${allowed.join(', ')}`;
  }
  return undefined;
}
