// Picks the lines of a nix log a reviewer needs: errors, collisions, the tail.

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const DECISIVE =
  /(error|collision|colliding|failed|cannot|not found|undefined variable|does not provide|is not|missing|denied|timed out)/i;

export const stripAnsi = (text: string): string => text.replace(ANSI, '');

export function logExcerpt(log: string, { max = 30, tail = 8 } = {}): string[] {
  const lines = collapseRepeats(
    stripAnsi(log)
      .split('\n')
      .map((l) => l.trimEnd())
      // Nix's own eval-cache contention ("error (ignored): SQLite database … is busy") is not about the repository.
      .filter((l) => l.trim() !== '' && !/^error \(ignored\): SQLite database .* is busy/.test(stripAnsi(l).trim())),
  );
  const picked = new Set<number>();
  lines.forEach((l, i) => {
    if (DECISIVE.test(l)) picked.add(i);
  });
  for (let i = Math.max(0, lines.length - tail); i < lines.length; i++) picked.add(i);
  const ordered = [...picked].sort((a, b) => a - b).map((i) => lines[i]);
  return ordered.length > max ? [...ordered.slice(0, max - 1), `… ${ordered.length - max + 1} more lines`] : ordered;
}

/**
 * A line that occurs more than once is kept once, where it first occurs, with
 * `(repeated N times)`: a remote-build failure prints the same lines for every
 * derivation, which would otherwise fill the excerpt.
 */
export function collapseRepeats(lines: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l.trim(), (counts.get(l.trim()) ?? 0) + 1);
  const seen = new Set<string>();
  const out: string[] = [];
  for (const l of lines) {
    const key = l.trim();
    if (seen.has(key)) continue;
    seen.add(key);
    const n = counts.get(key)!;
    out.push(n > 1 ? `${l} (repeated ${n} times)` : l);
  }
  return out;
}

/**
 * The message of a nix error. Nix 2.8 prints `error: <message>` first; newer Nix
 * (2.1x+) prints a bare `error:`, the `… while …` frames, and the message last,
 * indented (`       error: <message>`). Undefined when there is no error line.
 */
export function nixErrorMessage(log: string): string | undefined {
  const lines = stripAnsi(log)
    .split('\n')
    .map((l) => l.trimEnd());
  const bare = lines.findIndex((l) => /^error:\s*$/.test(l));
  if (bare >= 0) {
    let message: string | undefined;
    let firstLine: string | undefined;
    for (let i = bare + 1; i < lines.length; i++) {
      const l = lines[i];
      if (/^\S/.test(l)) break; // the next top-level message
      const m = /^\s+error:\s*(\S.*)$/.exec(l);
      if (m) message = m[1]!;
      // No trace, the message itself on the next line (2.26: "error:\n    Unable to start any build;").
      if (firstLine === undefined && l.trim() !== '') firstLine = l.trim();
    }
    if (message) return message;
    if (firstLine && !firstLine.startsWith('…')) return firstLine;
  }
  const first = lines.find((l) => /^error:\s*\S/.test(l));
  return first?.replace(/^error:\s*/, '');
}

export const REMOTE_BUILD_LINE = 'Failed to find a machine for remote build!';

/** Hints for remote-build failures: where builders are set, and what a daemon drops. */
export function remoteBuildHints(log: string, env: NodeJS.ProcessEnv): string[] {
  const text = stripAnsi(log);
  const hints: string[] = [];
  if (text.includes(REMOTE_BUILD_LINE)) {
    hints.push(
      'hint: no builder matches the derivation\'s system and features; pass builders with the nix_options setting (PLUGIN_NIX_OPTIONS), e.g. ["--option","builders","ssh://builder x86_64-linux"], or allow local builds (--max-jobs)',
    );
  }
  // 2.8: "unable to start any build"; 2.26: "Unable to start any build"; 2.34 with max-jobs 0: "local builds are
  // disabled".
  if (/unable to start any build|local builds are disabled/i.test(text) && env.NIX_REMOTE === 'daemon') {
    hints.push(
      "hint: NIX_REMOTE=daemon: the nix daemon silently drops builders and substituters passed by a user who is not in its trusted-users; configure them in the daemon's nix.conf or make the user trusted",
    );
  }
  return hints;
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
/**
 * A builder's log line without the `<derivation name>> ` prefix `nix build -L`
 * puts before it (`system-path> warning: collision …`). The same line read from
 * `nix log`, or printed by a build that was not the one that ran the builder,
 * has no prefix: evidence quotes the bare line, so two runs agree.
 */
export const withoutLogPrefix = (line: string): string => line.replace(/^[A-Za-z0-9+._?=-]+> /, '');

export function findCollisions(log: string): Collision[] {
  const out: Collision[] = [];
  for (const raw of stripAnsi(log).split('\n')) {
    const m =
      /(?:collision between|colliding subpath \(ignored\):)\s+[`'"‘]?(\S+?)['"’]?\s+and\s+[`'"‘]?(\S+?)['"’`]?(?:\s|$)/.exec(
        raw,
      );
    // `line` without Nix's build-log prefix: `nix build -L` prints `system-path> warning: …`, `nix log` the bare line.
    if (m)
      out.push({
        first: m[1],
        second: m[2],
        line: withoutLogPrefix(raw.trim()),
        warningOnly: /warning|ignored/i.test(raw),
      });
  }
  return out;
}
