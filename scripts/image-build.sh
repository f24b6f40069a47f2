#!/usr/bin/env bash
# Builds the nixenv-verify image as cc-ci/nixenv-verify:dev and :latest with
# podman (no Docker engine here), from local base images (scripts/image-base.sh).
#
#   bash scripts/image-build.sh            # context = this repo, this machine's arch
#   TARGETARCH=arm64 bash scripts/image-build.sh
#                                          # another arch (amd64, arm64): :dev-arm64,
#                                          # no :latest; runs under qemu-user emulation
#   IMAGE_CONTEXT=/some/dir bash scripts/image-build.sh
#   IMAGE_EXTRA_CA_FILE=ca.pem|none        # CA for npm in the build stage
#                                          # (default: /usr/local/share/ca-certificates/*.crt)
#   NO_CACHE=1                             # rebuild every layer
set -euo pipefail
# shellcheck source=docker/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../docker/lib.sh"

ctx=${IMAGE_CONTEXT:-$NIXENV_REPO_ROOT}
dockerfile=${IMAGE_DOCKERFILE:-$ctx/Dockerfile}
[ -f "$ctx/package.json" ] || die "no package.json in $ctx"

ensure_podman
ensure_emulation "$TARGETARCH"
TARGETARCH=$TARGETARCH bash "$NIXENV_REPO_ROOT/scripts/image-base.sh"

version=$(node -p "require(process.argv[1]).version" "$ctx/package.json")
revision=$(git -C "$ctx" rev-parse HEAD 2>/dev/null || true)
source_url=${IMAGE_SOURCE:-$(git -C "$ctx" remote get-url origin 2>/dev/null || true)}
args=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "SOURCE=$source_url")

ca=$(extra_ca_pem)
if [ -n "$ca" ]; then
  log "passing $(grep -c 'BEGIN CERTIFICATE' <<<"$ca") extra CA certificate(s) to the build stage"
  args+=(--build-arg "NODE_EXTRA_CA_CERTS=$ca")
fi
[ "${NO_CACHE:-0}" = 1 ] && args+=(--no-cache)
# --platform sets TARGETARCH (and BUILDPLATFORM) in the build, and picks the
# arch's instance of the local base manifest lists.
tags=(-t "$IMAGE")
[ "$TARGETARCH" = "$HOST_ARCH" ] && tags+=(-t "$IMAGE_REPO:latest")

old_id=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
start=$SECONDS
log "podman build $IMAGE$([ ${#tags[@]} -gt 2 ] && echo " (+ $IMAGE_REPO:latest)") for linux/$TARGETARCH from $ctx"
podman build --pull=never --isolation chroot --layers --platform "linux/$TARGETARCH" \
  -f "$dockerfile" "${args[@]}" "${tags[@]}" "$ctx"
# Drop the previous image if this build untagged it. (No `podman image
# prune`: it would also drop the build stage's layers, i.e. the npm ci cache.)
if [ -n "$old_id" ] && [ "$old_id" != "$(podman image inspect --format '{{.Id}}' "$IMAGE")" ]; then
  podman rmi "$old_id" >/dev/null 2>&1 || true
fi
got=$(podman image inspect --format '{{.Architecture}}' "$IMAGE")
[ "$got" = "$TARGETARCH" ] || die "$IMAGE is $got, not $TARGETARCH"
log "built $IMAGE ($got) in $((SECONDS - start))s ($(podman image inspect --format '{{.Size}}' "$IMAGE" | numfmt --to=si)B)"
