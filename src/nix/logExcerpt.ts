// Picks the lines of a nix log a reviewer needs: errors, collisions, the tail.

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const DECISIVE = /(error|collision|colliding|failed|cannot|not found|undefined variable|does not provide|is not|missing|denied|timed out)/i;

export const stripAnsi = (text: string): string => text.replace(ANSI, '');

export function logExcerpt(log: string, { max = 30, tail = 8 } = {}): string[] {
  const lines = stripAnsi(log)
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  const picked = new Set<number>();
  lines.forEach((l, i) => {
    if (DECISIVE.test(l)) picked.add(i);
  });
  for (let i = Math.max(0, lines.length - tail); i < lines.length; i++) picked.add(i);
  const ordered = [...picked].sort((a, b) => a - b).map((i) => lines[i]!);
  return ordered.length > max ? [...ordered.slice(0, max - 1), `… ${ordered.length - max + 1} more lines`] : ordered;
}

export interface Collision {
  first: string;
  second: string;
  /** The log line, verbatim. */
  line: string;
  /** True when the builder went on (system-path's ignoreCollisions): only a warning. */
  warningOnly: boolean;
}

/** `collision between `A' and `B'` lines (nixpkgs buildEnv), error or warning. */
export function findCollisions(log: string): Collision[] {
  const out: Collision[] = [];
  for (const raw of stripAnsi(log).split('\n')) {
    const m = /(?:collision between|colliding subpath \(ignored\):)\s+[`'"‘]?(\S+?)['"’]?\s+and\s+[`'"‘]?(\S+?)['"’`]?(?:\s|$)/.exec(raw);
    if (m) out.push({ first: m[1]!, second: m[2]!, line: raw.trim(), warningOnly: /warning|ignored/i.test(raw) });
  }
  return out;
}
