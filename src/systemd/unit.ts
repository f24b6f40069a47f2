// systemd units as systemd reads them. The contract (what systemd reads, in its
// order, and what this module implements):
//
// Inputs (systemd.unit(5) "Description", "Unit File Load Path"):
//  1. the unit file `<name>` in the unit directory (NixOS: /etc/systemd/system,
//     the `system-units` tree of the toplevel's etc/) — IMPLEMENTED; a file that
//     is a link to /dev/null is a masked unit (never started) — IMPLEMENTED.
//  2. drop-ins: `<name>.d/*.conf`; for a name with dashes, every dash-prefix
//     directory (`foo-bar-.service.d/`, `foo-.service.d/` for
//     `foo-bar-baz.service`); the type-wide `service.d/` (`timer.d/`, …). All
//     .conf files of those directories are applied after the unit file, sorted
//     by file name across the directories; of files with the same name the one
//     in the more specific directory (the unit's own, then longer prefixes, then
//     the type-wide one) is used — IMPLEMENTED (composeUnit, dropInDirs).
//     The same for the user managers (systemd.unit(5) "User Unit Search Path"): a
//     user unit is read from /etc/systemd/user (NixOS: the `user-units` tree of
//     systemd.user.units, linked by nixos/modules/system/boot/systemd/user.nix)
//     with the same drop-in rules — IMPLEMENTED (UnitScope 'user': the unit
//     directory is a parameter, the rules are the same). The per-user
//     directories before it (~/.config/systemd/user, $XDG_CONFIG_DIRS,
//     $XDG_RUNTIME_DIR/systemd/user, /run/systemd/user) are the user's own
//     state, not the configuration's — NOT READ (like /run/systemd/system).
//  3. other unit directories (/run/systemd/system, /usr/lib/systemd/system,
//     transient and generator units) — NOT READ: NixOS puts nothing there from
//     the configuration; they are runtime state no build shows.
//  4. templates (`foo@.service` for `foo@x.service`) and aliases — NOT
//     IMPLEMENTED; consumers are named units.
// Syntax (systemd.syntax(7)): `[Section]`, `Key=Value`, `#`/`;` comments, a
// trailing backslash joins the next line — IMPLEMENTED. An empty assignment
// resets a list setting (`ExecStart=`, `Environment=`, `EnvironmentFile=`,
// `On…=`), also from a drop-in — IMPLEMENTED (listSetting).
// Settings interpreted: systemd.service(5) `Type=` (simple/oneshot: several
// ExecStart= lines are refused unless oneshot — execStartRule), `ExecStart=`
// (prefixes `-@:+!`); systemd.exec(5) `Environment=`, `EnvironmentFile=`,
// `UnsetEnvironment=` (environment.ts); systemd.timer(5) `Unit=`, `On…=`
// triggers; [Install] WantedBy/RequiredBy/UpheldBy. Specifiers (`%h`, `%i`) and
// `$VAR` expansion in ExecStart= are NOT IMPLEMENTED (execChain refuses a
// computed program word).

/** Which manager reads the unit: the system manager (/etc/systemd/system) or every user's (/etc/systemd/user). */
export type UnitScope = 'system' | 'user';

export interface UnitLine {
  section: string;
  key: string;
  value: string;
  /** 1-based line of the key in the file. */
  line: number;
  /** The file the line is in (the unit file or a drop-in), when known. */
  file?: string;
}

export interface UnitFile {
  lines: UnitLine[];
}

export function parseUnit(text: string, file?: string): UnitFile {
  const lines: UnitLine[] = [];
  const raw = text.split('\n');
  let section = '';
  for (let i = 0; i < raw.length; i++) {
    const start = i;
    let line = raw[i];
    // A trailing backslash joins the next line (systemd replaces it with a space).
    while (/\\\s*$/.test(line) && i + 1 < raw.length) {
      line = `${line.replace(/\\\s*$/, ' ')}${raw[++i]}`;
    }
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    const sec = /^\[([^\]]+)\]$/.exec(trimmed);
    if (sec) {
      section = sec[1]!;
      continue;
    }
    const eq = trimmed.indexOf('=');
    if (eq < 0) continue;
    lines.push({
      section,
      key: trimmed.slice(0, eq).trim(),
      value: trimmed.slice(eq + 1).trim(),
      line: start + 1,
      ...(file !== undefined ? { file } : {}),
    });
  }
  return { lines };
}

