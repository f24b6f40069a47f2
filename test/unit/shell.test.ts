import {
  analyzeScript,
  finalRunOf,
  pathDirs,
  shellFromNixString,
  programLookup,
  renderPath,
  resolvePath,
  type AnalyzeOptions,
  type Invocation,
  type PathValue,
  type ShellAnalysis,
  type ShellIssue,
} from '../../src/shell/index.js';

const A = '/nix/store/aaa-python3-3.12.8-env/bin';
const B = '/nix/store/bbb-git-2.47.2/bin';

/** One line per invocation: `LINE PROGRAM ARGS path=… cwd=…[ exec][ cond]`. */
function brief(i: Invocation): string {
  return `${i.line} ${i.program} ${JSON.stringify(i.args)} path=${renderPath(i.path)} cwd=${String(i.cwd)}${i.exec ? ' exec' : ''}${i.conditional ? ' cond' : ''}`;
}

interface Case {
  name: string;
  script: string;
  options?: AnalyzeOptions;
  /** Expected `brief` of every invocation, in order. */
  invocations?: string[];
  /** finalRunOf(program) must give these fields. */
  final?: { program: string; want: Partial<Invocation> | undefined };
  finalPath?: PathValue;
  unfollowable?: ShellIssue[];
  unreachable?: ShellIssue[];
  parseError?: ShellAnalysis['parseError'];
  allexportLines?: number[];
  exported?: string[];
}

const WRITE_SHELL_APPLICATION = `#!/nix/store/xxx-bash-5.2p37/bin/bash
set -o errexit
set -o nounset
set -o pipefail

export PATH="${A}:${B}:$PATH"

export PLAYWRIGHT_BROWSERS_PATH=/var/lib/cc-ci/playwright
exec python3 "$@"
`;

const makeWrapperPrefix = (dir: string) => `PATH=\${PATH:+':'$PATH':'}
PATH=\${PATH/':''${dir}'':'/':'}
PATH='${dir}'$PATH
PATH=\${PATH#':'}
PATH=\${PATH%':'}
export PATH
`;

const MAKE_WRAPPER = `#! /nix/store/xxx-bash-5.2p37/bin/bash -e
${makeWrapperPrefix(B)}${makeWrapperPrefix(A)}export PLAYWRIGHT_BROWSERS_PATH='/var/lib/cc-ci/playwright'
exec -a "$0" "/nix/store/ccc-cc-ci-run/bin/.cc-ci-run-wrapped"  "$@"
`;

