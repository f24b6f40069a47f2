#!/usr/bin/env bash
# (b) The least Nix work checks 1-5 need in build mode, by hand: one
# `nix build` per host toplevel (evaluates and builds it in one process), as
# many at once as there are cores, plus the one evaluation of the wrapper's
# store path, whose script is then read (the wrapper is in every closure).
#   REPO=dir HOSTS=a,b SPAWNLOG=file [CORES=n] bash bench/least-build.sh
set -euo pipefail
ref="$REPO?submodules=1"
if [ "${1:-}" = --job ]; then
  echo nix >>"$SPAWNLOG"
  case "$2" in
    build) exec nix build --no-link --json "$ref#nixosConfigurations.$3.config.system.build.toplevel" >/dev/null ;;
    wrapper) exec nix eval --raw "$ref#nixosConfigurations.$3.pkgs.cc-ci-run" >"$4" ;;
  esac
  exit 2
fi
IFS=, read -ra hosts <<<"$HOSTS"
out="$(mktemp /tmp/nixenv-verify-bench-wrapper.XXXXXX)"
trap 'rm -f "$out"' EXIT
{
  for h in "${hosts[@]}"; do echo "build $h"; done
  echo "wrapper ${hosts[0]} $out"
} | xargs -P "${CORES:-$(nproc)}" -L1 bash "$0" --job
grep -q '^export PATH=' "$(cat "$out")/bin/cc-ci-run"