/** Values of `key` in `section`, in file order, after systemd's "empty value resets the list" rule. */
export function listSetting(unit: UnitFile, section: string, key: string): UnitLine[] {
  let out: UnitLine[] = [];
  for (const l of unit.lines) {
    if (l.section !== section || l.key !== key) continue;
    if (l.value === '') out = [];
    else out.push(l);
  }
  return out;
}

/** The last value of a single-valued setting. */
export function lastSetting(unit: UnitFile, section: string, key: string): UnitLine | undefined {
  const all = unit.lines.filter((l) => l.section === section && l.key === key);
  return all[all.length - 1];
}

/**
 * Splits a value into words the way systemd does for Environment= and Exec*=:
 * whitespace separates, double and single quotes group, C escapes inside quotes.
 */
export function unitWords(value: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (i < value.length && /\s/.test(value[i])) i++;
    if (i >= value.length) break;
    let word = '';
    while (i < value.length && !/\s/.test(value[i])) {
      const ch = value[i];
      if (ch === '"' || ch === "'") {
        const quote = ch;
        i++;
        while (i < value.length && value[i] !== quote) {
          if (value[i] === '\\' && i + 1 < value.length) {
            const next = value[i + 1];
            word += next === 'n' ? '\n' : next === 't' ? '\t' : next;
            i += 2;
          } else word += value[i++];
        }
        i++; // closing quote
      } else if (ch === '\\' && i + 1 < value.length) {
        word += value[i + 1];
        i += 2;
      } else {
        word += ch;
        i++;
      }
    }
    words.push(word);
  }
  return words;
}

export interface EnvAssignment {
  name: string;
  value: string;
  line: number;
  file?: string;
}

/**
 * Every `Environment=` assignment of the [Service] section in order (what systemd applies, the last one of a name
 * wins).
 */
export function environmentAssignments(unit: UnitFile): EnvAssignment[] {
  const out: EnvAssignment[] = [];
  for (const l of listSetting(unit, 'Service', 'Environment')) {
    for (const word of unitWords(l.value)) {
      const eq = word.indexOf('=');
      if (eq > 0)
        out.push({
          name: word.slice(0, eq),
          value: word.slice(eq + 1),
          line: l.line,
          ...(l.file !== undefined ? { file: l.file } : {}),
        });
    }
  }
  return out;
}

/** The value of an environment variable the service process starts with, and the line that set it. */
export function effectiveEnv(unit: UnitFile, name: string): EnvAssignment | undefined {
  const all = environmentAssignments(unit).filter((a) => a.name === name);
  return all[all.length - 1];
}

export interface ExecCommand {
  /** The program systemd runs (prefixes `@-:+!` removed). */
  program: string;
  args: string[];
  line: number;
  /** The file of the line (a drop-in), when known. */
  file?: string;
  text: string;
}

/** ExecStart= commands (an oneshot may have several; an empty one resets). */
export function execStart(unit: UnitFile): ExecCommand[] {
  return listSetting(unit, 'Service', 'ExecStart').map((l) => {
    const words = unitWords(l.value);
    let first = words[0] ?? '';
    const atPrefix = /^[-@:+!]*@/.test(first);
    first = first.replace(/^[-@:+!]+/, '');
    // With `@` the second word is argv[0], not an argument.
    const args = atPrefix ? words.slice(2) : words.slice(1);
    return {
      program: first,
      args,
      line: l.line,
      ...(l.file !== undefined ? { file: l.file } : {}),
      text: `ExecStart=${l.value}`,
    };
  });
}

/** `EnvironmentFile=` entries: read by systemd at start, after Environment=, invisible to the verifier. */
export function environmentFiles(unit: UnitFile): UnitLine[] {
  return listSetting(unit, 'Service', 'EnvironmentFile');
}

/** The unit a timer starts: `Unit=`, else the service of the same name. */
export function timerTarget(timerName: string, unit: UnitFile): string {
  return lastSetting(unit, 'Timer', 'Unit')?.value ?? timerName.replace(/\.timer$/, '.service');
}

