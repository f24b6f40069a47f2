#!/usr/bin/env bash
# Smoke-runs the nixenv-verify image (building it first if it is missing) the
# way Drone's docker runner does: the repo mounted at /drone/src,
# DRONE_WORKSPACE=/drone/src, the image's own entrypoint.
# The default user: the image's configured user is nixenv (uid 1000), `id -u`
# in the container is not 0, and it owns /nix/store (the smoke run fails otherwise).
# As the default user (nixenv, its own single-user store):
#   pass repo         -> exit 0 and a PASS verdict line
#   failing variant   -> exit 1 and a FAIL verdict line
#   PLUGIN_MODE=bogus -> exit 2
# As root, only when asked (--user root): pass repo -> exit 0 and PASS.
# As another uid (--user $SMOKE_USER, default 1234:1234; SMOKE_NONROOT=0 skips):
#   the image's store -> exit 2 "cannot start: the Nix store /nix/store is not
#                        writable by uid 1234 ..." (nixenv owns the image's /nix)
#   a store it owns   -> an empty directory owned by the user mounted at /nix:
#                        exit 0 and PASS (SMOKE_USER_STORE=0 skips)
# Host-daemon mode (SMOKE_DAEMON=0 skips): a nix-daemon container (root) shares
# /nix, as a host's /nix would be mounted: the entrypoint must pick
# NIX_REMOTE=daemon, exit 0 and PASS, as the default user and as the other uid.
# Repos are copied to a temp dir first; the originals are never changed.
set -euo pipefail

# Expected verdict lines (extended regexps on stdout).
PASS_PATTERN=${PASS_PATTERN:-'^verdict: PASS'}
FAIL_PATTERN=${FAIL_PATTERN:-'^verdict: FAIL'}
# Example repos. Unset: made by the example helper (base / FAIL_MUTATION).
SMOKE_PASS_REPO=${SMOKE_PASS_REPO:-}
SMOKE_FAIL_REPO=${SMOKE_FAIL_REPO:-}
FAIL_MUTATION=${FAIL_MUTATION:-drop-git-lfs}
# Offline here: no network in the container, no substituters to time out on.
SMOKE_NETWORK=${SMOKE_NETWORK:-none}
SMOKE_NIX_CONFIG=${SMOKE_NIX_CONFIG:-$'substituters =\nflake-registry ='}
SMOKE_DAEMON=${SMOKE_DAEMON:-1}
SMOKE_NONROOT=${SMOKE_NONROOT:-1}
SMOKE_USER=${SMOKE_USER:-1234:1234}
SMOKE_USER_STORE=${SMOKE_USER_STORE:-1}
NONROOT_PATTERN=${NONROOT_PATTERN:-"cannot start: the Nix store /nix/store is not writable by uid ${SMOKE_USER%%:*} "}
# 1 (default): build first, so the smoke run tests this checkout (layers are cached:
# seconds when nothing changed); 0: use the existing image if there is one.
SMOKE_REBUILD=${SMOKE_REBUILD:-1}
SMOKE_KEEP=${SMOKE_KEEP:-0}   # 1: keep the temp dir (repos, each run's stdout/stderr)

# shellcheck source=docker/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../docker/lib.sh"
root=$NIXENV_REPO_ROOT

# Another arch's image (TARGETARCH=arm64, :dev-arm64) runs under emulation.
# The example's hosts are x86_64-linux: let its nix build them, which works on
# an x86_64 machine (the CPU runs them natively), as remote builders would
# elsewhere.
if [ "$TARGETARCH" != amd64 ] && [ "$HOST_ARCH" = amd64 ]; then
  SMOKE_NIX_CONFIG+=$'\nextra-platforms = x86_64-linux'
fi

# The example helper: scripts/make-example.sh OUTDIR [MUTATION], else the
# fixture materialiser test/fixtures/make-fixture.mjs (same arguments).
make_example() {
  if [ -f "$root/scripts/make-example.sh" ]; then
    bash "$root/scripts/make-example.sh" "$@" >/dev/null
  elif [ -f "$root/test/fixtures/make-fixture.mjs" ]; then
    node "$root/test/fixtures/make-fixture.mjs" "$@" >/dev/null
  else
    die "no example helper (scripts/make-example.sh or test/fixtures/make-fixture.mjs); set SMOKE_PASS_REPO and SMOKE_FAIL_REPO"
  fi
}

ensure_podman
total_start=$SECONDS
if [ "$SMOKE_REBUILD" = 1 ] || ! podman image exists "$IMAGE"; then
  bash "$root/scripts/image-build.sh"
fi

