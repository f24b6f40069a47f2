// Temporary directories no build can write.
//
// Contract: the directory is made by mkdtemp(3) (mode 0700, a fresh unguessable
// name, O_EXCL semantics: an existing name or symlink is never reused) under
// os.tmpdir() (TMPDIR, else /tmp). It is then checked with lstat: a real
// directory, owned by the verifier's uid, no group/other permission bits. The
// parent may be world-writable only with the sticky bit (as /tmp is), so no
// other uid (a build user) can rename or replace the directory; otherwise the
// parent must belong to the verifier's uid or root and not be writable by others.
// Anything else is an error naming the directory, never a silent fallback.
import { lstatSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class UnsafeTempDirError extends Error {}

export function privateTempDir(
  prefix: string,
  base: string = os.tmpdir(),
  uid: number = process.getuid?.() ?? -1,
): string {
  const parent = lstatSync(base);
  const otherWritable = (parent.mode & 0o022) !== 0;
  const sticky = (parent.mode & 0o1000) !== 0;
  if (!parent.isDirectory()) throw new UnsafeTempDirError(`temporary directory base ${base} is not a directory`);
  if (otherWritable && !sticky)
    throw new UnsafeTempDirError(
      `temporary directory base ${base} is writable by other users without the sticky bit (mode ${(parent.mode & 0o7777).toString(8)}): set TMPDIR to a private directory`,
    );
  if (!otherWritable && parent.uid !== uid && parent.uid !== 0)
    throw new UnsafeTempDirError(
      `temporary directory base ${base} belongs to uid ${parent.uid}, not to this verifier (uid ${uid}) or root`,
    );
  const dir = mkdtempSync(path.join(base, prefix));
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0)
    throw new UnsafeTempDirError(
      `temporary directory ${dir} is not private (uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)})`,
    );
  return dir;
}
