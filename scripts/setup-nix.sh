#!/usr/bin/env bash
# Installs and configures Nix (Debian's nix-bin) and git, idempotently, for
# root without a daemon. An existing /etc/nix/nix.conf is never overwritten:
# only the keys it lacks are appended, and each change is printed.
set -euo pipefail

need=()
command -v nix >/dev/null 2>&1 || need+=(nix-bin)
command -v git >/dev/null 2>&1 || need+=(git)
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup-nix: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
  }
fi

conf_dir="${NIX_CONF_DIR:-/etc/nix}"
conf="$conf_dir/nix.conf"
mkdir -p "$conf_dir"
# key = value pairs this project needs: flakes; root without a daemon or build
# users; no sandbox (fixture builders use the host's /bin/sh); no network.
wanted=(
  "experimental-features = nix-command flakes"
  "build-users-group ="
  "sandbox = false"
  "substituters ="
  "flake-registry ="
)
if [ ! -f "$conf" ]; then
  printf '%s\n' "# written by nixenv-verify scripts/setup-nix.sh" "${wanted[@]}" > "$conf"
  echo "setup-nix: wrote $conf" >&2
else
  for line in "${wanted[@]}"; do
    key="${line%% =*}"
    if ! grep -Eq "^[[:space:]]*${key}[[:space:]]*=" "$conf"; then
      printf '%s\n' "$line" >> "$conf"
      echo "setup-nix: appended to $conf: $line" >&2
    fi
  done
fi
nix --version >&2