tmp=$(mktemp -d /tmp/nixenv-smoke.XXXXXX)
run_id=nixenv-smoke-$$
cleanup() {
  podman rm -f -t 0 "$run_id-daemon" >/dev/null 2>&1 || true
  podman volume rm -f "$run_id-nix" >/dev/null 2>&1 || true
  if [ "$SMOKE_KEEP" = 1 ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# Example repos: made fresh, or copied from the given dirs.
mkdir -p "$tmp/made"
if [ -z "$SMOKE_PASS_REPO" ]; then
  make_example "$tmp/made/pass"; SMOKE_PASS_REPO=$tmp/made/pass
fi
if [ -z "$SMOKE_FAIL_REPO" ]; then
  make_example "$tmp/made/fail" "$FAIL_MUTATION"; SMOKE_FAIL_REPO=$tmp/made/fail
fi
cp -a "$SMOKE_PASS_REPO" "$tmp/pass"
cp -a "$SMOKE_FAIL_REPO" "$tmp/fail"
# A Drone clone has an origin: the example's secrets URL is relative to it (../NAME.secrets.git, beside the
# repo it was made from), which the verifier maps to that remote (submodule_mounts mounts it at that path).
git -C "$tmp/pass" remote add origin "$SMOKE_PASS_REPO" 2>/dev/null || true
git -C "$tmp/fail" remote add origin "$SMOKE_FAIL_REPO" 2>/dev/null || true

# nix (with ?submodules=1) clones submodules from their .gitmodules URLs; a
# local absolute URL must exist at the same path inside the container: mount
# it read-only there.
submodule_mounts() {
  local url
  git -C "$1" config -f .gitmodules --get-regexp '^submodule\..*\.url$' 2>/dev/null \
    | while read -r _ url; do
        url=${url#file://}
        # A relative URL is relative to the repository's origin (git submodule(1)).
        case "$url" in ../* | ./*)
          local origin
          origin=$(git -C "$1" remote get-url origin 2>/dev/null) || continue
          local rel=$url
          url=$(realpath -m "${origin#file://}/$url")
          # Nix clones the repository into a temporary checkout whose origin is /drone/src: git resolves the
          # submodule there too, beside the workspace.
          [ -e "$url" ] && printf -- '-v\n%s:%s:ro\n' "$url" "$(realpath -m "/drone/src/$rel")" ;;
        esac
        case "$url" in /*) [ -e "$url" ] && printf -- '-v\n%s:%s:ro\n' "$url" "$url" ;; esac
      done
}

# The fixture pins the nixpkgs lib as a `path:` flake input outside the repo
# (make-fixture extracts it into a cache dir under $TMPDIR): the locked path
# must exist at the same path inside the container too.
lock_path_mounts() {
  [ -f "$1/flake.lock" ] && command -v node >/dev/null || return 0
  node -e '
    const fs = require("fs");
    const lock = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    for (const n of Object.values(lock.nodes || {})) {
      const p = n.locked && n.locked.type === "path" ? n.locked.path : null;
      if (p && p.startsWith("/") && fs.existsSync(p)) console.log(`-v\n${p}:${p}:ro`);
    }' "$1/flake.lock"
}

passed=0 failed=0
# check NAME EXPECTED_RC PATTERN REPO_DIR [podman run args...]
# PATTERN is matched on stdout; "stderr:PATTERN" on stderr.
check() {
  local name=$1 want=$2 pattern=$3 dir=$4; shift 4
  local out="$tmp/$name.out" err="$tmp/$name.err" rc=0 t0=$SECONDS mounts=()
  local stream=$out sname=stdout
  case "$pattern" in stderr:*) pattern=${pattern#stderr:}; stream=$err sname=stderr ;; esac
  mapfile -t mounts < <(submodule_mounts "$dir"; lock_path_mounts "$dir")
  podman run --rm --network "$SMOKE_NETWORK" \
    -v "$dir:/drone/src" -e DRONE_WORKSPACE=/drone/src \
    -e NIX_CONFIG="$SMOKE_NIX_CONFIG" "${mounts[@]}" "$@" "$IMAGE" \
    >"$out" 2>"$err" || rc=$?
  local why=""
  [ "$rc" = "$want" ] || why="exit $rc, expected $want"
  if [ -z "$why" ] && [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$stream"; then
    why="no line matching /$pattern/ on $sname"
  fi
  if [ -z "$why" ]; then
    passed=$((passed + 1))
    log "ok   $name (exit $rc, $((SECONDS - t0))s)${pattern:+: $(grep -E -m1 -- "$pattern" "$stream")}"
  else
    failed=$((failed + 1))
    log "FAIL $name: $why ($((SECONDS - t0))s)"
    { echo "--- stdout"; tail -n 40 "$out"; echo "--- stderr"; tail -n 40 "$err"; } >&2
  fi
}

# The default user is not root: the image says so, and the container runs so.
default_user() {
  local configured uid owner
  configured=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
  uid=$(podman run --rm --network none --entrypoint id "$IMAGE" -u)
  owner=$(podman run --rm --network none --entrypoint stat "$IMAGE" -c %U /nix/store)
  if [ "$configured" = nixenv:nixenv ] && [ "$uid" != 0 ] && [ "$owner" = nixenv ]; then
    passed=$((passed + 1))
    log "ok   default-user: USER $configured, id -u $uid, /nix/store owned by $owner"
  else
    failed=$((failed + 1))
    log "FAIL default-user: USER '$configured', id -u '$uid', /nix/store owned by '$owner' (expected nixenv:nixenv, not 0, nixenv)"
  fi
}
default_user

# The image's own single-user store builds as the verifier's uid: untrusted unless accepted (issue 16), so the
# verdict rows accept it; nonroot-own-store-untrusted below shows the refusal.
check pass 0 "$PASS_PATTERN" "$tmp/pass" -e PLUGIN_ALLOW_UNSANDBOXED_BUILD=true
check fail 1 "$FAIL_PATTERN" "$tmp/fail" -e PLUGIN_ALLOW_UNSANDBOXED_BUILD=true
check bad-setting 2 "" "$tmp/pass" -e PLUGIN_MODE=bogus
cp -a "$tmp/pass" "$tmp/pass-root"
check root-when-asked 0 "$PASS_PATTERN" "$tmp/pass-root" --user root -e PLUGIN_ALLOW_UNSANDBOXED_BUILD=true

if [ "$SMOKE_NONROOT" = 1 ]; then
  check nonroot-image-store 2 "stderr:$NONROOT_PATTERN" "$tmp/pass" --user "$SMOKE_USER"
  if [ "$SMOKE_USER_STORE" = 1 ]; then
    # An empty directory the user owns, as on a runner host (a named volume
    # would be seeded from the image's nixenv-owned /nix): nix makes the store.
    mkdir "$tmp/user-nix"
    chown "$SMOKE_USER" "$tmp/user-nix"
    # A single-user store: builds run as the verifier's own uid, which fails the verdict unless accepted.
    check nonroot-own-store 0 "$PASS_PATTERN" "$tmp/pass" --user "$SMOKE_USER" -v "$tmp/user-nix:/nix" -e PLUGIN_ALLOW_UNSANDBOXED_BUILD=true
    check nonroot-own-store-untrusted 1 "verdict not trusted: untrusted: builds run as the verifier's own uid" "$tmp/pass" --user "$SMOKE_USER" -v "$tmp/user-nix:/nix"
  fi
fi

if [ "$SMOKE_DAEMON" = 1 ]; then
  # A volume seeded from the image's /nix stands in for a host's /nix; the
  # daemon gets the clients' nix settings, as a host's nix.conf would hold
  # them (an untrusted client cannot set substituters).
  podman volume create "$run_id-nix" >/dev/null
  podman run -d --name "$run_id-daemon" --network none -v "$run_id-nix:/nix" --user root \
    -e NIX_CONFIG="$SMOKE_NIX_CONFIG" --entrypoint nix-daemon "$IMAGE" >/dev/null
  for _ in $(seq 50); do
    podman exec "$run_id-daemon" test -S /nix/var/nix/daemon-socket/socket && break
    sleep 0.2
  done
  # daemon_check NAME [podman run args...]: PASS, and the daemon saw a new connection.
  daemon_check() {
    local name=$1; shift
    local before=$failed seen
    seen=$(podman logs "$run_id-daemon" 2>&1 | grep -c 'accepted connection' || true)
    cp -a "$tmp/pass" "$tmp/pass-$name"
    check "$name" 0 "$PASS_PATTERN" "$tmp/pass-$name" -v "$run_id-nix:/nix" "$@"
    podman logs "$run_id-daemon" >"$tmp/daemon.log" 2>&1 || true
    if [ "$failed" = "$before" ] && [ "$(grep -c 'accepted connection' "$tmp/daemon.log" || true)" -le "$seen" ]; then
      passed=$((passed - 1)); failed=$((failed + 1))
      log "FAIL $name: the nix-daemon saw no connection (NIX_REMOTE=daemon not used)"
    fi
  }
  daemon_check daemon
  [ "$SMOKE_NONROOT" = 1 ] && daemon_check daemon-nonroot --user "$SMOKE_USER"
fi

log "done in $((SECONDS - total_start))s"
echo "image smoke: $passed passed, $failed failed"
[ "$failed" = 0 ]