const cases: Case[] = [
  {
    name: "writeShellApplication's exact output",
    script: WRITE_SHELL_APPLICATION,
    invocations: [
      '2 set ["-o","errexit"] path=$PATH cwd=.',
      '3 set ["-o","nounset"] path=$PATH cwd=.',
      '4 set ["-o","pipefail"] path=$PATH cwd=.',
      `6 export ["PATH=${A}:${B}:$PATH"] path=$PATH cwd=.`,
      `8 export ["PLAYWRIGHT_BROWSERS_PATH=/var/lib/cc-ci/playwright"] path=${A}:${B}:$PATH cwd=.`,
      `9 python3 ["<unknown:$@>"] path=${A}:${B}:$PATH cwd=. exec`,
    ],
    final: {
      program: 'python3',
      want: {
        exec: true,
        conditional: false,
        line: 9,
        text: 'exec python3 "$@"',
        path: { entries: [{ dir: A }, { dir: B }, { inherited: true }] },
        via: ['exec'],
        kind: 'external',
      },
    },
    exported: ['PATH', 'PLAYWRIGHT_BROWSERS_PATH'],
    unfollowable: [],
    unreachable: [],
  },
  {
    name: 'the nightly sweep wrapper as writeShellApplication builds it: cd, then exec cc-ci-run',
    script:
      '#!/nix/store/xxx-bash-5.2p37/bin/bash\nset -o errexit\nset -o nounset\nset -o pipefail\n\nexport PATH="/nix/store/zzz-cc-ci-run/bin:$PATH"\n\ncd /var/lib/cc-ci/repo\nexec cc-ci-run runner/nightly_sweep.py --all "$@"\n',
    final: {
      program: 'cc-ci-run',
      want: {
        line: 9,
        exec: true,
        conditional: false,
        cwd: '/var/lib/cc-ci/repo',
        args: ['runner/nightly_sweep.py', '--all', '<unknown:$@>'],
        path: { entries: [{ dir: '/nix/store/zzz-cc-ci-run/bin' }, { inherited: true }] },
      },
    },
    unfollowable: [],
  },
  {
    name: "a Drone exec step under the runner's PATH",
    script: 'cc-ci-run -m pyflakes runner/\ncc-ci-run runner/run_recipe_ci.py',
    options: {
      inheritedPath: [{ dir: '/run/current-system/sw/bin' }, { dir: '/run/wrappers/bin' }],
      knownVars: { CC_CI_RECIPE: 'all' },
    },
    final: {
      program: 'cc-ci-run',
      want: {
        line: 2,
        conditional: false,
        args: ['runner/run_recipe_ci.py'],
        path: { entries: [{ dir: '/run/current-system/sw/bin' }, { dir: '/run/wrappers/bin' }] },
        exportedVars: ['CC_CI_RECIPE', 'PATH'],
      },
    },
  },
  {
    name: 'makeWrapper --prefix PATH (de-dup form, two prefixes) then exec -a',
    script: MAKE_WRAPPER,
    final: {
      program: '.cc-ci-run-wrapped',
      want: {
        line: 15,
        exec: true,
        args: ['<unknown:$@>'],
        path: { entries: [{ dir: A }, { dir: B }, { inherited: true, without: [B, A] }] },
      },
    },
    unfollowable: [],
  },
  {
    name: "makeWrapper's older form export PATH='dir'${PATH:+':'}$PATH",
    script: `export PATH='${A}'\${PATH:+':'}$PATH\nexec "/nix/store/ccc-x/bin/.x-wrapped" "$@"`,
    finalPath: { entries: [{ dir: A }, { inherited: true }] },
  },
  {
    name: 'makeWrapper --suffix: the append depends on the caller PATH, so PATH is unknown',
    script: `PATH=\${PATH:+':'$PATH':'}\nif [[ $PATH != *':''/s/bin'':'* ]]; then\n    PATH=$PATH'/s/bin'\nfi\nPATH=\${PATH#':'}\nPATH=\${PATH%':'}\nexport PATH\nexec x`,
    final: {
      program: 'x',
      want: {
        path: {
          unknown:
            'PATH is assigned conditionally at line 3 (inside the `if` at line 2); its value afterwards depends on the path taken',
        },
      },
    },
    unfollowable: [
      {
        line: 3,
        text: "PATH=$PATH'/s/bin'",
        reason: 'PATH assigned inside the `if` at line 2: PATH after it depends on which path ran',
      },
    ],
  },
  {
    name: 'a later assignment replaces PATH',
    script: `export PATH="${A}:$PATH"\nPATH=/only/bin\nexec tool`,
    finalPath: { entries: [{ dir: '/only/bin' }] },
    final: { program: 'tool', want: { path: { entries: [{ dir: '/only/bin' }] }, line: 3 } },
  },
  {
    name: 'a later assignment that contains $PATH extends it',
    script: `export PATH="${A}:$PATH"\nPATH=/b/bin:\${PATH}\nexec tool`,
    final: { program: 'tool', want: { path: { entries: [{ dir: '/b/bin' }, { dir: A }, { inherited: true }] } } },
  },
  {
    name: 'PATH=x exec y applies to y only; later code is unreachable',
    script: 'PATH=/x/bin exec y --flag\necho never',
    invocations: ['1 y ["--flag"] path=/x/bin cwd=. exec'],
    unreachable: [{ line: 2, text: 'echo never', reason: 'after the exec at line 1' }],
    finalPath: { entries: [{ inherited: true }] },
  },
  {
    name: 'a prefix assignment does not persist',
    script: 'PATH=/x/bin a\nb',
    invocations: ['1 a [] path=/x/bin cwd=.', '2 b [] path=$PATH cwd=.'],
  },
  {
    name: 'env -i clears PATH',
    script: 'env -i prog arg',
    final: {
      program: 'prog',
      want: {
        args: ['arg'],
        via: ['env'],
        exportedVars: [],
        path: {
          unknown:
            "the environment is cleared (env -i / exec -c): the program is looked up in execvp's default path and runs without PATH",
        },
      },
    },
  },
  {
    name: 'exec -c clears the environment too',
    script: 'exec -c prog',
    final: {
      program: 'prog',
      want: {
        exec: true,
        exportedVars: [],
        path: {
          unknown:
            "the environment is cleared (env -i / exec -c): the program is looked up in execvp's default path and runs without PATH",
        },
      },
    },
  },
  {
    name: 'env -i PATH=… sets the only PATH',
    script: 'env -i PATH=/only HOME=/h prog',
    final: { program: 'prog', want: { path: { entries: [{ dir: '/only' }] }, exportedVars: ['HOME', 'PATH'] } },
  },
  {
    name: 'env PATH=… with the caller PATH, and exec env',
    script: 'env PATH=/e/bin:$PATH bar\nexec env PATH=/n/bin FOO=1 baz',
    invocations: ['1 bar [] path=/e/bin:$PATH cwd=.', '2 baz [] path=/n/bin cwd=. exec'],
    final: { program: 'baz', want: { via: ['exec', 'env'], exportedVars: ['FOO', 'PATH'] } },
  },
  {
    name: 'env with nothing to run is the program; sudo NAME=value',
    script: 'env -i\nenv\nsudo -E FOO=1 tool',
    invocations: [
      '1 env ["-i"] path=<unknown: the environment is cleared (env -i / exec -c): the program is looked up in execvp\'s default path and runs without PATH> cwd=.',
      '2 env [] path=$PATH cwd=.',
      "3 tool [] path=<unknown: sudo runs the program with its own PATH (secure_path), not the shell's> cwd=.",
    ],
    final: { program: 'tool', want: { via: ['sudo'], exportedVars: ['FOO', 'PATH'] } },
  },
  {
    name: 'env -u PATH',
    script: 'env -u PATH baz',
    final: {
      program: 'baz',
      want: {
        path: {
          unknown:
            'PATH is removed for this command (env -u PATH): lookup falls back to the default path and the program runs without PATH',
        },
      },
    },
  },
  {
    name: 'set -a then PATH= and FOO=: both exported',
    script: 'set -a\nPATH=/r/bin\nFOO=1\nprog',
    final: { program: 'prog', want: { path: { entries: [{ dir: '/r/bin' }] }, exportedVars: ['FOO', 'PATH'] } },
    allexportLines: [1],
    exported: ['FOO', 'PATH'],
  },
  {
    name: 'without set -a a plain assignment is not exported',
    script: 'FOO=1\nprog',
    final: { program: 'prog', want: { exportedVars: ['PATH'] } },
    allexportLines: [],
  },
  {
    name: 'conditional assignment in if',
    script: 'if [ -n "$CI" ]; then\n  PATH=/ci/bin:$PATH\nfi\nexec run',
    final: {
      program: 'run',
      want: {
        conditional: false,
        path: {
          unknown:
            'PATH is assigned conditionally at line 2 (inside the `if` at line 1); its value afterwards depends on the path taken',
        },
      },
    },
    unfollowable: [
      {
        line: 2,
        text: 'PATH=/ci/bin:$PATH',
        reason: 'PATH assigned inside the `if` at line 1: PATH after it depends on which path ran',
      },
    ],
  },
  {
    name: 'the same assignment on every branch is not uncertain',
    script: 'if a; then PATH=/s; else PATH=/s; fi\nexec run',
    final: { program: 'run', want: { path: { entries: [{ dir: '/s' }] } } },
    unfollowable: [],
  },
  {
    name: 'assignment inside a called function; local is restored',
    script: 'setup() {\n  PATH=/f/bin:$PATH\n  local PATH=/tmp/bin\n  helper\n}\nsetup\nexec run',
    invocations: [
      '6 setup [] path=$PATH cwd=.',
      '3 local ["PATH=/tmp/bin"] path=/f/bin:$PATH cwd=.',
      '4 helper [] path=/tmp/bin cwd=.',
      '7 run [] path=/f/bin:$PATH cwd=. exec',
    ],
    final: { program: 'helper', want: { calledFrom: [6] } },
  },
  {
    name: 'a function that is never called runs nothing',
    script: 'unused() { PATH=/u; x; }\nexec run',
    invocations: ['2 run [] path=$PATH cwd=. exec'],
  },
  {
    name: 'eval makes PATH unknown',
    script: 'eval "$(dircolors)"\nexec run',
    invocations: [
      '1 dircolors [] path=$PATH cwd=.',
      '1 eval ["<unknown:$(dircolors)>"] path=$PATH cwd=.',
      '2 run [] path=<unknown: PATH may have been changed by the eval at line 1> cwd=<unknown: the directory may have been changed by the eval at line 1> exec',
    ],
    unfollowable: [
      {
        line: 1,
        text: 'eval "$(dircolors)"',
        reason: 'eval runs code built at run time; PATH and variables after it are unknown',
      },
    ],
  },
  {
    name: 'source FILE',
    script: 'source /etc/profile\nrun',
    final: { program: 'run', want: { path: { unknown: 'PATH may have been changed by the source at line 1' } } },
    unfollowable: [
      {
        line: 1,
        text: 'source /etc/profile',
        reason: 'source /etc/profile runs another file in this shell; PATH and variables after it are unknown',
      },
    ],
  },
  {
    name: '. ./x, then a reassignment makes PATH known again',
    script: '. ./env.sh\nPATH=/again\nrun',
    final: { program: 'run', want: { path: { entries: [{ dir: '/again' }] } } },
    unfollowable: [
      {
        line: 1,
        text: '. ./env.sh',
        reason: '. ./env.sh runs another file in this shell; PATH and variables after it are unknown',
      },
    ],
  },
  {
    name: 'unknown variable in PATH',
    script: 'PATH=$TOOLS/bin:$PATH\nrun',
    final: {
      program: 'run',
      want: {
        path: { unknown: "PATH contains $TOOLS (TOOLS comes from the caller's environment), known only at run time" },
      },
    },
    unfollowable: [
      { line: 1, text: 'PATH=$TOOLS/bin:$PATH', reason: 'PATH is assigned a value computed at run time ($TOOLS)' },
    ],
  },
  {
    name: 'a variable given in knownVars expands',
    script: 'PATH=$TOOLS/bin:$PATH\nrun',
    options: { knownVars: { TOOLS: '/opt/tools' } },
    final: { program: 'run', want: { path: { entries: [{ dir: '/opt/tools/bin' }, { inherited: true }] } } },
    unfollowable: [],
  },
  {
    name: 'command substitution in PATH',
    script: 'PATH="$(dirname "$0")":$PATH\nrun',
    invocations: [
      '1 dirname ["<unknown:$0>"] path=$PATH cwd=.',
      '2 run [] path=<unknown: PATH contains $(dirname "$0"), known only at run time> cwd=.',
    ],
    unfollowable: [
      {
        line: 1,
        text: 'PATH="$(dirname "$0")":$PATH',
        reason: 'PATH is assigned a value computed at run time ($(dirname "$0"))',
      },
    ],
  },
  {
    name: 'a computed PATH for one command (prefix or env)',
    script: 'PATH=$(cat /p) a\nenv PATH="$P" b',
    unfollowable: [
      { line: 1, text: 'PATH=$(cat /p) a', reason: 'PATH for this command is computed at run time ($(cat /p))' },
      { line: 2, text: 'env PATH="$P" b', reason: 'PATH for this command is computed at run time ($P)' },
    ],
    final: {
      program: 'b',
      want: { path: { unknown: "PATH contains $P (P comes from the caller's environment), known only at run time" } },
    },
  },
  {
    // Reported once, where the unknown value enters PATH; a later `export PATH` or `PATH=/x:$PATH` adds nothing.
    name: 'export PATH of an unknown value',
    script: 'PATH=`cat /p`\nexport PATH\nPATH=/x:$PATH\nrun',
    unfollowable: [
      { line: 1, text: 'PATH=`cat /p`', reason: 'PATH is assigned a value computed at run time (`cat /p`)' },
    ],
    final: { program: 'run', want: { path: { unknown: 'PATH contains `cat /p`, known only at run time' } } },
  },
  {
    name: 'Drone step commands: cd runner && cc-ci-run run_recipe_ci.py',
    script: ['nix --version', 'cd runner && cc-ci-run run_recipe_ci.py  # the harness'].join('\n'),
    final: {
      program: 'cc-ci-run',
      want: {
        args: ['run_recipe_ci.py'],
        cwd: 'runner',
        line: 2,
        text: 'cc-ci-run run_recipe_ci.py',
        conditional: true,
        conditionalReason: 'runs only if `cd runner` (line 2) succeeds',
        exec: false,
      },
    },
  },
  {
    name: 'pipelines run in subshells; || runs its right side conditionally',
    script: 'PATH=/p | tee log || fallback\nrun',
    invocations: ['1 tee ["log"] path=$PATH cwd=.', '1 fallback [] path=$PATH cwd=. cond', '2 run [] path=$PATH cwd=.'],
  },
  {
    name: 'true && b: b is not conditional',
    script: 'true && b',
    invocations: ['1 true [] path=$PATH cwd=.', '1 b [] path=$PATH cwd=.'],
  },
  {
    name: 'parse error with its position',
    script: 'if true; then\n  echo "unterminated\nfi\n',
    // mvdan-sh points at the opening quote.
    parseError: { line: 2, column: 8, message: 'reached EOF without closing quote "' },
    invocations: [],
  },
  {
    name: 'a dangling && is a parse error at the operator',
    script: 'ok\nbuild &&\n',
    parseError: { line: 2, column: 7, message: '&& must be followed by a statement' },
    invocations: [],
  },
  {
    name: 'select: a loop whose variable the user picks; its body is conditional',
    script: 'select x in a b; do PATH=/s:$PATH; run "$x"; break; done\nafter',
    invocations: [
      '1 run ["<unknown:$x>"] path=/s:$PATH cwd=. cond',
      '1 break [] path=/s:$PATH cwd=. cond',
      '2 after [] path=<unknown: PATH is assigned conditionally at line 1 (inside the `select` loop at line 1); its value afterwards depends on the path taken> cwd=.',
    ],
    unfollowable: [
      {
        line: 1,
        text: 'select x in a b; do PATH=/s:$PATH; run "$x"; break; done',
        reason: 'PATH assigned inside the `select` loop at line 1: PATH after it depends on which path ran',
      },
    ],
  },
  {
    name: 'exec followed by dead code: dropped and listed',
    script: 'exec real "$@"\nPATH=/late\nother\nif x; then y; fi',
    invocations: ['1 real ["<unknown:$@>"] path=$PATH cwd=. exec'],
    unreachable: [
      { line: 2, text: 'PATH=/late', reason: 'after the exec at line 1' },
      { line: 3, text: 'other', reason: 'after the exec at line 1' },
      { line: 4, text: 'if x; then y; fi', reason: 'after the exec at line 1' },
    ],
    finalPath: { entries: [{ inherited: true }] },
  },
  {
    name: 'exec with only redirections does not end the shell',
    script: 'exec >/tmp/log 2>&1\nrun',
    invocations: ['2 run [] path=$PATH cwd=.'],
    unreachable: [],
  },
  {
    name: 'a conditional exec makes later commands conditional',
    script: 'if [ -x /fast ]; then exec /fast; fi\nexec slow',
    final: {
      program: 'slow',
      want: { conditional: true, conditionalReason: 'reached only if the exec at line 1 did not run' },
    },
    unreachable: [],
  },
  {
    name: 'dynamic program word',
    script: 'exec "$@"',
    invocations: ['1 <unknown> [] path=$PATH cwd=. exec'],
    unfollowable: [{ line: 1, text: 'exec "$@"', reason: 'the program word `<unknown:$@>` is computed at run time' }],
  },
  {
    name: 'nice/nohup/time prefixes and exec -a',
    script: 'nice -n 5 nohup time -p prog a\nexec -a name /bin/real b',
    invocations: ['1 prog ["a"] path=$PATH cwd=.', '2 /bin/real ["b"] path=$PATH cwd=. exec'],
    final: { program: 'prog', want: { via: ['nice', 'nohup', 'time'] } },
  },
  {
    name: 'command -p and sudo do not use the shell PATH',
    script: 'command -p ls\nsudo -u root tool',
    final: {
      program: 'tool',
      want: { path: { unknown: "sudo runs the program with its own PATH (secure_path), not the shell's" } },
    },
    invocations: [
      "1 ls [] path=<unknown: command -p looks the program up in the shell's default PATH, not $PATH> cwd=.",
      "2 tool [] path=<unknown: sudo runs the program with its own PATH (secure_path), not the shell's> cwd=.",
    ],
  },
  {
    name: 'unset PATH',
    script: 'unset PATH\nrun',
    final: {
      program: 'run',
      want: {
        path: {
          unknown: "PATH is unset (line 1): lookup falls back to the shell's built-in default and children get no PATH",
        },
      },
    },
  },
  {
    name: '${VAR:-default} with a known and an unset VAR; quotes removed',
    script: 'D=/d\nPATH="${D:-/x}/bin":$PATH\nunset D\nPATH=${D:-\'/y z\'}/bin:$PATH\nrun',
    final: {
      program: 'run',
      want: { path: { entries: [{ dir: '/y z/bin' }, { dir: '/d/bin' }, { inherited: true }] } },
    },
  },
  {
    name: '${E:-x} replaces a set-but-empty value, ${E-x} keeps it (an empty entry is the current directory)',
    script: 'E=\nPATH=${E:-/fallback}:$PATH\nPATH=${E-/not}:$PATH\nrun',
    final: { program: 'run', want: { path: { entries: [{ dir: '' }, { dir: '/fallback' }, { inherited: true }] } } },
  },
  {
    name: 'case arm assignment is conditional',
    script: 'case "$1" in\n  ci) PATH=/ci ;;\nesac\nrun',
    final: {
      program: 'run',
      want: {
        path: {
          unknown:
            'PATH is assigned conditionally at line 2 (inside the `case` at line 1); its value afterwards depends on the path taken',
        },
      },
    },
  },
  {
    name: 'while loop assignment is conditional',
    script: 'while read -r d; do PATH=$PATH:/w; done < dirs\nrun',
    final: {
      program: 'run',
      want: {
        path: {
          unknown:
            'PATH is assigned conditionally at line 1 (inside the `while` loop at line 1); its value afterwards depends on the path taken',
        },
      },
    },
  },
  {
    name: 'finalRunOf: the last unconditional run wins over later conditional ones',
    script: 'if a; then cc-ci-run one; fi\n/run/current-system/sw/bin/cc-ci-run two\nb || cc-ci-run three',
    final: {
      program: 'cc-ci-run',
      want: { args: ['two'], program: '/run/current-system/sw/bin/cc-ci-run', conditional: false },
    },
  },
  {
    name: 'finalRunOf: a program never run',
    script: 'echo cc-ci-run',
    final: { program: 'cc-ci-run', want: undefined },
  },
  {
    name: 'subshell: cd and exec stay inside it',
    script: '(cd sub && exec t)\nu',
    invocations: ['1 cd ["sub"] path=$PATH cwd=.', '1 t [] path=$PATH cwd=sub exec cond', '2 u [] path=$PATH cwd=.'],
    unreachable: [],
  },
  {
    name: 'cd tracks relative and absolute directories',
    script: 'cd a/b\ncd ../c\nx\ncd /abs\ny\ncd "$DIR"\nz',
    invocations: [
      '1 cd ["a/b"] path=$PATH cwd=.',
      '2 cd ["../c"] path=$PATH cwd=a/b',
      '3 x [] path=$PATH cwd=a/c',
      '4 cd ["/abs"] path=$PATH cwd=a/c',
      '5 y [] path=$PATH cwd=/abs',
      '6 cd ["<unknown:$DIR>"] path=$PATH cwd=/abs',
      '7 z [] path=$PATH cwd=<unknown: cd to a directory computed at run time (line 6)>',
    ],
  },
  {
    name: 'declare -x and readonly assign; trap is unfollowable',
    script: "declare -x PATH=/d/bin\nreadonly R=1\ntrap 'rm -f /tmp/x' EXIT\nrun",
    final: { program: 'run', want: { path: { entries: [{ dir: '/d/bin' }] }, exportedVars: ['PATH'] } },
    // No exec: the EXIT handler runs when the script ends.
    unfollowable: [
      {
        line: 3,
        text: "trap 'rm -f /tmp/x' EXIT",
        reason:
          'the EXIT trap handler runs when the script ends (no exec replaces the shell before) and is not analysed',
      },
    ],
  },
  {
    name: 'inheritedPath given as entries',
    script: 'PATH=/a:$PATH\nrun',
    options: { inheritedPath: [{ dir: '/run/current-system/sw/bin' }, { dir: '/run/wrappers/bin' }] },
    final: {
      program: 'run',
      want: { path: { entries: [{ dir: '/a' }, { dir: '/run/current-system/sw/bin' }, { dir: '/run/wrappers/bin' }] } },
    },
  },
  {
    name: 'PATH+= appends',
    script: 'PATH+=:/extra\nrun',
    final: { program: 'run', want: { path: { entries: [{ inherited: true }, { dir: '/extra' }] } } },
  },
  {
    name: 'unquoted known variables are field-split; the first if condition always runs',
    script: 'CMD="python3 -u"\nif grep -q x f; then :; fi\n$CMD "a b"',
    invocations: [
      '2 grep ["-q","x","f"] path=$PATH cwd=.',
      '2 : [] path=$PATH cwd=. cond',
      '3 python3 ["-u","a b"] path=$PATH cwd=.',
    ],
  },
  {
    name: 'a conditional return inside a function: PATH after the call is uncertain, the condition does not leak',
    script: 'f() { if a; then return 1; fi; PATH=/f; b; }\nf\nrun',
    invocations: [
      '2 f [] path=$PATH cwd=.',
      '1 a [] path=$PATH cwd=.',
      '1 return ["1"] path=$PATH cwd=. cond',
      '1 b [] path=/f cwd=. cond',
      '3 run [] path=<unknown: PATH is assigned conditionally at line 1 (in function f, which may return early); its value afterwards depends on the path taken> cwd=.',
    ],
  },
  {
    name: 'main "$@" wrapper: the exec in the function ends the script',
    script: 'main() {\n  export PATH=/m/bin:$PATH\n  exec cc-ci-run "$@"\n}\nmain "$@"\nafter',
    final: {
      program: 'cc-ci-run',
      want: {
        line: 3,
        exec: true,
        conditional: false,
        calledFrom: [5],
        path: { entries: [{ dir: '/m/bin' }, { inherited: true }] },
      },
    },
    unreachable: [{ line: 6, text: 'after', reason: 'after the exec at line 3' }],
  },
  {
    name: 'the caller PATH glued to text is unknown',
    script: 'PATH=/a$PATH\nrun',
    final: { program: 'run', want: { path: { unknown: "the caller's PATH is glued to other text: /a$PATH" } } },
  },
];

