#!/usr/bin/env bash
# npm run demo [-- MUTATION]: installs what it needs, builds nixenv-verify, makes
# the bundled example repo and verifies it with real Nix. With a mutation name
# (e.g. drop-git-lfs) the example carries that defect and the verdict fails.
# The example has history: a commit before the refactor, then the refactor; the
# run compares with HEAD~1 (the no-drop check and the runtime diff).
set -euo pipefail
cd "$(dirname "$0")/.."

# Before anything else: the pinned nixpkgs lib the example is built on must be
# given (../shared/vendor/, NIXENV_NIXPKGS_LIB_TARBALL) or fetchable; else one line, exit 2.
node test/fixtures/make-fixture.mjs --check-lib || exit $?
bash scripts/setup-nix.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent

mutation="${1:-base}"
work="$(mktemp -d /tmp/nixenv-verify-demo.XXXXXX)"
trap 'rm -rf "$work"' EXIT
repo="$work/cc-ci"
node test/fixtures/make-fixture.mjs "$repo" "$mutation" --history >/dev/null
echo "demo: example repo ($mutation) at $repo" >&2

start=$(date +%s.%N)
set +e
PLUGIN_FLAKE="$repo" PLUGIN_BASE=HEAD~1 PLUGIN_REPORT="$work/report.json" node dist/main.js
code=$?
set -e
end=$(date +%s.%N)
echo "demo: exit code $code, wall time $(echo "$end - $start" | bc 2>/dev/null || awk "BEGIN{print $end-$start}")s" >&2
exit $code
