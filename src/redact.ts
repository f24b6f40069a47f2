// The one way secret values are hidden, in logs and in every written output.

/** Every occurrence of each secret replaced by `***`; longest first, so a secret containing another is hidden whole. */
export function redact(text: string, secrets: readonly string[]): string {
  return secrets
    .filter((s) => s !== '')
    .sort((a, b) => b.length - a.length)
    .reduce((out, s) => out.split(s).join('***'), text);
}
