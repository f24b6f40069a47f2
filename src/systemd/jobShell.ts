// The shell a CI runner service runs each job's commands with, and what those commands then get.
//
// Runners (sources: the Buildkite agent's `shell` option, docs "buildkite-agent start" and nixpkgs
// nixos/modules/services/continuous-integration/buildkite-agents.nix; GitLab Runner's `shell` executor,
// docs "Shells supported by GitLab Runner"):
//  - Buildkite: `shell` (flag `--shell`, variable `BUILDKITE_SHELL`, config file `shell="…"`; flag over
//    variable over file), default `/bin/bash -e -c` (NixOS's module: `${pkgs.bash}/bin/bash -e -c`). The agent
//    splits the string into words (POSIX quoting, no expansion), looks the first word up on its own PATH and
//    appends the job's command as the last argument. GitLab's shell executor runs `bash` found on the runner's
//    PATH (a login shell).
//  - The job's commands get the environment of that shell's process: the runner's, or, when the shell is a
//    wrapper, whatever the wrapper sets before it runs the rest of its arguments.
//
// What this module reads, in that order, and implements:
//  - where the spec says the setting is: the unit's environment (`env`: Environment=/EnvironmentFile= as
//    src/systemd/environment.ts reads them), a key of an /etc file the configuration writes (`file` + `key`:
//    `key=value` or `key = "value"` lines, `#` comments, TOML `[section]` headers skipped; a key given twice
//    cannot be followed), or an ExecStart argument (`arg`: `--shell VALUE` or `--shell=VALUE`, the last one
//    wins as in Go's flag parsing). Before it, the places the spec lists under `overridden_by` (the runner's
//    sources that win over it, highest first: Buildkite's flag, then its variable, over its file): the first
//    place that sets the shell decides, and one that cannot be read first is "cannot follow". Absent everywhere:
//    the spec's `default`, else "cannot follow" (the runner's built-in default is the runner's, not the
//    repository's). A source of the runner the spec does not list is not read;
//  - the shell string: words with single quotes, double quotes and backslashes; `$`, backquotes, `;`, `|`,
//    `&`, `<`, `>`, `(`, `)`, `*`, `?`, `[`, `{`, `~` outside single quotes: cannot follow;
//  - its first word: resolved on the runner's PATH (src/resolve.ts); `/bin/sh` is NixOS's bash (binsh);
//    a directory of host state (/usr/bin/zsh) cannot be followed;
//  - the kind of shell: the shared program (its PATH applies: path-superset judges it), bash or sh without
//    a login/interactive flag (-l, --login, -i, --rcfile, --init-file, --profile) and without BASH_ENV in the
//    runner's environment (the runner's PATH applies), anything else: cannot follow.
import type { JobShellPlace, JobShellSource } from '../claim/types.js';
import type { UnitView } from '../context.js';
import { resolveProgram, splitPath, type HostView, type Resolution } from '../resolve.js';
import { programName } from '../shell/index.js';
import { execStart } from './unit.js';

/** The shell setting's value and where it was read, or why it cannot be known. */
export type ShellSetting = { value: string; where: string } | { unknown: string };

/** Reads `/etc/<path>` as the host has it. */
export type EtcFileReader = (file: string) => Promise<{ text: string; source: string } | { unreadable: string }>;

/** What a job-shell lookup needs from the runner's unit: its variables and its last ExecStart words. */
export interface RunnerStart {
  vars: Map<string, { value: string; from: string }>;
  /** The last ExecStart= words (program first), and where that line is. */
  exec?: { argv: string[]; where: string };
}

