#!/usr/bin/env bash
# Writes the bundled example repo (the cc-ci fixture flake as a git repo with a
# secrets/ submodule) to OUTDIR, optionally with one mutation (a defect).
#   scripts/make-example.sh OUTDIR [MUTATION] [--dirty] [--history]
# --history: a commit before the refactor first (compare with HEAD~1: --base HEAD~1).
set -euo pipefail
exec node "$(dirname "$0")/../test/fixtures/make-fixture.mjs" "$@"
