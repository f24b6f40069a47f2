# syntax=docker/dockerfile:1
#
# nixenv-verify: Drone CI plugin + CLI that verifies claims about NixOS flake
# repos with real `nix`.
#
#   docker build -t nixenv-verify .
#   docker run --rm -v "$PWD:/drone/src" -e DRONE_WORKSPACE=/drone/src nixenv-verify
#
# Build arguments
#   NODE_EXTRA_CA_CERTS  optional PEM *text* (not a path) of extra CA
#                        certificates, for networks that intercept TLS. Used
#                        only by npm in the build stage, written to a temp file
#                        there; the runtime stage never sees it, e.g.
#                        --build-arg NODE_EXTRA_CA_CERTS="$(cat corp-ca.pem)"
#   VERSION, REVISION, SOURCE   OCI label values (scripts/image-build.sh
#                        fills them from package.json and git).
#
# Nix at run time
#   Default: a local store inside the container (/nix, nix runs as root, no
#   daemon). To reuse a host's store, daemon and remote builders, mount the
#   host's /nix (-v /nix:/nix); the entrypoint sees the daemon socket and sets
#   NIX_REMOTE=daemon (set NIX_REMOTE yourself to override, NIX_REMOTE= forces
#   the local store). Extra nix settings: -e NIX_CONFIG=$'line1\nline2'.
#   TLS-intercepting networks: mount a CA bundle and set NIX_SSL_CERT_FILE.

############################ build stage ############################
FROM node:20-bookworm-slim AS build
WORKDIR /src

ENV NPM_CONFIG_UPDATE_NOTIFIER=false
COPY package.json package-lock.json ./
ARG NODE_EXTRA_CA_CERTS=
RUN set -eu; \
    if [ -n "${NODE_EXTRA_CA_CERTS}" ]; then \
      case "${NODE_EXTRA_CA_CERTS}" in \
        *"-----BEGIN CERTIFICATE-----"*) ;; \
        *) echo "NODE_EXTRA_CA_CERTS build arg must hold PEM text, not a path" >&2; exit 2 ;; \
      esac; \
      printf '%s\n' "${NODE_EXTRA_CA_CERTS}" > /tmp/extra-ca.pem; \
      export NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem; \
    else \
      unset NODE_EXTRA_CA_CERTS; \
    fi; \
    npm ci --no-audit --no-fund --loglevel=warn; \
    rm -f /tmp/extra-ca.pem

COPY . .
# (the ARG above is still in the environment here: drop it.) npm prune needs
# no network. /app is what the runtime stage gets.
RUN set -eu; \
    unset NODE_EXTRA_CA_CERTS; \
    npm run build; \
    test -f dist/main.js; \
    npm prune --omit=dev --no-audit --no-fund --loglevel=warn; \
    mkdir -p /app; \
    cp -a package.json dist node_modules /app/; \
    for f in plugin.yml templates LICENSE; do [ ! -e "$f" ] || cp -a "$f" /app/; done

########################### runtime stage ###########################
FROM node:20-bookworm-slim

# Debian's nix (2.8) plus what the verifier shells out to. tini reaps nix's
# children and forwards signals (node as PID 1 ignores SIGTERM).
RUN set -eu; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      nix-bin git bash ca-certificates tini; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb

COPY docker/nix.conf /etc/nix/nix.conf
COPY docker/entrypoint.sh /usr/local/bin/nixenv-verify
COPY --from=build /app /opt/nixenv-verify

# - create the local store layout (/nix/store, /nix/var/nix/db, ...) so the
#   first run needs no setup; a mounted host /nix simply hides it.
# - the workspace is often owned by another uid than root (Drone clones):
#   let git (and nix, which calls git) use it.
RUN set -eu; \
    chmod 0755 /usr/local/bin/nixenv-verify; \
    nix-store --init; \
    git config --system --add safe.directory '*'; \
    nix --version; git --version; node --version

ENV NODE_ENV=production
# Labels last: their build args change with every commit and would otherwise
# invalidate the cached layers above.
ARG VERSION=dev
ARG REVISION=
ARG SOURCE=
LABEL org.opencontainers.image.title="nixenv-verify" \
      org.opencontainers.image.description="Drone CI plugin and CLI that verifies, with real Nix, that a NixOS flake's test runtime is declared once and reaches every consumer." \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"

# No WORKDIR on purpose: the workspace comes from PLUGIN_FLAKE,
# DRONE_WORKSPACE (Drone's docker runner: /drone/src) or the cwd (docker -w).
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/nixenv-verify"]
