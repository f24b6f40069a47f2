#!/usr/bin/env node
// The benchmark's fixture variant: the cc-ci fixture (made by
// test/fixtures/make-fixture.mjs into a temporary directory, never edited in
// place) with N hosts and an honest evaluation load per host.
//
//   node bench/make-hosts.mjs OUTDIR [N]
//
// What the copy gets:
// - nix/modules/bench-load.nix: a NixOS-style module whose evaluation cost
//   sits where real NixOS pays it, in module-system values other consumers
//   depend on, not in something only the toplevel forces. Three parts, each a
//   digest computed with builtins (genList, listToAttrs, attrNames,
//   hashString) over some rounds of WIDTH attributes, every round hashing the
//   previous digest, seeded with config.networking.hostName and the part's
//   name (nothing can be shared or memoised between hosts or parts):
//     list    the condition (mkIf) of a definition of
//             environment.systemPackages: whoever reads that list at all
//             (its names) pays it, like the many `mkIf cfg.enable` of NixOS;
//     package the derivation of `bench-tool`, a package in
//             environment.systemPackages: paid by whoever forces the
//             packages' outPath/drvPath (system-path, the toplevel), not by
//             reading their names;
//     service the ExecStart of ANOTHER service (bench-report): paid by
//             whoever forces every service's ExecStart or every unit's text
//             (etc, the toplevel), not by reading the sweep's unit alone.
//   The toplevel forces all three; the least work of HOW 6 (names of the
//   system packages, the wrapper text, the sweep unit's text) only `list`.
// - hosts cc-ci-3 … cc-ci-N: copies of nix/hosts/cc-ci with their own
//   hostName, added to flake.nix's nixosConfigurations.
// - every host's configuration.nix imports bench-load.nix.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeFixture, removeFixture } from '../test/fixtures/make-fixture.mjs';

/**
 * Rounds per part × width: about 3-4 ms of evaluation CPU per round with
 * Nix 2.8 on the (busy) 2-core runner, so ≈1.5 s per host in all (list
 * ≈0.15 s, package ≈0.7 s, service ≈0.7 s), on top of ≈0.3 s for the
 * fixture itself (BENCH_LOAD_SCALE multiplies the rounds).
 */
export const DEFAULT_LOAD = { list: 40, package: 200, service: 200, width: 1000 };

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
  return execFileSync('git', ['-c', 'protocol.file.allow=always', ...args], {
    cwd,
    env: gitEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}

/** Host names of a bench repo with n hosts: the fixture's two, then cc-ci-3 … cc-ci-n. */
export function hostNames(n) {
  if (!Number.isInteger(n) || n < 2) throw new Error(`the bench needs at least 2 hosts, got ${n}`);
  return ['cc-ci', 'cc-ci-hetzner', ...Array.from({ length: n - 2 }, (_, i) => `cc-ci-${i + 3}`)];
}

export function loadModule({ list, package: pkgRounds, service, width }) {
  return `# Benchmark load (bench/make-hosts.mjs, not part of the real fixture).
# Evaluation cost where real NixOS pays it (see bench/make-hosts.mjs):
#   list    ${list} rounds: the condition of a systemPackages definition;
#   package ${pkgRounds} rounds: the derivation of bench-tool, a system package;
#   service ${service} rounds: the ExecStart of the bench-report service.
# Each round builds an attrset of ${width} names hashed from the previous
# round's digest, seeded with this host's name and the part's name.
{ config, lib, pkgs, ... }:
let
  step = acc: i:
    let
      set = builtins.listToAttrs (builtins.genList
        (j: { name = builtins.hashString "md5" "\${acc}-\${toString i}-\${toString j}"; value = j; })
        ${width});
    in builtins.hashString "sha256" (builtins.concatStringsSep "," (builtins.attrNames set));
  digest = part: rounds: builtins.foldl' step "\${config.networking.hostName}-\${part}" (builtins.genList (i: i) rounds);
  benchTool = pkgs.mkPkg {
    pname = "bench-tool";
    version = "1.0";
    extra = "# bench load \${digest "package" ${pkgRounds}}";
  };
in
{
  environment.systemPackages = lib.mkIf (digest "list" ${list} != "") [ benchTool ];
  systemd.services.bench-report = {
    description = "benchmark evaluation load";
    serviceConfig = {
      Type = "oneshot";
      ExecStart = "\${pkgs.coreutils}/bin/true --digest=\${digest "service" ${service}}";
    };
  };
}
`;
}

function patch(file, find, replace) {
  const text = readFileSync(file, 'utf8');
  const found = typeof find === 'string' ? text.includes(find) : find.test(text);
  if (!found)
    throw new Error(`bench generator: ${file} has no ${find}; the fixture changed, update bench/make-hosts.mjs`);
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
    patch(
      join(hostsDir, name, 'configuration.nix'),
      'networking.hostName = "cc-ci";',
      `networking.hostName = "${name}";`,
    );
  }
  if (names.length > 2) {
    patch(
      join(dir, 'flake.nix'),
      /(nixosConfigurations\s*=\s*\{\n)/,
      `$1${names
        .slice(2)
        .map((n) => `        ${n} = mkHost "${n}";\n`)
        .join('')}`,
    );
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
