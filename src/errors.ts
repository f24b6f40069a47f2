// Typed errors; the entrypoint maps them to exit codes in one place.

/** Exit 2: a setting is invalid. Names the PLUGIN_* variable and what is allowed. */
export class SettingsError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** Exit 2: the run cannot start (no nix, no flake directory, not a flake). */
export class PreflightError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'PreflightError';
  }
}

/** A nix command failed; carries the decisive lines of its log. */
export class NixCommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly excerpt: string[],
    readonly timedOut = false,
  ) {
    super(
      `${timedOut ? 'timed out' : `exit ${exitCode ?? 'signal'}`}: ${command}` +
        (excerpt.length ? `\n${excerpt.map((l) => `  | ${l}`).join('\n')}` : ''),
    );
    this.name = 'NixCommandError';
  }
}

/** A check's own input is missing or unreadable (e.g. packages.nix absent). */
export class CheckInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckInputError';
  }
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof SettingsError || error instanceof PreflightError) return error.exitCode;
  return 1;
}
