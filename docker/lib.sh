# shellcheck shell=bash disable=SC2034
# Shared by scripts/image-{base,build,smoke}.sh (sourced, not run).
# Podman on this kind of machine: Debian's podman 4.3.1, runc, cgroupfs,
# root, builds with --isolation chroot (no Docker engine here).

NIXENV_REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$NIXENV_REPO_ROOT/docker/containers.conf}

# Image names. The base images carry Docker Hub's names, so the Dockerfile's
# FROM lines are exactly what real users pull.
IMAGE_REPO=${IMAGE_REPO:-cc-ci/nixenv-verify}
IMAGE=${IMAGE:-$IMAGE_REPO:dev}
DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim
NODE_IMAGE=docker.io/library/node:20-bookworm-slim
# Caches live outside the repo.
NIXENV_CACHE=${NIXENV_CACHE:-/var/cache/nixenv-verify}

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Installs podman and friends from Debian when missing (machines are not kept).
ensure_podman() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "need root to apt-get install ${missing[*]}"
  log "installing ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# Prints the PEM text of extra CA certificates that npm inside the build
# needs, or nothing. IMAGE_EXTRA_CA_FILE=path picks a file, =none disables;
# by default the local additions to the system store are used
# (/usr/local/share/ca-certificates/*.crt: a TLS-intercepting proxy's CA).
extra_ca_pem() {
  case "${IMAGE_EXTRA_CA_FILE:-auto}" in
    none) return 0 ;;
    auto)
      local f
      for f in /usr/local/share/ca-certificates/*.crt; do
        [ -f "$f" ] && cat "$f" && echo
      done
      return 0 ;;
    *) cat "$IMAGE_EXTRA_CA_FILE" ;;
  esac
}
