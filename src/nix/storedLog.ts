// Nix's stored build logs, read from their files without a `nix log` process (issue 21: one fewer nix per host).
//
// Where Nix keeps them (Nix 2.8 … 2.34, libstore LocalFSStore::getBuildLog / getBuildLogExact): for a derivation
// `<hash>-<name>.drv`, the log directory holds `drvs/<first two characters>/<the rest>`, or that name with `.bz2`
// (written when `compress-build-log` is on, the default); an older layout `drvs/<whole name>` is read after it. The
// plain file wins over the `.bz2`; a `.bz2` that does not decompress is skipped, as Nix skips it. The log directory
// is `NIX_LOG_DIR`, else /nix/var/log/nix (settings.nixLogDir).
// What is not found there (no file for this .drv: the log is on a binary cache, or another .drv built the same output
// and `nix log <out>` follows the deriver Nix recorded) is left to `nix log` by the caller, so the answer is Nix's.
//
// The log comes from a builder the repository controls: the file and what it decompresses to are bounded
// (MAX_LOG_BYTES each); over that the check cannot follow, it does not read part of a log and call it whole.
import { existsSync } from 'node:fs';
import path from 'node:path';
import bzip2 from 'unbzip2-stream/lib/bzip2.js';
import bitIterator from 'unbzip2-stream/lib/bit_iterator.js';
import { readBoundedBytes, TooLargeError } from '../bounded.js';
import { CheckInputError } from '../errors.js';

/** Largest stored log read, compressed or not: 64 MiB (a system-path log is a few KiB). */
export const MAX_LOG_BYTES = 64 * 1024 * 1024;

const DRV_BASENAME = /^[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]+\.drv$/;

/** The candidate files of a derivation's log, in the order Nix tries them. */
export function storedLogFiles(drvPath: string, logDir = process.env.NIX_LOG_DIR || '/nix/var/log/nix'): string[] {
  const base = path.basename(drvPath);
  if (!DRV_BASENAME.test(base) || path.dirname(drvPath) !== '/nix/store') return [];
  const files: string[] = [];
  for (const p of [path.join(logDir, 'drvs', base.slice(0, 2), base.slice(2)), path.join(logDir, 'drvs', base)])
    files.push(p, `${p}.bz2`);
  return files;
}

/** The derivation's stored log from its file, or undefined when none of Nix's files for it exists. */
export function readStoredLog(drvPath: string, logDir?: string): string | undefined {
  for (const file of storedLogFiles(drvPath, logDir)) {
    if (!existsSync(file)) continue;
    const bytes = readBoundedBytes(file, `the stored log ${file}`, MAX_LOG_BYTES);
    if (!file.endsWith('.bz2')) return bytes.toString('utf8');
    try {
      return bunzip2(bytes, file).toString('utf8');
    } catch (e) {
      // Nix skips a .bz2 it cannot decompress and tries the next file; a log over the bound is not skipped.
      if (e instanceof TooLargeError) throw e;
    }
  }
  return undefined;
}

/** bzip2 streams (one or more, as `bzip2 -d` reads them), stopped as soon as the output passes MAX_LOG_BYTES. */
export function bunzip2(input: Buffer, shown = 'bzip2 data', limit = MAX_LOG_BYTES): Buffer {
  const out = Buffer.allocUnsafe(Math.min(limit, Math.max(64 * 1024, input.length * 8)));
  let buf = out;
  let length = 0;
  const push = (byte: number): void => {
    if (length === buf.length) {
      if (length >= limit) throw new TooLargeError(`${shown} (decompressed)`, length + 1, limit);
      const bigger = Buffer.allocUnsafe(Math.min(limit, buf.length * 2));
      buf.copy(bigger, 0, 0, length);
      buf = bigger;
    }
    buf[length++] = byte;
  };
  let given = false;
  const bits = bitIterator(() => {
    if (given) throw new CheckInputError(`cannot follow: ${shown} ends inside a bzip2 stream`);
    given = true;
    return input;
  });
  try {
    while (bits.bytesRead < input.length) {
      const blockSize = bzip2.header(bits);
      const blockBuffer = new Int32Array(100000 * blockSize);
      let crc: number | null = 0;
      while (crc !== null) crc = bzip2.decompress(bits, push, blockBuffer, blockBuffer.length, crc);
    }
  } catch (e) {
    if (e instanceof CheckInputError) throw e;
    throw new CheckInputError(`cannot follow: ${shown} is not valid bzip2 (${(e as Error).message})`);
  }
  return buf.subarray(0, length);
}