/** The [Timer] settings that make a timer elapse; systemd refuses a timer with none of them ("lacks value setting"). */
const TIMER_TRIGGERS = [
  'OnActiveSec',
  'OnBootSec',
  'OnStartupSec',
  'OnUnitActiveSec',
  'OnUnitInactiveSec',
  'OnCalendar',
  'OnClockChange',
  'OnTimezoneChange',
];

/** The timer's trigger lines (listSetting applies systemd's "empty value resets the list"). */
export function timerTriggers(unit: UnitFile): UnitLine[] {
  const isOn = (key: string, value: string): boolean =>
    key === 'OnClockChange' || key === 'OnTimezoneChange'
      ? /^(1|yes|true|on)$/i.test(value.trim())
      : value.trim() !== '';
  return TIMER_TRIGGERS.flatMap((key) => listSetting(unit, 'Timer', key).filter((l) => isOn(key, l.value)));
}

/** `file:line` of a unit line (the drop-in it comes from, else `fallback`, the unit's source). */
export const whereIs = (l: UnitLine, fallback: string): string => `${l.file ?? fallback}:${l.line}`;

/**
 * The drop-in directories systemd searches for `name`, most specific first:
 * `foo-bar-baz.service.d`, `foo-bar-.service.d`, `foo-.service.d`, `service.d` (systemd.unit(5)).
 */
export function dropInDirs(name: string): string[] {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return [`${name}.d`];
  const stem = name.slice(0, dot);
  const type = name.slice(dot + 1);
  const dirs = [`${name}.d`];
  // Each truncation after a dash: `a-b-c` gives `a-b-`, `a-`. A name that itself ends in a dash is not truncated again.
  for (let i = stem.length - 2; i >= 0; i--) if (stem[i] === '-') dirs.push(`${stem.slice(0, i + 1)}.${type}.d`);
  dirs.push(`${type}.d`);
  return dirs;
}

/** A drop-in file: the directory it is in (a name from dropInDirs), its file name, where it was read, its text. */
export interface DropIn {
  dir: string;
  file: string;
  source: string;
  text: string;
}

/**
 * The drop-ins systemd applies to `name`, in the order it applies them (by file name; the more specific directory wins
 * a name).
 */
export function applicableDropIns(name: string, dropIns: readonly DropIn[]): DropIn[] {
  const dirs = dropInDirs(name);
  const byFile = new Map<string, DropIn>();
  for (const d of dropIns) {
    const rank = dirs.indexOf(d.dir);
    if (rank < 0 || !d.file.endsWith('.conf')) continue;
    const held = byFile.get(d.file);
    if (!held || rank < dirs.indexOf(held.dir)) byFile.set(d.file, d);
  }
  return [...byFile.values()].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** The unit as systemd loads it: the unit file's lines, then each applicable drop-in's lines in order. */
export function composeUnit(
  name: string,
  main: { text: string; source: string },
  dropIns: readonly DropIn[],
): { unit: UnitFile; applied: DropIn[] } {
  const applied = applicableDropIns(name, dropIns);
  const lines = [
    ...parseUnit(main.text, main.source).lines,
    ...applied.flatMap((d) => parseUnit(d.text, d.source).lines),
  ];
  return { unit: { lines }, applied };
}

/**
 * systemd.service(5): `Type=` defaults to simple (exec/notify/dbus/forking/idle behave alike here); only
 * `Type=oneshot` may have several `ExecStart=` lines — any other type with more than one is refused at load
 * ("has more than one ExecStart= setting, which is only allowed for Type=oneshot services. Refusing.").
 */
export function execStartRule(unit: UnitFile, source: string): string | undefined {
  const exec = listSetting(unit, 'Service', 'ExecStart');
  const type = lastSetting(unit, 'Service', 'Type')?.value ?? 'simple';
  if (exec.length > 1 && type !== 'oneshot') {
    return `${exec.length} ExecStart= lines (${exec.map((l) => whereIs(l, source)).join(', ')}) with Type=${type}: systemd refuses the unit ("more than one ExecStart= setting, which is only allowed for Type=oneshot services"), so it never runs`;
  }
  return undefined;
}
