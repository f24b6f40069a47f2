// The name nearest to a misspelt one, for "did you mean" in settings and spec messages.

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The words of a name (split at - _ . @ and spaces), sorted: equal for the same words in any order. */
const words = (name: string): string =>
  name
    .split(/[-_.@\s]+/)
    .filter(Boolean)
    .sort()
    .join(' ');

/**
 * The name among `names` nearest to a misspelt one (edit distance, or one is a prefix of the other), if near enough.
 */
export function closestName(name: string, names: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: { name: string; score: number } | undefined;
  for (const candidate of names) {
    const c = candidate.toLowerCase();
    // The same words in another order (drone-exec-runner for drone-runner-exec) are as near as one typo.
    const sameWords = words(lower) === words(c) && lower !== c;
    const score = sameWords ? 1 : levenshtein(lower, c) - (c.startsWith(lower) || lower.startsWith(c) ? 1 : 0);
    if (!best || score < best.score) best = { name: candidate, score };
  }
  return best && best.score <= Math.max(2, Math.floor(lower.length / 3)) ? best.name : undefined;
}
