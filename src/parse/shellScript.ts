// Reading generated wrapper scripts: their `export PATH=` line and what they exec.

export interface PathLine {
  lineNo: number;
  text: string;
  /** PATH entries in order; `$PATH` and `${PATH}` stay as written. */
  entries: string[];
}

function unquote(value: string): string {
  let out = '';
  let quote: string | undefined;
  for (const ch of value) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else out += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else {
      out += ch;
    }
  }
  return out;
}

/** Every `export PATH=…` (or `PATH=…`) assignment, as written by writeShellApplication or makeWrapper. */
export function findPathLines(script: string): PathLine[] {
  const lines = script.split('\n');
  const found: PathLine[] = [];
  lines.forEach((line, index) => {
    const m = /^\s*(?:export\s+)?PATH=(.*)$/.exec(line);
    if (!m) return;
    // makeWrapper writes PATH=${PATH:+':'$PATH':'}; drop that trailing shell noise.
    const value = unquote(m[1]!.replace(/\$\{PATH:\+[^}]*\}/g, ':$PATH').trim().replace(/;?\s*export PATH\s*$/, ''));
    found.push({ lineNo: index + 1, text: line.trim(), entries: value.split(':').filter((e) => e !== '') });
  });
  return found;
}

/** Words of a shell command line, quotes removed (enough for generated wrappers and CI steps). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | undefined;
  let started = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) words.push(current);
      current = '';
      started = false;
    } else if (ch === '#' && !started) {
      break;
    } else {
      current += ch;
      started = true;
    }
  }
  if (started) words.push(current);
  return words;
}

const PREFIX_WORDS = new Set(['exec', 'env', 'command', 'time', 'nice', 'nohup', 'sudo', '-E', '--']);

/** The program a command line runs: env assignments and exec/env/time prefixes skipped. */
export function commandWord(line: string): { program: string; args: string[] } | undefined {
  // Only the first command of `a && b` / `a; b` chains is the one we can attribute reliably;
  // callers split chains with splitCommands first.
  const words = shellWords(line);
  let i = 0;
  while (i < words.length && (PREFIX_WORDS.has(words[i]!) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!))) i++;
  if (i >= words.length) return undefined;
  return { program: words[i]!, args: words.slice(i + 1) };
}

/** Splits `a && b; c | d` into its simple commands. */
export function splitCommands(line: string): string[] {
  return line
    .split(/&&|\|\||;|\|/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Basename of a program word, so `/run/current-system/sw/bin/cc-ci-run` and `${pkgs.cc-ci-run}/bin/cc-ci-run` name `cc-ci-run`. */
export function programName(program: string): string {
  const slash = program.lastIndexOf('/');
  return slash >= 0 ? program.slice(slash + 1) : program;
}

/** Lines of a script that invoke `program` (by bare name or by a path ending in it). */
export function invocationsOf(script: string, program: string): { lineNo: number; text: string; viaExec: boolean; word: string }[] {
  const hits: { lineNo: number; text: string; viaExec: boolean; word: string }[] = [];
  script.split('\n').forEach((line, index) => {
    for (const cmd of splitCommands(line)) {
      const parsed = commandWord(cmd);
      if (parsed && programName(parsed.program) === program) {
        hits.push({ lineNo: index + 1, text: line.trim(), viaExec: /^\s*exec\b/.test(cmd), word: parsed.program });
      }
    }
  });
  return hits;
}
