#!/usr/bin/env bash
# npm run bench: builds nixenv-verify, then runs the benchmark (bench/run.mjs),
# which prints a table of figures to stdout and writes the raw figures as JSON
# under /tmp (path printed). It times nixenv-verify with its default settings
# (all six checks) in build and eval mode, and the propagation check alone,
# against the least Nix work each needs done by hand (bench/least.sh).
# BENCH_QUICK=1: 2 rounds, 2 hosts only (~3 min).
# The full run (N = 2, 4, 8, 16 hosts, 5 rounds) takes about an hour on a busy 2-core VM.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-nix.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
exec node bench/run.mjs "$@"
