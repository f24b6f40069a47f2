// systemd unit files as systemd reads them: sections, `Key=Value` lines with
// backslash continuations, and the list settings the claim depends on
// (`Environment=` in order, the last assignment of a variable wins; an empty
// assignment resets the list; `ExecStart=` likewise).

export interface UnitLine {
  section: string;
  key: string;
  value: string;
  /** 1-based line of the key in the file. */
  line: number;
}

export interface UnitFile {
  lines: UnitLine[];
}

export function parseUnit(text: string): UnitFile {
  const lines: UnitLine[] = [];
  const raw = text.split('\n');
  let section = '';
  for (let i = 0; i < raw.length; i++) {
    const start = i;
    let line = raw[i]!;
    // A trailing backslash joins the next line (systemd replaces it with a space).
    while (/\\\s*$/.test(line) && i + 1 < raw.length) {
      line = `${line.replace(/\\\s*$/, ' ')}${raw[++i]!}`;
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
    lines.push({ section, key: trimmed.slice(0, eq).trim(), value: trimmed.slice(eq + 1).trim(), line: start + 1 });
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
    while (i < value.length && /\s/.test(value[i]!)) i++;
    if (i >= value.length) break;
    let word = '';
    while (i < value.length && !/\s/.test(value[i]!)) {
      const ch = value[i]!;
      if (ch === '"' || ch === "'") {
        const quote = ch;
        i++;
        while (i < value.length && value[i] !== quote) {
          if (value[i] === '\\' && i + 1 < value.length) {
            const next = value[i + 1]!;
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
}

/** Every `Environment=` assignment of the [Service] section in order (what systemd applies, the last one of a name wins). */
export function environmentAssignments(unit: UnitFile): EnvAssignment[] {
  const out: EnvAssignment[] = [];
  for (const l of listSetting(unit, 'Service', 'Environment')) {
    for (const word of unitWords(l.value)) {
      const eq = word.indexOf('=');
      if (eq > 0) out.push({ name: word.slice(0, eq), value: word.slice(eq + 1), line: l.line });
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
    return { program: first, args, line: l.line, text: `ExecStart=${l.value}` };
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
const TIMER_TRIGGERS = ['OnActiveSec', 'OnBootSec', 'OnStartupSec', 'OnUnitActiveSec', 'OnUnitInactiveSec', 'OnCalendar', 'OnClockChange', 'OnTimezoneChange'];

/** The timer's trigger lines (listSetting applies systemd's "empty value resets the list"). */
export function timerTriggers(unit: UnitFile): UnitLine[] {
  const isOn = (key: string, value: string): boolean => (key === 'OnClockChange' || key === 'OnTimezoneChange' ? /^(1|yes|true|on)$/i.test(value.trim()) : value.trim() !== '');
  return TIMER_TRIGGERS.flatMap((key) => listSetting(unit, 'Timer', key).filter((l) => isOn(key, l.value)));
}