/** A config file's value for `key`: `key=value` / `key = "value"` lines (Buildkite's cfg, simple TOML). */
export function configValue(
  text: string,
  key: string,
): { value: string; line: number } | { absent: true } | { unknown: string } {
  const hits: { value: string; line: number }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#') || /^\[.*\]$/.test(line)) continue;
    const m = /^([A-Za-z0-9_.-]+)\s*=\s*(.*)$/.exec(line);
    if (!m || m[1] !== key) continue;
    const raw = m[2].trim();
    let value: string;
    if (raw.startsWith('"')) {
      const q = /^"((?:[^"\\]|\\.)*)"\s*(#.*)?$/.exec(raw);
      if (!q) return { unknown: `line ${i + 1}: ${key} = ${raw} is not one quoted string` };
      value = q[1].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
    } else if (raw.startsWith("'")) {
      const q = /^'([^']*)'\s*(#.*)?$/.exec(raw);
      if (!q) return { unknown: `line ${i + 1}: ${key} = ${raw} is not one quoted string` };
      value = q[1];
    } else value = raw.replace(/\s+#.*$/, '');
    hits.push({ value, line: i + 1 });
  }
  if (hits.length > 1)
    return {
      unknown: `${key} is set ${hits.length} times (lines ${hits.map((h) => h.line).join(', ')}): which one the runner takes is not modelled`,
    };
  return hits[0] ?? { absent: true };
}

const describeSource = (s: JobShellPlace): string =>
  s.from === 'env' ? `Environment ${s.name}` : s.from === 'file' ? `${s.file} ${s.key}` : `ExecStart ${s.name}`;

/** One place's value: set there, absent there (why), or not knowable. */
type PlaceValue = { value: string; where: string } | { absent: string } | { unknown: string };

/** What one place the runner reads gives. */
async function readPlace(
  place: JobShellPlace,
  unitName: string,
  start: RunnerStart,
  readEtc: EtcFileReader,
): Promise<PlaceValue> {
  if (place.from === 'env') {
    const v = start.vars.get(place.name);
    return v ? { value: v.value, where: `${v.from}${place.name}` } : { absent: `${unitName} sets no ${place.name}` };
  }
  if (place.from === 'arg') {
    if (!start.exec) return { absent: `${unitName} has no ExecStart` };
    let found: string | undefined;
    const args = start.exec.argv.slice(1);
    for (let i = 0; i < args.length; i++) {
      if (args[i] === place.name) {
        if (i + 1 >= args.length) return { unknown: `cannot follow: ${start.exec.where}: ${place.name} has no value` };
        found = args[++i];
      } else if (args[i].startsWith(`${place.name}=`)) found = args[i].slice(place.name.length + 1);
    }
    return found !== undefined
      ? { value: found, where: `${start.exec.where}: ${place.name}` }
      : { absent: `${start.exec.where}: ExecStart has no ${place.name}` };
  }
  const file = await readEtc(place.file);
  if ('unreadable' in file) return { unknown: `cannot follow the job shell: ${file.unreadable}` };
  const v = configValue(file.text, place.key);
  if ('unknown' in v) return { unknown: `cannot follow: ${file.source}: ${v.unknown}` };
  if ('absent' in v) return { absent: `${file.source} has no ${place.key}` };
  return { value: v.value, where: `${file.source}:${v.line}: ${place.key}` };
}

/**
 * The job-shell setting as the runner resolves it: the places that win over the spec's (`overridden_by`, highest
 * first), then the spec's place, then the spec's default. The first place that sets it decides; a place that cannot be
 * read before that is "cannot follow" (it might set it).
 */
export async function shellSetting(
  source: JobShellSource,
  unitName: string,
  start: RunnerStart,
  readEtc: EtcFileReader,
): Promise<ShellSetting> {
  const why: string[] = [];
  for (const place of [...(source.overriddenBy ?? []), source]) {
    const got = await readPlace(place, unitName, start, readEtc);
    if ('value' in got || 'unknown' in got) return got;
    why.push(got.absent);
  }
  const absent = why.join('; ');
  return source.default !== undefined
    ? { value: source.default, where: `the runner's default (spec job_shell.default; ${absent})` }
    : {
        unknown: `cannot follow: ${absent}, and the spec gives no job_shell.default (the runner's built-in default is not the repository's)`,
      };
}

