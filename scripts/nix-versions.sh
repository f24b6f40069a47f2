#!/usr/bin/env bash
# Runs the integration tests (real Nix) under other Nix versions: for each
# Debian suite (trixie: nix 2.26, sid: nix 2.34; the host's bookworm has 2.8)
# a debootstrap chroot with Debian's nix-bin, cached under
# /var/cache/nixenv-verify/chroots/<suite> and reused when complete. The host's
# Node and this checkout are bind-mounted in; the tests run with the host's Node.
#
#   bash scripts/nix-versions.sh [SUITE...]      (default: trixie sid)
#
# Prints one line per version, `nix 2.26.3: 70 passed, 0 failed`, then a total
# `N passed, N failed`; exits non-zero when any version fails.
# Environment: NIXENV_NIX_VERSIONS=0 skips; NIXENV_NIX_SUITES="trixie sid";
# NIXENV_DEBIAN_MIRROR (default http://deb.debian.org/debian);
# NIXENV_CHROOT_CACHE (default /var/cache/nixenv-verify/chroots);
# NIXENV_VERSION_TIMEOUT seconds per version (default 1800); extra jest
# arguments in NIXENV_JEST_ARGS (e.g. a test path).
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)

if [ "${NIXENV_NIX_VERSIONS:-1}" = 0 ]; then
  echo "nix versions: skipped (NIXENV_NIX_VERSIONS=0)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "nix-versions: needs root (debootstrap, chroot, mount)" >&2
  exit 2
fi

# --exec SUITE CMD...: run CMD in the mounted chroot instead of the tests (debugging).
exec_cmd=()
if [ "${1:-}" = --exec ]; then
  shift
  suites=("$1")
  shift
  exec_cmd=("$@")
  set --
fi
[ "${#exec_cmd[@]}" -gt 0 ] || suites=("$@")
[ "${#suites[@]}" -gt 0 ] || read -r -a suites <<<"${NIXENV_NIX_SUITES:-trixie sid}"
mirror="${NIXENV_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cache="${NIXENV_CHROOT_CACHE:-/var/cache/nixenv-verify/chroots}"
per_version_timeout="${NIXENV_VERSION_TIMEOUT:-1800}"
logdir=$(mktemp -d /tmp/nixenv-nix-versions.XXXXXX)

log() { echo "nix-versions: $*" >&2; }

# --- cleanup: every mount we made, every process inside a chroot we entered ---
mounts=()       # in mount order; unmounted in reverse
chroots=()      # chroot dirs whose processes must not survive
tmpdirs=()
runner_pid=""

