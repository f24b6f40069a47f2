// The shell reader on constructs real scripts use: each must parse (its statement boundaries agree with
// sh-syntax, or analyzeScript reports parseError) and expand the way bash does.
import { analyzeScript, renderPath, type Invocation } from '../../src/shell/index.js';

function brief(i: Invocation): string {
  return `${i.line} ${i.program} ${JSON.stringify(i.args)} path=${renderPath(i.path)} cwd=${String(i.cwd)}${i.exec ? ' exec' : ''}${i.conditional ? ' cond' : ''}`;
}

const cases: { name: string; script: string; invocations: string[]; text?: [number, string] }[] = [
  {
    name: 'here-document bodies run nothing (quoted delimiter)',
    script: "cat <<'EOF' > /tmp/out\n$(not run) `nor this`\nEOF\nnext",
    invocations: ['1 cat [] path=$PATH cwd=.', '4 next [] path=$PATH cwd=.'],
  },
  {
    name: 'here-document with <<- and a pipeline after it',
    script: 'cat <<-END | tee x\n\tbody\n\tEND\nnext',
    invocations: ['1 cat [] path=$PATH cwd=.', '1 tee ["x"] path=$PATH cwd=.', '4 next [] path=$PATH cwd=.'],
  },
  {
    name: '[[ … ]] with a bracket class ends at the separate ]]',
    script: '[[ $x =~ [[:space:]] ]] && y',
    invocations: ['1 y [] path=$PATH cwd=. cond'],
  },
  {
    name: 'done < <(…) process substitution',
    script: 'while read -r l; do echo "$l"; done < <(find .)',
    invocations: ['1 read ["-r","l"] path=$PATH cwd=.', '1 echo ["<unknown:$l>"] path=$PATH cwd=. cond'],
  },
  {
    name: 'case with (pattern|pattern) and a catch-all',
    script: 'case "$m" in (a|b) one ;; *) two ;; esac',
    invocations: ['1 one [] path=$PATH cwd=. cond', '1 two [] path=$PATH cwd=. cond'],
  },
  {
    name: "ANSI-C $'…' quoting",
    script: "printf $'a\\tb\\n'",
    invocations: ['1 printf ["a\\tb\\n"] path=$PATH cwd=.'],
  },
  {
    name: 'backslash-newline continuation keeps one command on its first line',
    script: 'exec \\\n  prog \\\n  arg1 "x y"',
    invocations: ['1 prog ["arg1","x y"] path=$PATH cwd=. exec'],
    text: [0, 'exec \\\n  prog \\\n  arg1 "x y"'],
  },
  {
    name: 'parameter operators on known values; # inside a word is not a comment',
    script: 'X=a/b/c.tar.gz\necho a#b ${X//\\//_} ${#X} ${X#*/} ${X##*/} ${X%.*} ${X%%.*} # comment',
    invocations: ['2 echo ["a#b","a_b_c.tar.gz","12","b/c.tar.gz","c.tar.gz","a/b/c.tar","a/b/c"] path=$PATH cwd=.'],
    text: [0, 'echo a#b ${X//\\//_} ${#X} ${X#*/} ${X##*/} ${X%.*} ${X%%.*}'],
  },
  {
    name: 'command substitution runs its commands (recorded) and is unknown as a value',
    script: 'echo "$(git rev-parse "HEAD")"',
    invocations: ['1 git ["rev-parse","HEAD"] path=$PATH cwd=.', '1 echo ["<unknown:$(git rev-parse \\"HEAD\\")>"] path=$PATH cwd=.'],
  },
  {
    name: '`function name { … }` form',
    script: 'function g { echo in-g; }\ng',
    invocations: ['2 g [] path=$PATH cwd=.', '1 echo ["in-g"] path=$PATH cwd=.'],
  },
  {
    name: 'tilde: ~ is $HOME (unknown unless known), "~" is literal',
    script: 'echo ~ ~/x "~"\nHOME=/h\necho ~/y',
    invocations: ['1 echo ["<unknown:~>","<unknown:~>/x","~"] path=$PATH cwd=.', '3 echo ["/h/y"] path=$PATH cwd=.'],
  },
  {
    name: '${VAR:=default} assigns when VAR is unset',
    script: 'unset Z\nY=${Z:=dflt}\necho $Z $Y',
    invocations: ['1 unset ["Z"] path=$PATH cwd=.', '3 echo ["dflt","dflt"] path=$PATH cwd=.'],
  },
  {
    name: 'compound commands with redirections, groups and negation',
    script: '{ a; b; } 2>&1 | tee log\nif ! c; then d; fi > out\n! e && f',
    invocations: [
      '1 a [] path=$PATH cwd=.',
      '1 b [] path=$PATH cwd=.',
      '1 tee ["log"] path=$PATH cwd=.',
      '2 c [] path=$PATH cwd=.',
      '2 d [] path=$PATH cwd=. cond',
      '3 e [] path=$PATH cwd=.',
      '3 f [] path=$PATH cwd=. cond',
    ],
  },
  {
    name: 'for loop over words; arithmetic commands run nothing',
    script: 'for t in git curl; do command -v "$t"; done\n(( n = 1 + 2 ))\nfor ((i = 0; i < 3; i++)); do step; done',
    invocations: ['1 command ["-v","<unknown:$t>"] path=$PATH cwd=. cond', '3 step [] path=$PATH cwd=. cond'],
  },
];

describe('shell reader', () => {
  test.each(cases)('$name', async (c) => {
    const a = await analyzeScript(c.script);
    expect(a.parseError).toBeUndefined();
    expect(a.invocations.map(brief)).toEqual(c.invocations);
    if (c.text) expect(a.invocations[c.text[0]]!.text).toBe(c.text[1]);
  });
});
