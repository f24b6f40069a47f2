#!/usr/bin/env bash
# (e) The least evaluation work eval mode needs, by hand: every host's
# toplevel drvPath (one `nix eval` per host, as many at once as there are
# cores) plus the wrapper's script text from its derivation.
#   REPO=dir HOSTS=a,b SPAWNLOG=file [CORES=n] bash bench/least-eval.sh
set -euo pipefail
ref="$REPO?submodules=1"
if [ "${1:-}" = --job ]; then
  echo nix >>"$SPAWNLOG"
  case "$2" in
    host) exec nix eval --raw "$ref#nixosConfigurations.$3.config.system.build.toplevel.drvPath" >/dev/null ;;
    wrapper) exec nix eval --raw "$ref#nixosConfigurations.$3.pkgs.cc-ci-run.text" >"$4" ;;
  esac
  exit 2
fi
IFS=, read -ra hosts <<<"$HOSTS"
out="$(mktemp /tmp/nixenv-verify-bench-wrapper.XXXXXX)"
trap 'rm -f "$out"' EXIT
{
  for h in "${hosts[@]}"; do echo "host $h"; done
  echo "wrapper ${hosts[0]} $out"
} | xargs -P "${CORES:-$(nproc)}" -L1 bash "$0" --job
grep -q '^export PATH=' "$out"