# Processes whose root directory is inside $1 (anything started in the chroot).
procs_in_root() {
  local root=$1 p r
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    case "$r" in "$root" | "$root"/*) echo "${p#/proc/}" ;; esac
  done
}

kill_chroot_procs() {
  local root=$1 pids i
  for sig in TERM TERM TERM KILL KILL; do
    pids=$(procs_in_root "$root")
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086
    kill -s "$sig" $pids 2>/dev/null
    for i in 1 2 3 4 5 6 7 8 9 10; do
      sleep 0.3
      [ -n "$(procs_in_root "$root")" ] || return 0
    done
  done
  log "processes still running in $root: $(procs_in_root "$root" | tr '\n' ' ')"
}

unmount_all() {
  local i m
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    m=${mounts[i]}
    mountpoint -q "$m" 2>/dev/null || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "cannot unmount $m"
  done
  mounts=()
}

cleanup() {
  trap - EXIT INT TERM HUP
  if [ -n "$runner_pid" ] && kill -0 "$runner_pid" 2>/dev/null; then
    kill -TERM -- "-$runner_pid" 2>/dev/null
  fi
  local c
  for c in "${chroots[@]}"; do kill_chroot_procs "$c"; done
  unmount_all
  for c in "${tmpdirs[@]}"; do rm -rf "$c"; done
}
trap cleanup EXIT
trap 'log "interrupted"; cleanup; exit 130' INT
trap 'log "terminated"; cleanup; exit 143' TERM HUP

bind() { # bind SRC DEST [ro]
  local src=$1 dest=$2
  if [ -d "$src" ]; then mkdir -p "$dest"; else mkdir -p "$(dirname "$dest")"; [ -e "$dest" ] || : >"$dest"; fi
  mount --bind "$src" "$dest" || return 1
  mounts+=("$dest")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$dest" || return 1; fi
}

# --- the chroot for one suite, built once ---
ensure_chroot() {
  local suite=$1 dir="$cache/$suite"
  if [ -f "$dir/.nixenv-complete" ]; then
    log "$suite: reusing $dir"
    return 0
  fi
  command -v debootstrap >/dev/null 2>&1 || {
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >/dev/null 2>&1 || {
      apt-get update >/dev/null 2>&1
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >/dev/null
    } || { log "cannot install debootstrap"; return 1; }
  }
  local tmp="$dir.partial"
  chroots+=("$tmp")
  kill_chroot_procs "$tmp"
  for m in proc sys dev/pts dev; do mountpoint -q "$tmp/$m" 2>/dev/null && umount -l "$tmp/$m"; done
  rm -rf "$tmp"
  mkdir -p "$cache"
  log "$suite: debootstrap into $tmp (log: $logdir/debootstrap-$suite.log)"
  local started=$SECONDS
  # libdbi-perl: debootstrap cannot resolve nix-bin's virtual perl dependency by itself.
  if ! debootstrap --variant=minbase --include=nix-bin,libdbi-perl,git,ca-certificates \
    "$suite" "$tmp" "$mirror" >"$logdir/debootstrap-$suite.log" 2>&1; then
    log "$suite: debootstrap failed; last lines:"
    tail -n 15 "$logdir/debootstrap-$suite.log" | sed 's/^/  | /' >&2
    kill_chroot_procs "$tmp"
    for m in proc sys dev/pts dev; do mountpoint -q "$tmp/$m" 2>/dev/null && umount -l "$tmp/$m"; done
    return 1
  fi
  [ -x "$tmp/usr/bin/nix" ] || { log "$suite: no /usr/bin/nix in the chroot"; return 1; }
  touch "$tmp/.nixenv-complete"
  mv "$tmp" "$dir"
  log "$suite: chroot ready in $((SECONDS - started))s"
}

# Written on every run (a cached chroot gets the current settings too).
configure_chroot() {
  local dir=$1
  mkdir -p "$dir/etc/nix"
  printf '%s\n' "# written by nixenv-verify scripts/nix-versions.sh" \
    "experimental-features = nix-command flakes" "build-users-group =" "sandbox = false" \
    "substituters =" "flake-registry =" >"$dir/etc/nix/nix.conf"
  # git >= 2.47 (trixie, sid) starts `git maintenance run --auto --detach` after
  # the fixture's commits; its transient .git/objects/maintenance.lock races the
  # tests' workspace snapshot (test/helpers/cli.ts snapshotWorkspace). The host's
  # bookworm git 2.39 does not do this.
  printf '%s\n' "# written by nixenv-verify scripts/nix-versions.sh" "[maintenance]" "	auto = false" "[gc]" "	auto = 0" >"$dir/etc/gitconfig"
  # Build users, as scripts/setup-nix.sh makes on the host: the verifier then
  # sandboxes builds as nixbld<N> (src/nix/isolation.ts) instead of calling
  # root builds untrusted. groupadd/useradd come with minbase (passwd).
  if ! grep -q '^nixbld:' "$dir/etc/group"; then
    chroot "$dir" groupadd --system nixbld || return 1
  fi
  local n
  for n in 1 2 3 4 5 6 7 8; do
    grep -q "^nixbld$n:" "$dir/etc/passwd" ||
      chroot "$dir" useradd --system --no-create-home --home-dir /var/empty --shell /usr/sbin/nologin \
        --gid nixbld --groups nixbld --comment "Nix build user $n" "nixbld$n" || return 1
  done
}

# Host paths the tests need inside the chroot, at the same paths: the checkout,
# node_modules and the git common dir when they live elsewhere (a worktree), and
# the vendored nixpkgs lib at ../shared.
host_paths() {
  local p list=("$repo")
  [ -e "$repo/node_modules" ] && list+=("$(readlink -f "$repo/node_modules")")
  p=$(git -C "$repo" rev-parse --path-format=absolute --git-common-dir 2>/dev/null) && [ -d "$p" ] && list+=("$(readlink -f "$p")")
  [ -d "$repo/../shared" ] && list+=("$(readlink -f "$repo/../shared")")
  # Keep only paths not inside another listed path.
  printf '%s\n' "${list[@]}" | sort -u | awk 'NR == 1 || index($0, last "/") != 1 { print; last = $0 }'
}

# Node: the host's binary (its prefix when that is not /usr), read-only.
node_bin=$(command -v node) && node_bin=$(readlink -f "$node_bin") || { log "node not found"; exit 1; }
node_prefix=$(dirname "$(dirname "$node_bin")")

run_suite() {
  local suite=$1 dir="$cache/$suite" out="$2"
  chroots+=("$dir")
  configure_chroot "$dir"
  mount -t proc proc "$dir/proc" && mounts+=("$dir/proc") || return 1
  bind /dev "$dir/dev" || return 1
  bind /dev/pts "$dir/dev/pts" || return 1
  local t
  t=$(mktemp -d "$cache/$suite-tmp.XXXXXX") && chmod 1777 "$t" && tmpdirs+=("$t")
  bind "$t" "$dir/tmp" || return 1
  local node_in
  case "$node_prefix" in
    /usr | /) node_in=/opt/host-node/bin/node; bind "$node_bin" "$dir$node_in" ro || return 1 ;;
    *) node_in=$node_bin; bind "$node_prefix" "$dir$node_prefix" ro || return 1 ;;
  esac
  local p
  while read -r p; do bind "$p" "$dir$p" || return 1; done < <(host_paths)

  local version
  version=$(chroot "$dir" nix --version 2>/dev/null | grep -Eo '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n 1)
  echo "${version:-unknown}" >"$out.version"
  local started=$SECONDS
  local envs=(PATH="$(dirname "$node_in"):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    HOME=/root TMPDIR=/tmp LANG=C.UTF-8 CI=true
    # The mutation table's fixtures that exercise every Nix call; the rest judge the model, alike on every Nix.
    NV_MUTATION_FIXTURES="${NIXENV_VERSION_MUTATION_FIXTURES:-cc-ci,ops-lab}")
  if [ "${#exec_cmd[@]}" -gt 0 ]; then
    chroot "$dir" /usr/bin/env -i "${envs[@]}" bash -c 'cd "$1" && shift && exec "$@"' bash "$repo" "${exec_cmd[@]}"
    local st=$?
    kill_chroot_procs "$dir"
    unmount_all
    exit $st
  fi
  log "$suite: nix $version, integration tests (log: $logdir/jest-$suite.log)"
  # The hostile-process rows (PID namespaces, build users, a stopped verifier) judge this host's process
  # isolation, not Nix's version; inside a plain chroot (the host's /proc, no pivot_root) their namespaces do
  # not behave as on a host, so they run with the host's Nix only (npm test).
  local jest_args=${NIXENV_JEST_ARGS:---testPathIgnorePatterns hostileProcess}
  # setsid: the run is one process group, killed as one on timeout or signal.
  setsid timeout -k 10 "$per_version_timeout" chroot "$dir" /usr/bin/env -i "${envs[@]}" \
    bash -c 'cd "$1" && shift && exec node --experimental-vm-modules node_modules/jest/bin/jest.js \
      --selectProjects integration --json --outputFile=/tmp/jest-results.json "$@"' \
    bash "$repo" $jest_args >"$logdir/jest-$suite.log" 2>&1 &
  runner_pid=$!
  wait "$runner_pid"
  local status=$?
  runner_pid=""
  echo $((SECONDS - started)) >"$out.seconds"
  cp "$dir/tmp/jest-results.json" "$out.json" 2>/dev/null
  kill_chroot_procs "$dir"
  unmount_all
  rm -rf "$t"
  return $status
}

total_passed=0
total_failed=0
failed_versions=()
for suite in "${suites[@]}"; do
  out="$logdir/$suite"
  # One run per chroot at a time: a second run would kill this one's processes and unmount its mounts.
  mkdir -p "$cache"
  exec {lockfd}>"$cache/$suite.lock"
  if ! flock -w 3600 "$lockfd"; then
    echo "nix ($suite): another run holds $cache/$suite.lock"
    failed_versions+=("$suite")
    total_failed=$((total_failed + 1))
    continue
  fi
  if ! ensure_chroot "$suite"; then
    echo "nix ($suite): chroot could not be built, see $logdir/debootstrap-$suite.log"
    failed_versions+=("$suite")
    total_failed=$((total_failed + 1))
    continue
  fi
  run_suite "$suite" "$out"
  status=$?
  version=$(cat "$out.version" 2>/dev/null || echo "$suite")
  if [ -f "$out.json" ]; then
    read -r passed failed errors < <(node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(r.numPassedTests, r.numFailedTests, r.numRuntimeErrorTestSuites + (r.numTotalTests === 0 ? 1 : 0));
    ' "$out.json")
  else
    passed=0 failed=0 errors=1
  fi
  line="nix $version: $passed passed, $failed failed"
  [ "$errors" -gt 0 ] && line="$line, $errors suite errors"
  [ "$status" = 124 ] && line="$line (timed out after ${per_version_timeout}s)"
  echo "$line ($(cat "$out.seconds" 2>/dev/null || echo '?')s, $suite; log: $logdir/jest-$suite.log)"
  if [ "$status" != 0 ] || [ "$failed" != 0 ] || [ "$errors" != 0 ]; then
    failed_versions+=("$version")
    grep -E '^\s+● ' "$logdir/jest-$suite.log" | head -n 20 | sed 's/^/  | /'
    [ "$failed" = 0 ] && failed=1
  fi
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  exec {lockfd}>&-
done

[ "${#failed_versions[@]}" -eq 0 ] || echo "nix versions failing: ${failed_versions[*]}"
echo "$total_passed passed, $total_failed failed"
[ "${#failed_versions[@]}" -eq 0 ]
