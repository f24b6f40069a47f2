// Spec texts shared by the spec tests: a valid spec of another shape than cc-ci's,
// and one bad spec per row (its problem's line, column and words).
/** A small valid spec of another shape (one host, a runner service, a timer job, a derivation). */
export const OTHER = `version: 1
hosts:
  - name: lab
    config: nix/machines/lab.nix
    required_programs: [git]
shared:
  package: lab-run
  file: nix/toolbox.nix
  tools_attr: labTools
expected_tools:
  entries: [git-2.47.2, jq-1.7.1]
consumers:
  - name: runner
    kind: runner-service
    unit: github-runner-lab.service
  - name: backup
    kind: systemd-service
    unit: lab-backup.service
    started_by_timer: true
  - name: bundle
    kind: derivation
    attr: packages.x86_64-linux.lab-bundle
search_dir: nix
proofs:
  - id: one-list
    pattern: "labTools ="
    count: 1
    in_shared_file: true
`;

/** One bad spec per row: the problem's line, column and words. */
export const BAD: [string, string, number, number, RegExp][] = [
  ['YAML syntax error', 'version: 1\nhosts: [cc-ci\n', 3, 1, /not valid YAML/],
  ['a duplicate key', 'version: 1\nversion: 1\n', 2, 1, /not valid YAML: the key "version" appears twice in one map/],
  [
    'a second YAML document',
    `${OTHER}---\nversion: 1\n`,
    29,
    1,
    /not valid YAML: a spec is one YAML document; this file has another after `---`/,
  ],
  ['a NUL byte', 'version: 1\u0000\n', 1, 11, /a NUL byte: a spec is a YAML text file/],
  [
    'a required key missing',
    OTHER.replace('  tools_attr: labTools\n', ''),
    7,
    3,
    /shared\.tools_attr: missing; expected a Nix attribute name \(pkgs\.<tools_attr>\)/,
  ],
  ['an empty file', '', 1, 1, /the file is empty; expected a spec \(run nixenv-verify --print-spec for one\)/],
  ['a list, not a map', '- a\n- b\n', 1, 1, /expected a map \(a spec: version, hosts/],
  ['no version', OTHER.replace('version: 1\n', ''), 1, 1, /version: missing; expected version: 1/],
  ['version 2', OTHER.replace('version: 1', 'version: 2'), 1, 10, /version: expected version: 1/],
  [
    'an unknown top-level key',
    `${OTHER}colour: blue\n`,
    29,
    1,
    /colour: unknown key "colour"; allowed here: version, hosts, host_defaults, shared/,
  ],
  [
    'an unknown key in shared',
    OTHER.replace('  tools_attr: labTools', '  tools_attr: labTools\n  tool_list: x'),
    10,
    3,
    /shared\.tool_list: unknown key "tool_list"; allowed here: package, program, file, tools_attr, env_attr/,
  ],
  [
    'an unknown key in a consumer, named with the keys its kind allows',
    OTHER.replace(
      '    unit: github-runner-lab.service',
      '    unit: github-runner-lab.service\n    pipeline: .drone.yml',
    ),
    16,
    5,
    /consumers\[0\]\.pipeline: unknown key "pipeline"; allowed here: name, kind, unit, module, module_must_not_contain/,
  ],
  [
    'shared missing',
    OTHER.replace(/shared:\n( {2}.*\n)+/, ''),
    1,
    1,
    /shared: missing; expected a map with package, file, tools_attr/,
  ],
  [
    'a consumer kind that does not exist',
    OTHER.replace('kind: runner-service', 'kind: cron'),
    14,
    11,
    /consumers\[0\]\.kind: expected kind: systemd-service, drone-step, runner-service, system-packages, derivation, systemd-user-service, dev-shell or module-option/,
  ],
  [
    'a unit name without .service',
    OTHER.replace('unit: lab-backup.service', 'unit: lab-backup'),
    18,
    11,
    /consumers\[1\]\.unit: expected a systemd service unit name ending in \.service/,
  ],
  [
    'a boolean written as yes',
    OTHER.replace('started_by_timer: true', 'started_by_timer: yes'),
    19,
    23,
    /consumers\[1\]\.started_by_timer: expected true or false/,
  ],
  [
    'a path leaving the repository',
    OTHER.replace('file: nix/toolbox.nix', 'file: ../other/toolbox.nix'),
    8,
    9,
    /shared\.file: expected a relative path inside the repository \(no leading \/ and no \.\.\)/,
  ],
  [
    'an absolute path',
    OTHER.replace('config: nix/machines/lab.nix', 'config: /etc/nixos/lab.nix'),
    4,
    13,
    /hosts\[0\]\.config: expected a relative path inside the repository/,
  ],
  [
    'an empty tool list',
    OTHER.replace('entries: [git-2.47.2, jq-1.7.1]', 'entries: []'),
    11,
    12,
    /expected_tools\.entries: expected a non-empty list of name-version entries/,
  ],
  [
    'match neither superset nor exact',
    OTHER.replace('expected_tools:\n', 'expected_tools:\n  match: all\n'),
    11,
    10,
    /expected_tools\.match: expected superset or exact/,
  ],
  [
    'a check that does not exist',
    `${OTHER}checks: [build, lint]\n`,
    29,
    17,
    /checks\[1\]: expected one of build, single-source/,
  ],
  [
    'two consumers of one name',
    OTHER.replace('  - name: backup', '  - name: runner'),
    16,
    11,
    /consumers\[1\]\.name: consumer name "runner" is used twice \(first at consumers\[0\]\)/,
  ],
  [
    'same_line_as naming no proof',
    `${OTHER}  - pattern: x\n    count: 1\n    same_line_as: nothing\n`,
    31,
    19,
    /proofs\[1\]\.same_line_as: no proof has id "nothing" \(ids: one-list\)/,
  ],
  [
    'a proof with both count and at_least',
    OTHER.replace('    count: 1\n', '    count: 1\n    at_least: 2\n'),
    28,
    15,
    /proofs\[0\]\.at_least: give count \(exactly that many hits\) or at_least \(that many or more\), not both/,
  ],
  [
    'a host listed twice',
    OTHER.replace('hosts:\n', 'hosts:\n  - lab\n'),
    4,
    5,
    /hosts\[1\]: host "lab" is listed twice \(first at hosts\[0\]\)/,
  ],
  [
    'a host with no config file',
    OTHER.replace('hosts:\n', 'hosts:\n  - other\n'),
    3,
    5,
    /hosts\[0\]: host "other" has no config file: give it config, or host_defaults.config with \{host\}/,
  ],
  [
    'a host name Nix cannot name',
    OTHER.replace('  - name: lab\n', '  - name: "lab/x"\n'),
    3,
    11,
    /hosts\[0\]\.name: expected a nixosConfigurations attribute name/,
  ],
  [
    'a Nix attribute name with a space',
    OTHER.replace('package: lab-run', 'package: lab run'),
    7,
    12,
    /shared\.package: expected a Nix attribute name/,
  ],
  [
    'module_must_not_contain without a module',
    OTHER.replace(
      '    unit: github-runner-lab.service',
      '    unit: github-runner-lab.service\n    module_must_not_contain: [x]',
    ),
    16,
    30,
    /consumers\[0\]\.module_must_not_contain: needs module/,
  ],
  [
    'a misspelt key, with the nearest allowed one',
    OTHER.replace('search_dir: nix', 'serach_dir: nix'),
    23,
    1,
    /serach_dir: unknown key "serach_dir"; allowed here: .*; did you mean search_dir\?/,
  ],
  [
    'a misspelt kind, with the nearest kind',
    OTHER.replace('kind: runner-service', 'kind: runner-servce'),
    14,
    11,
    /consumers\[0\]\.kind: expected kind: .*; did you mean runner-service\?/,
  ],
  [
    'a misspelt match, with the nearest value',
    OTHER.replace('expected_tools:\n', 'expected_tools:\n  match: supreset\n'),
    11,
    10,
    /expected_tools\.match: expected superset or exact; did you mean superset\?/,
  ],
  [
    'a derivation attr that is no attribute path',
    OTHER.replace('attr: packages.x86_64-linux.lab-bundle', 'attr: "lab bundle"'),
    22,
    11,
    /consumers\[2\]\.attr: expected a flake output attribute path/,
  ],
  [
    'a consumer on a host the spec does not list',
    OTHER.replace('    started_by_timer: true\n', '    started_by_timer: true\n    hosts: [lab, lab2]\n'),
    20,
    18,
    /consumers\[1\]\.hosts\[1\]: host "lab2" is not in the spec's hosts \(lab\)/,
  ],
  [
    'a consumer host listed twice',
    OTHER.replace('    started_by_timer: true\n', '    started_by_timer: true\n    hosts: [lab, lab]\n'),
    20,
    18,
    /consumers\[1\]\.hosts\[1\]: host "lab" is listed twice/,
  ],
  [
    'an empty consumer hosts list',
    OTHER.replace('    started_by_timer: true\n', '    started_by_timer: true\n    hosts: []\n'),
    20,
    12,
    /consumers\[1\]\.hosts: expected a non-empty list of host names/,
  ],
  [
    'hosts on a derivation (a flake attribute, on no host)',
    OTHER.replace(
      '    attr: packages.x86_64-linux.lab-bundle\n',
      '    attr: packages.x86_64-linux.lab-bundle\n    hosts: [lab]\n',
    ),
    23,
    5,
    /consumers\[2\]\.hosts: unknown key "hosts"; allowed here: name, kind, attr/,
  ],
  [
    'image that is not true or false',
    OTHER.replace(
      '    attr: packages.x86_64-linux.lab-bundle\n',
      '    attr: packages.x86_64-linux.lab-bundle\n    image: yes\n',
    ),
    23,
    12,
    /consumers\[2\]\.image: expected true or false/,
  ],
  [
    'image with through (the image is read from its own config)',
    OTHER.replace(
      '    attr: packages.x86_64-linux.lab-bundle\n',
      '    attr: packages.x86_64-linux.lab-bundle\n    image: true\n    through: stream\n',
    ),
    24,
    14,
    /consumers\[2\]\.through: through does not go with image: true/,
  ],
];
