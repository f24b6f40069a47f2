cat > nix/modules/extra.nix <<'NIX'
{ pkgs, ... }:
let
  legacy = pkgs.writeShellScriptBin "cc-ci-weekly" ''
    cd /var/lib/cc-ci/src
    exec ${pkgs.python311}/bin/python3.11 runner/sweep.py --all-recipes --weekly
  '';
in
{
  systemd.services.cc-ci-weekly-sweep = {
    startAt = "weekly";
    serviceConfig = { Type = "oneshot"; ExecStart = "${legacy}/bin/cc-ci-weekly"; };
  };
}
NIX
for h in cc-ci cc-ci-hetzner; do python3 "$CASE_DIR/../../lib/replace.py" nix/hosts/$h/configuration.nix "    ../../modules/drone-runner.nix" "    ../../modules/drone-runner.nix
    ../../modules/extra.nix"; done
