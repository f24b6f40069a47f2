#!/usr/bin/env bash
# The least Nix work nixenv-verify's six checks need, done by hand (the
# benchmark's (b), (e) and (q)). One pool of jobs, as many nix processes at
# once as there are cores (xargs -P), one nix process per job:
#   build  every host's toplevel built: `nix build` (evaluates and builds in
#          one process), plus the wrapper evaluated once (its built script is
#          read afterwards: it is in every closure);
#   eval   every host's toplevel.drvPath, plus the wrapper's script text;
#   both, and `prop` alone, HOW 6: the files Nix sees copied once (`nix flake
#          metadata --json` gives the source store path), one canary edit,
#          then one evaluation per host of the copy returning only what the
#          three consumers need: the wrapper's text (its PATH line), the
#          names of environment.systemPackages, and the sweep unit's text
#          (config.systemd.units."cc-ci-nightly-sweep.service".text, whose
#          ExecStart names what the timer starts).
#   REPO=dir HOSTS=a,b SPAWNLOG=file [CORES=n] bash bench/least.sh build|eval|prop
set -euo pipefail
ref="$REPO?submodules=1"
sweep=cc-ci-nightly-sweep
nixc() { echo nix >>"$SPAWNLOG"; exec nix --extra-experimental-features 'nix-command flakes' "$@"; }

if [ "${1:-}" = --job ]; then
  tmp=$3
  case "$2" in
    build) nixc build --no-link "$ref#nixosConfigurations.$4.config.system.build.toplevel" >/dev/null ;;
    drv) nixc eval --raw "$ref#nixosConfigurations.$4.config.system.build.toplevel.drvPath" >/dev/null ;;
    wrapper) nixc eval --raw "$ref#nixosConfigurations.$4.pkgs.cc-ci-run" >"$tmp/wrapper" ;;
    wrapper-text) nixc eval --raw "$ref#nixosConfigurations.$4.pkgs.cc-ci-run.text" >"$tmp/wrapper" ;;
    copy)
      # HOW 6 preparation: the source Nix sees, copied; the canary appended
      # to ccciRuntimeTools (a pure derivation, evaluated, never built).
      src=$(echo nix >>"$SPAWNLOG"; nix --extra-experimental-features 'nix-command flakes' flake metadata --json "$ref" | jq -r .path)
      cp -r --no-preserve=mode "$src" "$tmp/source.new"
      canary="bench-canary-$(basename "$src" | cut -c1-12)"
      sed -i "s|ccciRuntimeTools = with final; \[|&\n          (builtins.derivation { name = \"$canary\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; args = [ \"-c\" \"exit 1\" ]; })|" \
        "$tmp/source.new/nix/modules/packages.nix"
      grep -q "$canary" "$tmp/source.new/nix/modules/packages.nix"
      echo "$canary" >"$tmp/canary"
      mv "$tmp/source.new" "$tmp/source"
      ;;
    copy-eval)
      # Queued after the copy job; waits for it only if it is still running.
      while [ ! -e "$tmp/canary" ]; do sleep 0.01; done
      nixc eval --json "$tmp/source#nixosConfigurations.$4" --apply "h: let u = h.config.systemd.units.\"$sweep.service\"; in {
        wrapper = h.pkgs.cc-ci-run.text;
        systemPackages = map (p: p.name) h.config.environment.systemPackages;
        sweep = u.text;
      }" >"$tmp/copy-$4.json"
      ;;
    *) exit 2 ;;
  esac
  exit 0
fi

mode=${1:?usage: least.sh build|eval|prop}
IFS=, read -ra hosts <<<"$HOSTS"
tmp="$(mktemp -d /tmp/nixenv-verify-bench-least.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
{
  echo "copy $tmp -"
  case "$mode" in
    build) for h in "${hosts[@]}"; do echo "build $tmp $h"; done; echo "wrapper $tmp ${hosts[0]}" ;;
    eval) for h in "${hosts[@]}"; do echo "drv $tmp $h"; done; echo "wrapper-text $tmp ${hosts[0]}" ;;
    prop) ;;
    *) echo "least.sh: unknown mode $mode" >&2; exit 2 ;;
  esac
  for h in "${hosts[@]}"; do echo "copy-eval $tmp $h"; done
} | xargs -P "${CORES:-$(nproc)}" -L1 bash "$0" --job

# What the checks read from the results (nothing here runs nix).
case "$mode" in
  build) grep -q '^export PATH=' "$(cat "$tmp/wrapper")/bin/cc-ci-run" ;;
  eval) grep -q '^export PATH=' "$tmp/wrapper" ;;
esac
canary=$(cat "$tmp/canary")
for h in "${hosts[@]}"; do
  jq -e --arg c "$canary" '(.wrapper | test("export PATH=.*" + $c)) and (.systemPackages | index("cc-ci-run") != null) and (.systemPackages | index($c) != null) and (.sweep | test("ExecStart="))' \
    "$tmp/copy-$h.json" >/dev/null || { echo "least.sh: $h: the canary did not reach every consumer" >&2; exit 1; }
done
