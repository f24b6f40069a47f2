#!/usr/bin/env node
// The benchmark's fixture variant: the cc-ci fixture (made by
// test/fixtures/make-fixture.mjs into a temporary directory, never edited in
// place) with N hosts and an honest evaluation load per host.
//
//   node bench/make-hosts.mjs OUTDIR [N]
//
// What the copy gets:
// - nix/modules/bench-load.nix: a NixOS-style module computing a digest with
//   builtins (genList, listToAttrs, attrNames, hashString) over ROUNDS rounds
//   of WIDTH attributes each. Each round hashes the previous round's digest,
//   and the first is seeded with config.networking.hostName, so every host
//   does its own work: nothing can be shared or memoised between hosts, even
//   inside one evaluator. The digest becomes an environment variable of a
//   systemd unit, whose unit file is part of `etc`, hence of the toplevel:
//   evaluating toplevel.drvPath must do the work; pkgs.cc-ci-run does not.
// - hosts cc-ci-3 … cc-ci-N: copies of nix/hosts/cc-ci with their own
//   hostName, added to flake.nix's nixosConfigurations.
// - every host's configuration.nix imports bench-load.nix.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeFixture, removeFixture } from '../test/fixtures/make-fixture.mjs';

/** Rounds × width calibrated for ≈2.5 s of evaluation CPU per host with Nix 2.8 on a 2-core runner. */
export const DEFAULT_LOAD = { rounds: 480, width: 1000 };

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@example.org',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@example.org',
  GIT_AUTHOR_DATE: '2025-06-30T00:00:00Z',
  GIT_COMMITTER_DATE: '2025-06-30T00:00:00Z',
};

function git(cwd, ...args) {
  return execFileSync('git', ['-c', 'protocol.file.allow=always', ...args], { cwd, env: gitEnv, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Host names of a bench repo with n hosts: the fixture's two, then cc-ci-3 … cc-ci-n. */
export function hostNames(n) {
  if (!Number.isInteger(n) || n < 2) throw new Error(`the bench needs at least 2 hosts, got ${n}`);
  return ['cc-ci', 'cc-ci-hetzner', ...Array.from({ length: n - 2 }, (_, i) => `cc-ci-${i + 3}`)];
}

export function loadModule({ rounds, width }) {
  return `# Benchmark load (bench/make-hosts.mjs, not part of the real fixture).
# An honest evaluation cost the host toplevel forces: ${rounds} rounds, each
# building an attrset of ${width} names hashed from the previous round's
# digest, seeded with this host's name (so no host shares another's work).
# The digest ends up in a unit file, i.e. in etc and the toplevel.
{ config, ... }:
let
  step = acc: i:
    let
      set = builtins.listToAttrs (builtins.genList
        (j: { name = builtins.hashString "md5" "\${acc}-\${toString i}-\${toString j}"; value = j; })
        ${width});
    in builtins.hashString "sha256" (builtins.concatStringsSep "," (builtins.attrNames set));
  digest = builtins.foldl' step config.networking.hostName (builtins.genList (i: i) ${rounds});
in
{
  systemd.services.bench-load = {
    description = "benchmark evaluation load";
    environment.BENCH_LOAD_DIGEST = digest;
    serviceConfig.Type = "oneshot";
  };
}
`;
}

function patch(file, find, replace) {
  const text = readFileSync(file, 'utf8');
  const found = typeof find === 'string' ? text.includes(find) : find.test(text);
  if (!found) throw new Error(`bench generator: ${file} has no ${find}; the fixture changed, update bench/make-hosts.mjs`);
  writeFileSync(file, text.replace(find, replace));
}

/**
 * Makes the bench repo at outDir (a git repo, committed, with the secrets/
 * submodule) and returns its host names.
 */
export function makeBenchRepo(outDir, { hosts = 2, load = DEFAULT_LOAD } = {}) {
  const dir = resolve(outDir);
  makeFixture(dir, { mutation: 'base' });
  const names = hostNames(hosts);
  const hostsDir = join(dir, 'nix', 'hosts');
  for (const name of names.slice(2)) {
    cpSync(join(hostsDir, 'cc-ci'), join(hostsDir, name), { recursive: true });
    patch(join(hostsDir, name, 'configuration.nix'), 'networking.hostName = "cc-ci";', `networking.hostName = "${name}";`);
  }
  if (names.length > 2) {
    patch(join(dir, 'flake.nix'), /(nixosConfigurations\s*=\s*\{\n)/, `$1${names.slice(2).map((n) => `        ${n} = mkHost "${n}";\n`).join('')}`);
  }
  writeFileSync(join(dir, 'nix', 'modules', 'bench-load.nix'), loadModule(load));
  for (const name of names) {
    patch(join(hostsDir, name, 'configuration.nix'), 'imports = [', 'imports = [\n    ../../modules/bench-load.nix');
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', `bench: ${hosts} hosts with evaluation load`);
  return { dir, hosts: names };
}

/**
 * A new commit whose only change is a comment in flake.nix: new tree, new
 * flake fingerprint, so Nix's evaluation cache has nothing for it (as for
 * every CI commit); the derivations stay the same, so builds are cached.
 */
export function resalt(dir, salt) {
  const flake = join(dir, 'flake.nix');
  const text = readFileSync(flake, 'utf8').replace(/^# bench-salt: .*\n/, '');
  writeFileSync(flake, `# bench-salt: ${salt}\n${text}`);
  git(dir, 'commit', '-qam', `salt ${salt}`);
  return git(dir, 'rev-parse', 'HEAD').trim();
}

export function removeBenchRepo(dir) {
  removeFixture(dir);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [out, n = '2'] = process.argv.slice(2);
  if (!out) {
    console.error('usage: make-hosts.mjs OUTDIR [N]');
    process.exitCode = 2;
  } else {
    if (existsSync(out)) console.error(`make-hosts: replacing ${out}`);
    const { dir, hosts } = makeBenchRepo(out, { hosts: Number(n) });
    console.log(`${dir} ${hosts.join(',')}`);
  }
}
