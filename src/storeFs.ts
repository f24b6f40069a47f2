// Reading the local filesystem: built store paths, and what kind a special file is.
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import { readBoundedText } from './bounded.js';
import path from 'node:path';
import { parseStorePath } from './parse/storePath.js';

export const exists = (p: string): boolean => existsSync(p);

/** What a special file is (`a FIFO`, `a socket`, …), or undefined for a file, directory or symlink. */
export const fileKind = (st: Stats): string | undefined =>
  st.isFIFO()
    ? 'a FIFO'
    : st.isSocket()
      ? 'a socket'
      : st.isCharacterDevice()
        ? 'a character device'
        : st.isBlockDevice()
          ? 'a block device'
          : undefined;

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function realpath(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

export function readlink(p: string): string | undefined {
  try {
    return lstatSync(p).isSymbolicLink() ? readlinkSync(p) : undefined;
  } catch {
    return undefined;
  }
}

export function listDir(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

/** A store file's text, at most MAX_PARSED_BYTES (bounded.ts). */
export const readText = (p: string): string => readBoundedText(p);

export function sameContent(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    if (sa.size !== sb.size) return false;
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

/** The store path (root) a file or symlink chain finally lands in. */
export function storeRootOf(p: string): string | undefined {
  const real = realpath(p);
  return real ? parseStorePath(real)?.root : undefined;
}

/** The script of a wrapper store path: the path itself when a file, else bin/<name> or its only bin/ entry. */
export function wrapperScript(storePath: string, name: string): string | undefined {
  if (!isDir(storePath)) return exists(storePath) ? storePath : undefined;
  const named = path.join(storePath, 'bin', name);
  if (exists(named)) return named;
  const bins = listDir(path.join(storePath, 'bin'));
  return bins.length === 1 ? path.join(storePath, 'bin', bins[0]) : undefined;
}
