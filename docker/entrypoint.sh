#!/bin/bash
# Entrypoint of the nixenv-verify image (installed as /usr/local/bin/nixenv-verify).
# Uses the host's nix-daemon when the host's /nix is mounted, otherwise the
# container's own store; then runs the verifier with the given arguments.
set -euo pipefail

daemon_socket=/nix/var/nix/daemon-socket/socket
if [ -z "${NIX_REMOTE+set}" ] && [ -S "$daemon_socket" ]; then
  export NIX_REMOTE=daemon
fi

exec node /opt/nixenv-verify/dist/main.js "$@"
