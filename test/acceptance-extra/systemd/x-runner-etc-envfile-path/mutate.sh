cat > nix/modules/extra.nix <<'NIX'
{ ... }:
{
  environment.etc."drone-runner-exec/path.env".text = "PATH=/usr/bin:/bin\n";
  systemd.services.drone-runner-exec.serviceConfig.EnvironmentFile = [ "/etc/drone-runner-exec/path.env" ];
}
NIX
for h in cc-ci cc-ci-hetzner; do python3 "$CASE_DIR/../../lib/replace.py" nix/hosts/$h/configuration.nix "    ../../modules/drone-runner.nix" "    ../../modules/drone-runner.nix
    ../../modules/extra.nix"; done
