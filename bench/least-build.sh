#!/usr/bin/env bash
# (b) The least Nix work all six checks need in build mode: see bench/least.sh.
exec bash "$(dirname "$0")/least.sh" build "$@"
