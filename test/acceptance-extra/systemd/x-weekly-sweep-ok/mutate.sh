python3 "$CASE_DIR/../../lib/replace.py" nix/modules/nightly-sweep.nix '  systemd.services.cc-ci-nightly-sweep = {' '  systemd.services.cc-ci-weekly-sweep = {
    startAt = "weekly";
    serviceConfig = { Type = "oneshot"; ExecStart = "${sweep}/bin/cc-ci-nightly-sweep --weekly"; };
  };

  systemd.services.cc-ci-nightly-sweep = {'
