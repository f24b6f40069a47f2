// Nix's stored build logs read from their files (src/nix/storedLog.ts), against `nix log` where this machine has logs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TooLargeError } from '../../src/bounded.js';
import { CheckInputError } from '../../src/errors.js';
import { bunzip2, readStoredLog, storedLogFiles } from '../../src/nix/storedLog.js';

const COLLISION = 'warning: collision between /nix/store/a/bin/x and /nix/store/b/bin/x\n';
// bzip2 of COLLISION, and of 300 000 × "a" (a small file that decompresses to much more).
const COLLISION_BZ2 = Buffer.from(
  'QlpoOTFBWSZTWZKVwDMAAB/ZgAAQQACAED6lnMAgAFQlQ0yABoNU/Knqeo/UEbSby0psG/BIkXtG0iDGhDcEGtIGujQyXceRxhkUuVekxT4u5IpwoSElK4Bm',
  'base64',
);
const RUN_BZ2 = Buffer.from('QlpoOTFBWSZTWXn2sSkAAkwBgKAABAAACCAAMMwFKaYURsRRHi7kinChIPPtYlI=', 'base64');

const DRV = `/nix/store/${'q'.repeat(32)}-system-path.drv`;
let logDir: string;
beforeEach(() => {
  logDir = mkdtempSync(path.join(os.tmpdir(), 'nv-logs-'));
});
afterEach(() => rmSync(logDir, { recursive: true, force: true }));

const put = (rel: string, bytes: Buffer | string): void => {
  mkdirSync(path.dirname(path.join(logDir, rel)), { recursive: true });
  writeFileSync(path.join(logDir, rel), bytes);
};

describe('bunzip2', () => {
  test('one stream, several streams back to back (as bzip2 -d reads them)', () => {
    expect(bunzip2(COLLISION_BZ2).toString()).toBe(COLLISION);
    expect(bunzip2(Buffer.concat([COLLISION_BZ2, COLLISION_BZ2])).toString()).toBe(COLLISION + COLLISION);
    expect(bunzip2(RUN_BZ2).toString()).toBe('a'.repeat(300000));
  });

  test.each([
    ['not bzip2', Buffer.from('plain text, not compressed')],
    ['a stream cut short', COLLISION_BZ2.subarray(0, COLLISION_BZ2.length - 6)],
    [
      'a damaged block (CRC)',
      Buffer.concat([COLLISION_BZ2.subarray(0, 40), Buffer.from([0xff]), COLLISION_BZ2.subarray(41)]),
    ],
  ])('%s: cannot follow, never a partial log', (_name, bytes) => {
    expect(() => bunzip2(bytes)).toThrow(CheckInputError);
  });

  test('output past the limit stops decoding (a log bomb cannot exhaust the verifier)', () => {
    expect(() => bunzip2(RUN_BZ2, 'the log', 100000)).toThrow(TooLargeError);
    expect(() => bunzip2(RUN_BZ2, 'the log', 100000)).toThrow(/the log \(decompressed\).*100000 bytes/);
    expect(bunzip2(RUN_BZ2, 'the log', 300000).length).toBe(300000);
  });
});

describe('readStoredLog: the files Nix reads, in its order', () => {
  const base = path.basename(DRV);
  test.each([
    [
      'drvs/xx/rest.bz2 (compress-build-log, the default)',
      [[`drvs/qq/${base.slice(2)}.bz2`, COLLISION_BZ2]],
      COLLISION,
    ],
    ['drvs/xx/rest (uncompressed)', [[`drvs/qq/${base.slice(2)}`, 'plain log\n']], 'plain log\n'],
    [
      'the plain file wins over the .bz2',
      [
        [`drvs/qq/${base.slice(2)}`, 'plain\n'],
        [`drvs/qq/${base.slice(2)}.bz2`, COLLISION_BZ2],
      ],
      'plain\n',
    ],
    ['the old layout drvs/<name>', [[`drvs/${base}.bz2`, COLLISION_BZ2]], COLLISION],
    [
      'the new layout before the old',
      [
        [`drvs/${base}`, 'old\n'],
        [`drvs/qq/${base.slice(2)}`, 'new\n'],
      ],
      'new\n',
    ],
    ['no file: undefined (the caller asks nix log)', [], undefined],
    [
      'a .bz2 that does not decompress is skipped, as Nix skips it',
      [
        [`drvs/qq/${base.slice(2)}.bz2`, 'junk'],
        [`drvs/${base}`, 'old\n'],
      ],
      'old\n',
    ],
  ] as [string, [string, Buffer | string][], string | undefined][])('%s', (_name, files, expected) => {
    for (const [rel, bytes] of files) put(rel, bytes);
    expect(readStoredLog(DRV, logDir)).toBe(expected);
  });

  test.each([
    ['outside the store', `/tmp/${'q'.repeat(32)}-x.drv`],
    ['not a derivation', `/nix/store/${'q'.repeat(32)}-x`],
    ['a name with a path in it', `/nix/store/${'q'.repeat(32)}-x/../../etc/passwd.drv`],
    ['a store path that is not a hash', '/nix/store/..drv'],
  ])('%s: no file is read', (_name, drvPath) => {
    expect(storedLogFiles(drvPath, logDir)).toEqual([]);
    expect(readStoredLog(drvPath, logDir)).toBeUndefined();
  });

  test('NIX_LOG_DIR moves the log directory, as it does for Nix', () => {
    const before = process.env.NIX_LOG_DIR;
    process.env.NIX_LOG_DIR = logDir;
    try {
      expect(storedLogFiles(DRV)[0]).toBe(path.join(logDir, 'drvs', 'qq', path.basename(DRV).slice(2)));
    } finally {
      if (before === undefined) delete process.env.NIX_LOG_DIR;
      else process.env.NIX_LOG_DIR = before;
    }
  });
});

// The same text as `nix log` for logs this machine's Nix keeps (a fresh store has none: the test is then skipped).
describe('readStoredLog against nix log', () => {
  const drvsDir = '/nix/var/log/nix/drvs';
  const logs = existsSync(drvsDir)
    ? readdirSync(drvsDir)
        .flatMap((d) => readdirSync(path.join(drvsDir, d)).map((f) => `/nix/store/${d}${f.replace(/\.bz2$/, '')}`))
        .filter((d) => d.endsWith('.drv'))
        .slice(0, 25)
    : [];
  (logs.length ? test : test.skip)(`the same text as nix log (${logs.length} logs)`, () => {
    for (const drvPath of logs) {
      const nixLog = execFileSync('nix', ['log', drvPath], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      expect({ drvPath, log: readStoredLog(drvPath) }).toEqual({ drvPath, log: nixLog });
    }
  });
});
