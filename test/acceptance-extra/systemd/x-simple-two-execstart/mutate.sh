cat > nix/modules/extra.nix <<'NIX'
{ pkgs, lib, ... }:
{
  systemd.services.cc-ci-nightly-sweep.serviceConfig = { Type = lib.mkForce "simple"; ExecStart = lib.mkBefore [ "${pkgs.coreutils}/bin/true" ]; };
}
NIX
for h in cc-ci cc-ci-hetzner; do python3 "$CASE_DIR/../../lib/replace.py" nix/hosts/$h/configuration.nix "    ../../modules/drone-runner.nix" "    ../../modules/drone-runner.nix
    ../../modules/extra.nix"; done
