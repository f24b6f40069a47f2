# shellcheck shell=bash disable=SC2034
# Shared by scripts/image-{base,build,smoke}.sh (sourced, not run).
# Podman on this kind of machine: Debian's podman 4.3.1, runc, cgroupfs,
# root, builds with --isolation chroot (no Docker engine here).

NIXENV_REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$NIXENV_REPO_ROOT/docker/containers.conf}

# Target architecture (Debian/OCI names: amd64, arm64), as BuildKit's and
# podman's TARGETARCH. Default: this machine's. A foreign one needs qemu-user
# emulation (ensure_emulation).
HOST_ARCH=$(dpkg --print-architecture 2>/dev/null || uname -m)
case "$HOST_ARCH" in x86_64) HOST_ARCH=amd64 ;; aarch64) HOST_ARCH=arm64 ;; esac
TARGETARCH=${TARGETARCH:-$HOST_ARCH}
case "$TARGETARCH" in
  amd64|arm64) ;;
  *) printf '[%s] error: TARGETARCH=%s: only amd64 and arm64 are supported\n' "$(basename "$0")" "$TARGETARCH" >&2; exit 1 ;;
esac

# Image names. The host arch's image is :dev (and :latest); another arch's is
# :dev-ARCH. The base images carry Docker Hub's names, so the Dockerfile's
# FROM lines are exactly what real users pull: locally each is a manifest list
# of per-arch images (localhost/nixenv-base/...-ARCH), so that
# `podman build --platform linux/ARCH` picks the right one, as a registry would.
IMAGE_REPO=${IMAGE_REPO:-cc-ci/nixenv-verify}
if [ "$TARGETARCH" = "$HOST_ARCH" ]; then
  IMAGE=${IMAGE:-$IMAGE_REPO:dev}
else
  IMAGE=${IMAGE:-$IMAGE_REPO:dev-$TARGETARCH}
fi
DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim
NODE_IMAGE=docker.io/library/node:20-bookworm-slim
# base_arch_image NAME ARCH: the local per-arch image behind NAME's list.
base_arch_image() {
  local n=${1#docker.io/library/}
  printf 'localhost/nixenv-base/%s-%s\n' "$n" "$2"
}
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

# Makes sure binaries of arch $1 run here: nothing to do for the host's;
# otherwise qemu-user-static registered with binfmt_misc (flag F, so the
# interpreter also works inside containers and chroots). Registers it when
# root and allowed; dies saying what is missing otherwise.
ensure_emulation() {
  local arch=$1 qarch entry
  [ "$arch" = "$HOST_ARCH" ] && return 0
  case "$arch" in arm64) qarch=aarch64 ;; amd64) qarch=x86_64 ;; *) qarch=$arch ;; esac
  entry=/proc/sys/fs/binfmt_misc/qemu-$qarch
  if [ ! -e "$entry" ]; then
    [ "$(id -u)" = 0 ] || die "no $arch emulation ($entry missing) and not root to register it"
    if [ ! -f "/usr/lib/binfmt.d/qemu-$qarch.conf" ]; then
      log "installing qemu-user-static (apt-get) for $arch emulation"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static >/dev/null
    fi
    [ -e /proc/sys/fs/binfmt_misc/register ] \
      || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null \
      || die "cannot mount binfmt_misc: no $arch emulation here"
    [ -e "$entry" ] || cat "/usr/lib/binfmt.d/qemu-$qarch.conf" >/proc/sys/fs/binfmt_misc/register 2>/dev/null \
      || die "cannot register qemu-$qarch with binfmt_misc: no $arch emulation here"
    log "registered qemu-$qarch with binfmt_misc"
  fi
  grep -qx enabled "$entry" || die "$entry is disabled"
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
