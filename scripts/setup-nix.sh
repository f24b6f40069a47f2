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
# key = value pairs this project needs: flakes; root without a daemon; no
# network. The sandbox and build users are not switched on here: nixenv-verify
# passes them on its own nix calls (src/nix/isolation.ts) when the nixbld group
# below has members, so other nix users of the host keep their settings.
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

# Build users: untrusted builds then run as nixbld<N> in Nix's sandbox, never as
# root (nix.conf(5) build-users-group; Nix counts the group's listed members).
# groupadd/useradd work offline. NIXENV_BUILD_USERS=0 skips this.
if [ "${NIXENV_BUILD_USERS:-1}" != 0 ] && [ "$(id -u)" = 0 ] && command -v groupadd >/dev/null 2>&1; then
  if ! getent group nixbld >/dev/null; then
    groupadd --system nixbld
    echo "setup-nix: created group nixbld" >&2
  fi
  nologin=$(command -v nologin || echo /usr/sbin/nologin)
  for n in $(seq 1 "${NIXENV_BUILD_USER_COUNT:-8}"); do
    if ! getent passwd "nixbld$n" >/dev/null; then
      useradd --system --no-create-home --home-dir /var/empty --shell "$nologin" \
        --gid nixbld --groups nixbld --comment "Nix build user $n" "nixbld$n"
      echo "setup-nix: created build user nixbld$n" >&2
    fi
  done
fi
nix --version >&2
