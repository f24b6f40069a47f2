#!/usr/bin/env bash
# (q) The least Nix work of the propagation check (HOW 6) alone: see bench/least.sh.
exec bash "$(dirname "$0")/least.sh" prop "$@"
