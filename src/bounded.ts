// Bounded resources (issue 16): every file the verifier parses is read through here, with a size
// limit; the parsers bound their nesting with the same depth. Above a limit a check says
// "cannot follow: …" naming the file and the limit (an error, never a pass), instead of running
// out of memory or stack.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { CheckInputError } from './errors.js';

/** Largest file the verifier reads to parse (.nix files, .drone.yml, unit files, scripts): 8 MiB. */
export const MAX_PARSED_BYTES = 8 * 1024 * 1024;
/**
 * Deepest nesting the shell parser follows (groups, subshells, substitutions, brackets) and its longest | && || chain:
 * mvdan-sh overflows the stack past about 120 levels.
 */
export const MAX_NESTING = 64;

const mib = (n: number): string => `${n / (1024 * 1024)} MiB`;

/** Thrown for a file over the limit: a check turns it into `error` with this message. */
export class TooLargeError extends CheckInputError {
  constructor(
    readonly file: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      `cannot follow: ${file} is ${size} bytes; the verifier parses files of at most ${mib(limit)} (${limit} bytes)`,
    );
    this.name = 'TooLargeError';
  }
}

/** Thrown when a parser would nest deeper than MAX_NESTING. */
export class TooDeepError extends CheckInputError {
  constructor(
    readonly where: string,
    readonly limit = MAX_NESTING,
    what?: string,
  ) {
    super(
      what
        ? `cannot follow: ${what} at ${where} (the parser's limit is ${limit})`
        : `cannot follow: nesting deeper than ${limit} at ${where}`,
    );
    this.name = 'TooDeepError';
  }
}

/**
 * The bytes of a regular file, at most `limit` (one descriptor: the size checked is the size
 * read; a file that grows while read is still cut at limit+1 and refused). `shown` names it.
 */
export function readBoundedBytes(file: string, shown: string = file, limit = MAX_PARSED_BYTES): Buffer {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (st.isDirectory())
      throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${file}'`), { code: 'EISDIR' });
    if (!st.isFile()) throw new CheckInputError(`cannot follow: ${shown} is not a regular file`);
    if (st.size > limit) throw new TooLargeError(shown, st.size, limit);
    // Read to the end (a file may grow after fstat), never more than limit+1 bytes.
    let buf = Buffer.allocUnsafe(Math.min(st.size, limit) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (buf.length > limit) break;
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, limit + 1));
        buf.copy(bigger, 0, 0, got);
        buf = bigger;
      }
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    if (got > limit) throw new TooLargeError(shown, got, limit);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** readBoundedBytes as UTF-8 text. */
export const readBoundedText = (file: string, shown: string = file, limit = MAX_PARSED_BYTES): string =>
  readBoundedBytes(file, shown, limit).toString('utf8');