/** The shell string's words (POSIX quoting, no expansion), or why it cannot be split without running it. */
export function shellWords(value: string): { argv: string[] } | { unknown: string } {
  const words: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (i < value.length && /\s/.test(value[i])) i++;
    if (i >= value.length) break;
    let word = '';
    while (i < value.length && !/\s/.test(value[i])) {
      const ch = value[i];
      if (ch === "'") {
        const end = value.indexOf("'", i + 1);
        if (end < 0) return { unknown: `an unterminated ' in \`${value}\`` };
        word += value.slice(i + 1, end);
        i = end + 1;
      } else if (ch === '"') {
        i++;
        while (i < value.length && value[i] !== '"') {
          if (value[i] === '$' || value[i] === '`')
            return { unknown: `\`${value}\` expands ${value[i]} inside quotes` };
          if (value[i] === '\\' && i + 1 < value.length && '"\\$`'.includes(value[i + 1])) i++;
          word += value[i++];
        }
        if (i >= value.length) return { unknown: `an unterminated " in \`${value}\`` };
        i++;
      } else if (ch === '\\' && i + 1 < value.length) {
        word += value[i + 1];
        i += 2;
      } else if ('$`;|&<>()*?[{~'.includes(ch)) {
        return { unknown: `\`${value}\` has \`${ch}\`, a shell construct the runner's word splitting does not give` };
      } else {
        word += ch;
        i++;
      }
    }
    words.push(word);
  }
  if (words.length === 0) return { unknown: 'the job shell is empty' };
  return { argv: words };
}

/** Flags that make bash read profile or rc files (whose PATH the repository does not decide here). */
const PROFILE_FLAGS = new Set(['-l', '--login', '-i', '--rcfile', '--init-file', '--profile']);

/** The kind of shell the first word is: bash/sh (the runner's PATH applies), or why its PATH is not known. */
export function plainShell(
  argv: readonly string[],
  file: string,
  vars: RunnerStart['vars'],
): { shell: string } | { unknown: string } {
  const name = programName(file);
  if (name !== 'bash' && name !== 'sh')
    return {
      unknown: `${file} is neither the shared program nor bash or sh: what it gives the job's commands is not modelled`,
    };
  for (const a of argv.slice(1)) {
    if (a === '--') break;
    if (PROFILE_FLAGS.has(a) || (/^-[a-zA-Z]+$/.test(a) && /[li]/.test(a.slice(1))))
      return { unknown: `\`${argv.join(' ')}\`: ${a} makes ${name} read profile or rc files, which may set PATH` };
  }
  // A non-interactive bash sources $BASH_ENV before the command (bash(1) INVOCATION); invoked as sh it does not.
  const bashEnv = name === 'bash' ? vars.get('BASH_ENV') : undefined;
  if (bashEnv)
    return {
      unknown: `${bashEnv.from}BASH_ENV: bash sources ${bashEnv.value} before the job's commands, which may set PATH`,
    };
  return { shell: name };
}

export { describeSource as describeJobShellSource };

/** A runner's job shell, read and looked up: its setting, its words, and where its first word leads. */
export type JobShell =
  | { value: string; where: string; argv: string[]; found: Resolution }
  | { unknown: string; where?: string; value?: string };

/** Reads the setting where the spec says, splits it, and looks its first word up on the runner's PATH. */
export async function resolveJobShell(
  source: JobShellSource,
  unit: UnitView,
  proc: { vars: RunnerStart['vars']; path?: string },
  view: HostView,
  readEtc: EtcFileReader,
): Promise<JobShell> {
  const last = execStart(unit.unit).pop();
  const setting = await shellSetting(
    source,
    unit.name,
    {
      vars: proc.vars,
      ...(last
        ? { exec: { argv: [last.program, ...last.args], where: `${last.file ?? unit.source}:${last.line}` } }
        : {}),
    },
    readEtc,
  );
  if ('unknown' in setting) return { unknown: `job shell (${describeSource(source)}): ${setting.unknown}` };
  const words = shellWords(setting.value);
  if ('unknown' in words) return { ...setting, unknown: `cannot follow the job shell: ${words.unknown}` };
  const [first] = words.argv;
  // NixOS links /bin/sh to bash (environment.binsh) at activation: bash in POSIX mode.
  const found: Resolution =
    first === '/bin/sh'
      ? { root: '/bin/sh', file: '/bin/sh', via: '/bin/sh (NixOS environment.binsh: bash)', notes: [] }
      : resolveProgram(first, proc.path === undefined ? [] : splitPath(proc.path), view);
  return { ...setting, argv: words.argv, found };
}
