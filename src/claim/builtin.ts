// The seed claim (cc-ci, HOW 1-6) as a spec: what runs when no spec file and no
// setting says otherwise, and what `--print-spec` prints for users to start from.
// The built-in claim is parsed from this very text, so the two cannot drift.

export const BUILTIN_SPEC_YAML = `# nixenv-verify spec: the claim a NixOS flake repository makes about its test runtime.
# This is the built-in spec, cc-ci's claim: "the test runtime is declared once, in
# nix/modules/packages.nix, and every consumer uses that one declaration".
# Save it as .nixenv-verify.yml at the repository root (or point the \`spec\`
# setting at it) and edit the names; settings still override it.
version: 1

# nixosConfigurations to verify. A plain name takes host_defaults; a map may set
# its own config file and required programs.
hosts:
  - cc-ci
  - cc-ci-hetzner
host_defaults:
  # The host's configuration file; {host} is replaced by the host name.
  config: nix/hosts/{host}/configuration.nix
  # Programs the host's system PATH (sw/bin) must have (HOW 5).
  required_programs: [git-lfs, openssl]

# The shared runtime, declared once.
shared:
  package: cc-ci-run               # pkgs.cc-ci-run, the wrapper every consumer runs
  program: cc-ci-run               # its bin/ name (default: the package name)
  file: nix/modules/packages.nix   # the one file that declares the runtime
  tools_attr: ccciRuntimeTools     # pkgs.ccciRuntimeTools, the shared tool list
  env_attr: ccciPyEnv              # the python withPackages env (optional)

# What the wrapper's PATH must hold where it runs its program (HOW 3): name-version
# entries; \`superset\` allows more entries, \`exact\` allows no others.
expected_tools:
  match: superset
  entries:
    - python3-3.12.8-env
    - abra-0.13.0-beta
    - docker-27.5.1
    - git-2.47.2
    - git-lfs-3.6.1
    - bash-5.2p37
    - coreutils-9.5
    - util-linux-2.39.4
    - curl-8.12.1
    - jq-1.7.1
    - gnused-4.9
    - gnugrep-3.11
    - gnutar-1.35
    - openssl-3.3.3
    - procps-4.0.4

# Who uses the runtime, and how each reaches the shared package (HOW 4, HOW 6).
consumers:
  # A systemd service: its ExecStart is followed through every script to the program.
  - name: nightly-sweep
    kind: systemd-service
    unit: cc-ci-nightly-sweep.service
    started_by_timer: true
    module: nix/modules/nightly-sweep.nix
    module_must_not_contain: [withPackages, python3, /run/current-system/sw/bin]
    module_runtime_inputs_only: true   # runtimeInputs = [ pkgs.cc-ci-run ] only
    module_execs_program: true         # its script execs cc-ci-run
  # A Drone step on the exec runner: its commands run the program with the PATH the
  # runner unit and the pipeline give it.
  - name: drone
    kind: drone-step
    pipeline: .drone.yml
    runs: runner/run_recipe_ci.py
    runner_unit: drone-runner-exec.service
    module: nix/modules/drone-runner.nix
  # The hosts' system packages: each host config refers to the tool list, and all
  # hosts declare the same environment.systemPackages.
  - name: system-packages
    kind: system-packages
    same_definition: true
    config_references_tools: true

# The grep proofs (HOW 2), with \`grep -rn\` semantics over search_dir.
search_dir: nix
proofs:
  - id: one-env
    pattern: withPackages
    count: 1
    in_shared_file: true
  - id: one-package-list
    pattern: pytest playwright
    count: 1
    same_line_as: one-env

# The checks to run, in the claim's order.
checks: [build, single-source, path-superset, entrypoint-parity, host-parity, propagation, no-drop]
`;
