#!/bin/bash
# Entrypoint of the nixenv-verify image (installed as /usr/local/bin/nixenv-verify).
# Uses the host's nix-daemon when the host's /nix is mounted, otherwise the
# container's own store; then runs the verifier with the given arguments.
set -euo pipefail

daemon_socket=/nix/var/nix/daemon-socket/socket
if [ -z "${NIX_REMOTE+set}" ] && [ -S "$daemon_socket" ]; then
  export NIX_REMOTE=daemon
fi

# A step run as a uid the image does not know (docker --user 1000, Drone
# `user:`) gets HOME=/ or none: nix and git keep caches and settings under
# HOME, so give them a private writable one.
if [ -z "${HOME:-}" ] || [ "$HOME" = / ] || ! [ -w "$HOME" ]; then
  HOME=$(mktemp -d "${TMPDIR:-/tmp}/nixenv-verify-home.XXXXXX")
  export HOME
fi

# Node flags as in dist/main.js's first line (src/main.ts says why).
exec node --max-semi-space-size=4 /opt/nixenv-verify/dist/main.js "$@"