describe('analyzeScript', () => {
  test.each(cases)('$name', async (c) => {
    const a = await analyzeScript(c.script, c.options);
    if (c.parseError !== undefined) expect(a.parseError).toEqual(c.parseError);
    else expect(a.parseError).toBeUndefined();
    if (c.invocations) expect(a.invocations.map(brief)).toEqual(c.invocations);
    if (c.final) {
      const got = finalRunOf(a, c.final.program);
      if (c.final.want === undefined) expect(got).toBeUndefined();
      else expect(got).toMatchObject(c.final.want);
    }
    if (c.finalPath) expect(a.finalEnv.path).toEqual(c.finalPath);
    if (c.unfollowable) expect(a.unfollowable).toEqual(c.unfollowable);
    if (c.unreachable) expect(a.unreachable).toEqual(c.unreachable);
    if (c.allexportLines) expect(a.allexportLines).toEqual(c.allexportLines);
    if (c.exported) expect([...a.finalEnv.exported].sort()).toEqual(c.exported);
  });
});

describe('resolvePath and renderPath', () => {
  const wrapped: PathValue = { entries: [{ dir: A }, { dir: B }, { inherited: true, without: [B, A] }] };
  test.each([
    ['keeps symbolic without a caller PATH', wrapped, undefined, wrapped],
    [
      'substitutes the caller PATH and applies the de-dup',
      wrapped,
      [{ dir: '/usr/bin' }, { dir: A }, { dir: '/bin' }],
      { entries: [{ dir: A }, { dir: B }, { dir: '/usr/bin' }, { dir: '/bin' }] },
    ],
    ['unknown stays unknown', { unknown: 'why' }, [{ dir: '/usr/bin' }], { unknown: 'why' }],
  ] as [string, PathValue, { dir: string }[] | undefined, PathValue][])('%s', (_n, value, inh, want) => {
    expect(resolvePath(value, inh)).toEqual(want);
  });

  test.each([
    [wrapped, `${A}:${B}:$PATH`],
    [{ entries: [{ dir: '/x' }, { inherited: true, without: ['/y'] }] }, '/x:$PATH[without /y]'],
    [{ unknown: 'eval at line 3' }, '<unknown: eval at line 3>'],
  ] as [PathValue, string][])('renderPath %j', (value, want) => expect(renderPath(value)).toBe(want));
});

