cat > nix/modules/extra.nix <<'NIX'
{ pkgs, ... }:
let
  legacy = pkgs.writeShellScriptBin "cc-ci-sweep-legacy" ''
    cd /var/lib/cc-ci/src
    exec ${pkgs.python311}/bin/python3.11 runner/sweep.py --all-recipes
  '';
in
{
  systemd.services.cc-ci-nightly-sweep.serviceConfig.ExecStart = [ "" "${legacy}/bin/cc-ci-sweep-legacy" ];
}
NIX
for h in cc-ci cc-ci-hetzner; do python3 "$CASE_DIR/../../lib/replace.py" nix/hosts/$h/configuration.nix "    ../../modules/drone-runner.nix" "    ../../modules/drone-runner.nix
    ../../modules/extra.nix"; done
