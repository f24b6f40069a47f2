#!/usr/bin/env bash
# (c) The claim's HOW 1-5 (/work/shared/seeds/000_c6baa105d7713fea.txt) as
# written: commands one after the other, in the repository, as a reviewer
# would paste them. `nix build …toplevel --out-link` stands in for
# `nixos-rebuild build --flake '.?submodules=1#HOST'` (which runs that build
# and leaves ./result; the links go to $SCRATCH to keep the tree clean).
#   REPO=dir HOSTS=a,b SPAWNLOG=file SCRATCH=dir bash bench/claim.sh
set -euo pipefail
cd "$REPO"
nixc() { echo nix >>"$SPAWNLOG"; nix "$@"; }
IFS=, read -ra hosts <<<"$HOSTS"
fail() { echo "claim.sh: $*" >&2; exit 1; }
q() { "$@" >/dev/null; }

# HOW 1: builds succeed, host by host.
for h in "${hosts[@]}"; do
  nixc build --out-link "$SCRATCH/result-$h" ".?submodules=1#nixosConfigurations.$h.config.system.build.toplevel" 2>"$SCRATCH/build-$h.log"
  ! grep -q collision "$SCRATCH/build-$h.log" || fail "$h: collision"
done

# HOW 2: single source (grep proofs).
[ "$(grep -rn withPackages nix/ | wc -l)" = 1 ] || fail "withPackages hits"
q grep -rn withPackages nix/modules/packages.nix
[ "$(grep -rn "pytest playwright" nix/ | wc -l)" = 1 ] || fail "pytest playwright hits"
q grep -rn ccciRuntimeTools nix/
[ "$(grep -rn 'ccciRuntimeTools =' nix/ | wc -l)" = 1 ] || fail "ccciRuntimeTools defined more than once"
for h in "${hosts[@]}"; do q grep -n 'pkgs.ccciRuntimeTools' "nix/hosts/$h/configuration.nix"; done
! grep -qE 'withPackages|python3|/run/current-system/sw/bin' nix/modules/nightly-sweep.nix || fail "nightly-sweep.nix"
q grep -n 'runtimeInputs = \[ pkgs.cc-ci-run \];' nix/modules/nightly-sweep.nix
q grep -n 'exec cc-ci-run' nix/modules/nightly-sweep.nix

# HOW 3: the built wrapper's PATH carries the 15 expected tools.
CCRUN=$(nixc eval --raw '.?submodules=1#nixosConfigurations.cc-ci-hetzner.pkgs.cc-ci-run')
pathline=$(grep '^export PATH' "$CCRUN/bin/cc-ci-run")
for t in python3-3.12.8-env abra-0.13.0-beta docker-27.5.1 git-2.47.2 git-lfs-3.6.1 bash-5.2p37 coreutils-9.5 \
  util-linux-2.39.4 curl-8.12.1 jq-1.7.1 gnused-4.9 gnugrep-3.11 gnutar-1.35 openssl-3.3.3 procps-4.0.4; do
  grep -qE -- "/nix/store/[a-z0-9]{32}-$t(-bin)?/bin" <<<"$pathline" || fail "wrapper PATH lacks $t"
done

# HOW 4: the sweep wrapper and the Drone step run the byte-identical cc-ci-run.
q grep -n 'cc-ci-run runner/run_recipe_ci.py' .drone.yml
for h in "${hosts[@]}"; do
  top=$(readlink -f "$SCRATCH/result-$h")
  unit=$(readlink -f "$top/etc/systemd/system/cc-ci-nightly-sweep.service")
  sweep=$(sed -n 's/^ExecStart=//p' "$unit")
  grep '^export PATH' "$sweep" | grep -qF "$CCRUN/bin" || fail "$h: sweep does not use $CCRUN"
  [ "$(readlink -f "$top/sw/bin/cc-ci-run")" = "$(readlink -f "$CCRUN/bin/cc-ci-run")" ] || fail "$h: system cc-ci-run differs"
done

# HOW 5: identical systemPackages lines; git-lfs and openssl on every host's sw/bin.
for h in "${hosts[@]}"; do
  diff <(grep systemPackages nix/hosts/cc-ci/configuration.nix) <(grep systemPackages "nix/hosts/$h/configuration.nix") >/dev/null || fail "$h: systemPackages differ"
  [ "$(ls "$(nixc eval --raw ".?submodules=1#nixosConfigurations.$h.config.system.build.toplevel")/sw/bin/" | grep -cE '^(git-lfs|openssl)$')" = 2 ] || fail "$h: git-lfs/openssl missing"
done
