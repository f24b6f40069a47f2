// The pinned nixpkgs lib the fixtures are built on (issue 19: two commands on a
// plain clone): given as a tarball, or fetched from the pinned archive URL and
// accepted only with the pinned NAR hash; with neither, one line and exit 2.
// The "network" here is a local HTTP server serving archives shaped like
// GitHub's nixpkgs archive (nixpkgs-<rev>/lib, lib/tests, pkgs/, COPYING).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  NIXPKGS_LIB_PIN,
  NixpkgsLibMissing,
  checkNixpkgsLibAvailable,
  ensureNixpkgsLib,
  findNixpkgsLibTarball,
} from '../fixtures/make-fixture.mjs';
import { repoRoot } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-nixpkgs-lib-'));
let server: ChildProcess;
let base = '';

/** A GitHub-shaped archive of nixpkgs at the pinned rev, from the vendored lib; `tamper` edits one lib file. */
function archive(name: string, tamper: boolean): void {
  const top = path.join(work, name, `nixpkgs-${NIXPKGS_LIB_PIN.rev}`);
  mkdirSync(top, { recursive: true });
  execFileSync('tar', ['-xzf', findNixpkgsLibTarball()!, '-C', top]);
  mkdirSync(path.join(top, 'lib', 'tests'), { recursive: true });
  writeFileSync(path.join(top, 'lib', 'tests', 'misc.nix'), '{ }\n');
  mkdirSync(path.join(top, 'pkgs'), { recursive: true });
  writeFileSync(path.join(top, 'pkgs', 'top-level.nix'), '{ }\n');
  if (tamper) appendFileSync(path.join(top, 'lib', 'trivial.nix'), '# changed\n');
  execFileSync('tar', ['-czf', path.join(work, `${name}.tar.gz`), '-C', path.dirname(top), path.basename(top)]);
}

/** A static file server over `work`, in a child process: ensureNixpkgsLib blocks this one while it downloads. */
const SERVER = `
  const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
  const dir = process.argv[1];
  const server = http.createServer((req, res) => {
    fs.readFile(path.join(dir, path.basename(req.url || '')), (err, body) => {
      if (err) return res.writeHead(404).end();
      res.writeHead(200, { 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

beforeAll(async () => {
  archive('good', false);
  archive('tampered', true);
  server = spawn(process.execPath, ['-e', SERVER, work], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((done) =>
    server.stdout!.once('data', (d: Buffer) => done(d.toString().trim())),
  );
  base = `http://127.0.0.1:${port}`;
});
afterAll(() => {
  server.kill();
  rmSync(work, { recursive: true, force: true });
});

const emptyVendor = (): string => mkdtempSync(path.join(work, 'vendor-'));
const cache = (): string => mkdtempSync(path.join(work, 'cache-'));

describe('the pinned nixpkgs lib', () => {
  test('fetched from the archive: lib/ and COPYING only, with the pinned NAR hash', () => {
    const lib = ensureNixpkgsLib({
      tarball: null,
      cacheRoot: cache(),
      env: { NIXENV_NIXPKGS_LIB_URL: `${base}/good.tar.gz` },
    });
    expect(lib.narHash).toBe(NIXPKGS_LIB_PIN.narHash);
    expect(readFileSync(path.join(lib.dir, 'lib', 'default.nix'), 'utf8')).toContain('lib');
    expect(() => readFileSync(path.join(lib.dir, 'pkgs', 'top-level.nix'))).toThrow();
    expect(() => readFileSync(path.join(lib.dir, 'lib', 'tests', 'misc.nix'))).toThrow();
  });

  test('the vendored tarball extracts to the same NAR hash', () => {
    expect(ensureNixpkgsLib({ cacheRoot: cache() }).narHash).toBe(NIXPKGS_LIB_PIN.narHash);
  });

  test('an archive with other content is refused', () => {
    expect(() =>
      ensureNixpkgsLib({
        tarball: null,
        cacheRoot: cache(),
        env: { NIXENV_NIXPKGS_LIB_URL: `${base}/tampered.tar.gz` },
      }),
    ).toThrow(new RegExp(`has NAR hash sha256-\\S+, expected ${NIXPKGS_LIB_PIN.narHash.replace(/[+/=]/g, '\\$&')}`));
  });

  test.each([
    ['no tarball, the URL refuses connections', { NIXENV_NIXPKGS_LIB_URL: 'http://127.0.0.1:9/nixpkgs.tar.gz' }],
    ['no tarball, the URL answers 404', { NIXENV_NIXPKGS_LIB_URL: 'missing' }],
  ])('%s: NixpkgsLibMissing, one line naming both ways', async (_n, env) => {
    const e = {
      NIXENV_NIXPKGS_LIB_URL:
        env.NIXENV_NIXPKGS_LIB_URL === 'missing' ? `${base}/missing.tar.gz` : env.NIXENV_NIXPKGS_LIB_URL,
    };
    const err = await checkNixpkgsLibAvailable({
      env: e,
      cacheRoot: cache(),
      vendorDir: emptyVendor(),
      timeoutMs: 5000,
    }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(NixpkgsLibMissing);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain('NIXENV_NIXPKGS_LIB_TARBALL=');
    expect(message).toContain('network access to github.com');
  });

  test('the URL answers: available', async () => {
    await expect(
      checkNixpkgsLibAvailable({
        env: { NIXENV_NIXPKGS_LIB_URL: `${base}/good.tar.gz` },
        cacheRoot: cache(),
        vendorDir: emptyVendor(),
      }),
    ).resolves.toBeUndefined();
  });

  test('--check-lib with a tarball path naming no file: one line on stderr, exit 2', () => {
    const run = spawnSync(
      process.execPath,
      [path.join(repoRoot, 'test', 'fixtures', 'make-fixture.mjs'), '--check-lib'],
      {
        env: { ...process.env, NIXENV_NIXPKGS_LIB_TARBALL: path.join(work, 'nope.tar.gz') },
        encoding: 'utf8',
      },
    );
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(
      /^nixenv-verify: the pinned nixpkgs lib \(nixpkgs 0ecad1f98f4d\) is missing \(NIXENV_NIXPKGS_LIB_TARBALL=\S+nope\.tar\.gz does not exist\); provide it with/,
    );
  });
});
