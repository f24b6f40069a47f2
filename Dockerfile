# syntax=docker/dockerfile:1
#
# nixenv-verify: Drone CI plugin + CLI that verifies claims about NixOS flake
# repos with real `nix`.
#
#   docker build -t nixenv-verify .
#   docker buildx build --platform linux/amd64,linux/arm64 -t nixenv-verify .
#   docker run --rm -v "$PWD:/drone/src" -e DRONE_WORKSPACE=/drone/src nixenv-verify
#
# Build arguments
#   TARGETARCH, BUILDPLATFORM  set by BuildKit/podman (--platform): amd64 or
#                        arm64. The build stage runs on the build platform
#                        (its output is plain JavaScript; the build checks that
#                        no native addon reaches /app), the runtime stage is
#                        the target's.
#   NODE_EXTRA_CA_CERTS  optional PEM *text* (not a path) of extra CA
#                        certificates, for networks that intercept TLS. Used
#                        only by npm in the build stage, written to a temp file
#                        there; the runtime stage never sees it, e.g.
#                        --build-arg NODE_EXTRA_CA_CERTS="$(cat corp-ca.pem)"
#   VERSION, REVISION, SOURCE   OCI label values (scripts/image-build.sh
#                        fills them from package.json and git).
#
# Nix at run time (docs/image.md)
#   Default: the unprivileged user `nixenv` (uid/gid 1000, HOME /home/nixenv)
#   with a single-user local store it owns (/nix, no daemon). Root only when
#   asked (docker --user root, Drone `user: root`). Another uid needs the
#   host's daemon (below) or a store it owns: mount a directory owned by that
#   uid at /nix (nix creates the store in it); otherwise the verifier exits 2
#   "cannot start", saying so. To reuse a host's store, daemon and remote
#   builders, mount the host's /nix (-v /nix:/nix); the entrypoint sees the
#   daemon socket and sets NIX_REMOTE=daemon (set NIX_REMOTE yourself to
#   override, NIX_REMOTE= forces the local store). Extra nix settings:
#   -e NIX_CONFIG=$'line1\nline2'. TLS-intercepting networks: mount a CA bundle
#   and set NIX_SSL_CERT_FILE.

############################ build stage ############################
FROM --platform=$BUILDPLATFORM node:20-bookworm-slim AS build
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
    native=$(find node_modules -name '*.node' -o -name binding.gyp | head -5); \
    if [ -n "$native" ]; then echo "native addons in production node_modules (the build stage is not the target's): $native" >&2; exit 1; fi; \
    mkdir -p /app; \
    cp -a package.json dist node_modules /app/; \
    for f in plugin.yml templates LICENSE; do [ ! -e "$f" ] || cp -a "$f" /app/; done

# The target's Node: only its `node` binary goes into the runtime stage.
FROM node:20-bookworm-slim AS node

########################### runtime stage ###########################
# Debian slim, not the node image: no npm, headers or build tools at run time.
FROM debian:bookworm-slim

# Debian's nix (2.8) plus what the verifier shells out to. tini reaps nix's
# children and forwards signals (node as PID 1 ignores SIGTERM).
RUN set -eu; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      nix-bin git bash ca-certificates tini; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt/* /var/log/dpkg.log

COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY docker/nix.conf /etc/nix/nix.conf
COPY docker/entrypoint.sh /usr/local/bin/nixenv-verify
COPY --from=build /app /opt/nixenv-verify

# - create the local store layout (/nix/store, /nix/var/nix/db, ...) so the
#   first run needs no setup; a mounted host /nix simply hides it.
# - the workspace is often owned by another uid than the step's (Drone
#   clones as root): let git (and nix, which calls git) use it.
# - the image is the arch it was built for (a wrong base fails here, not at
#   run time on the runner).
# - the default user nixenv (uid 1000) with a home, owning the store: a
#   single-user Nix install, so a run needs no root.
ARG TARGETARCH
ARG NIXENV_UID=1000
RUN set -eu; \
    chmod 0755 /usr/local/bin/nixenv-verify; \
    groupadd --gid "$NIXENV_UID" nixenv; \
    useradd --uid "$NIXENV_UID" --gid nixenv --create-home --home-dir /home/nixenv --shell /bin/bash nixenv; \
    mkdir -p /nix; \
    chown nixenv:nixenv /nix; \
    su nixenv -s /bin/sh -c 'nix-store --init'; \
    test "$(stat -c %U /nix/store /nix/var/nix/db)" = "$(printf 'nixenv\nnixenv')"; \
    git config --system --add safe.directory '*'; \
    arch=$(dpkg --print-architecture); \
    if [ -n "${TARGETARCH:-}" ] && [ "$arch" != "${TARGETARCH:-}" ]; then echo "runtime stage is $arch, TARGETARCH is ${TARGETARCH}" >&2; exit 1; fi; \
    node -p 'process.arch + " node " + process.version'; nix --version; git --version; \
    if command -v npm; then echo "npm in the runtime stage" >&2; exit 1; fi

ENV NODE_ENV=production
# Not root: the verifier evaluates and builds someone's repository.
USER nixenv:nixenv
ENV HOME=/home/nixenv USER=nixenv
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