describe('programLookup and pathDirs', () => {
  test.each([
    ['cd runner && cc-ci-run x', 'cc-ci-run', { search: 'cc-ci-run', path: { entries: [{ inherited: true }] } }],
    ['cd runner && ./bin/run x', './bin/run', { file: 'runner/bin/run' }],
    ['exec /nix/store/x-a/bin/a', '/nix/store/x-a/bin/a', { file: '/nix/store/x-a/bin/a' }],
    [
      'cd "$D"\n./go',
      './go',
      { unknown: 'relative program ./go in an unknown directory (cd to a directory computed at run time (line 1))' },
    ],
  ] as const)('%j', async (script, program, want) => {
    const inv = finalRunOf(await analyzeScript(script), program.slice(program.lastIndexOf('/') + 1));
    expect(inv && programLookup(inv)).toEqual(want);
  });

  test('pathDirs lists the directories, leaving out the caller PATH', () => {
    expect(pathDirs({ entries: [{ dir: '/a' }, { inherited: true }, { dir: '/b' }] })).toEqual(['/a', '/b']);
    expect(pathDirs({ unknown: 'x' })).toBeUndefined();
  });
});

describe('shellFromNixString', () => {
  // The body of nightly-sweep.nix's `text = '' … ''`, as the Nix file has it (indented, with antiquotations).
  const body = `
      export PATH=\${lib.makeBinPath [ pkgs.git ]}:$PATH
      cd /var/lib/cc-ci/repo
      ''\${DRY:+echo} exec \${pkgs.cc-ci-run}/bin/cc-ci-run runner/nightly_sweep.py --all "$@" '''x'''
    `;
  test('undoes escapes and indentation, and names the antiquotations', () => {
    expect(shellFromNixString(body)).toEqual({
      script:
        "\nexport PATH=__nix0__:$PATH\ncd /var/lib/cc-ci/repo\n${DRY:+echo} exec __nix1__/bin/cc-ci-run runner/nightly_sweep.py --all \"$@\" ''x''\n",
      antiquotes: [
        { placeholder: '__nix0__', expr: 'lib.makeBinPath [ pkgs.git ]', line: 2 },
        { placeholder: '__nix1__', expr: 'pkgs.cc-ci-run', line: 4 },
      ],
    });
  });
  test('the result analyses: the program keeps its basename, lines match the body', async () => {
    const a = await analyzeScript(shellFromNixString(body).script);
    expect(a.parseError).toBeUndefined();
    expect(a.invocations.map(brief)).toEqual([
      '2 export ["PATH=__nix0__:$PATH"] path=$PATH cwd=.',
      '3 cd ["/var/lib/cc-ci/repo"] path=__nix0__:$PATH cwd=.',
      // `${DRY:+echo}` (DRY from the caller's environment) makes the program word unknown; `''x''` is x to the shell.
      '4 <unknown> ["exec","__nix1__/bin/cc-ci-run","runner/nightly_sweep.py","--all","<unknown:$@>","x"] path=__nix0__:$PATH cwd=/var/lib/cc-ci/repo',
    ]);
  });
  test('nested braces and strings inside an antiquotation; $${ is literal', () => {
    expect(shellFromNixString('a ${f { x = "}"; }} $${b}').antiquotes).toEqual([
      { placeholder: '__nix0__', expr: 'f { x = "}"; }', line: 1 },
    ]);
    expect(shellFromNixString('a ${f { x = "}"; }} $${b}').script).toBe('a __nix0__ $${b}');
  });
});
