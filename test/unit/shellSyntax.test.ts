// The shell reader on constructs real scripts use: mvdan-sh parses each (else analyzeScript reports
// parseError) and our adapter (src/shell/parse.ts) must expand them the way bash does.
import { createRequire } from 'node:module';
import { analyzeScript, renderPath, type Invocation } from '../../src/shell/index.js';
import { EXP_OPS, REDIR_OPS } from '../../src/shell/parse.js';

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
    invocations: [
      '1 git ["rev-parse","HEAD"] path=$PATH cwd=.',
      '1 echo ["<unknown:$(git rev-parse \\"HEAD\\")>"] path=$PATH cwd=.',
    ],
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
  // Constructs the former hand-written reader refused or skipped; mvdan-sh's tree lets the analysis see them.
  {
    name: 'backquotes run their commands, bare and inside "…"',
    script: 'echo `git rev-parse HEAD` "`date`"',
    invocations: [
      '1 git ["rev-parse","HEAD"] path=$PATH cwd=.',
      '1 date [] path=$PATH cwd=.',
      '1 echo ["<unknown:`git rev-parse HEAD`>","<unknown:`date`>"] path=$PATH cwd=.',
    ],
  },
  {
    name: 'an unquoted here-document runs its $( ) and backquotes (not an escaped \\$( ))',
    script: 'cat <<EOF\nrev $(git rev-parse HEAD) `hostname` \\$(not) $HOME\nEOF\nnext',
    invocations: [
      '2 git ["rev-parse","HEAD"] path=$PATH cwd=.',
      '2 hostname [] path=$PATH cwd=.',
      '1 cat [] path=$PATH cwd=.',
      '4 next [] path=$PATH cwd=.',
    ],
    text: [2, 'cat <<EOF'],
  },
  {
    name: 'a here-document on a loop is expanded before the loop runs, with the PATH then in force',
    script: 'PATH=/a:$PATH\nwhile read -r l; do use "$l"; done <<EOF\n$(gen)\nEOF',
    invocations: [
      '3 gen [] path=/a:$PATH cwd=.',
      '2 read ["-r","l"] path=/a:$PATH cwd=.',
      '2 use ["<unknown:$l>"] path=/a:$PATH cwd=. cond',
    ],
  },
  {
    name: 'redirections of a compound command run their substitutions first',
    script: '{ a; } > "$(mktemp)"',
    invocations: ['1 mktemp [] path=$PATH cwd=.', '1 a [] path=$PATH cwd=.'],
  },
  {
    name: 'command substitutions inside [[ … ]] and (( … )) run',
    script: '[[ -n $(git status --short) ]] && dirty\n(( $(nproc) > 2 ))',
    invocations: [
      '1 git ["status","--short"] path=$PATH cwd=.',
      '1 dirty [] path=$PATH cwd=. cond',
      '2 nproc [] path=$PATH cwd=.',
    ],
  },
  {
    name: 'time -p, coproc and let',
    script: 'time -p make all\ncoproc worker --serve\nlet x=1+2',
    invocations: [
      '1 make ["all"] path=$PATH cwd=.',
      '2 worker ["--serve"] path=$PATH cwd=.',
      '3 let ["x=1+2"] path=$PATH cwd=.',
    ],
  },
  {
    name: 'declaration builtins: flags, NAME=value (also after a prefix assignment) and bare names',
    script: 'declare -x PATH=/d:$PATH\nlocal v\nX=1 export Y=2\necho $Y',
    invocations: [
      '1 declare ["-x","PATH=/d:$PATH"] path=$PATH cwd=.',
      '2 local ["v"] path=/d:$PATH cwd=.',
      '3 export ["Y=2"] path=/d:$PATH cwd=.',
      '4 echo ["2"] path=/d:$PATH cwd=.',
    ],
  },
  {
    name: "backslashes, $'…' escapes and ~user",
    script: 'echo a\\ b "\\$x" "a\\qb" $\'\\x41\\101\' ~root/x',
    invocations: ['1 echo ["a b","$x","a\\\\qb","AA","<unknown:~root>/x"] path=$PATH cwd=.'],
  },
  {
    name: 'non-ASCII text before a command keeps its line and text (mvdan counts bytes)',
    script: 'echo é\nPATH=/ü/bin:$PATH\nrun "ö"  # ünïcode',
    invocations: ['1 echo ["é"] path=$PATH cwd=.', '3 run ["ö"] path=/ü/bin:$PATH cwd=.'],
    text: [1, 'run "ö"'],
  },
  {
    name: 'a function body with redirections is inlined at the call',
    script: 'f() { echo in-f; } > log\nf',
    invocations: ['2 f [] path=$PATH cwd=.', '1 echo ["in-f"] path=$PATH cwd=.'],
  },
];

describe('shell reader', () => {
  test.each(cases)('$name', async (c) => {
    const a = await analyzeScript(c.script);
    expect(a.parseError).toBeUndefined();
    expect(a.invocations.map(brief)).toEqual(c.invocations);
    if (c.text) expect(a.invocations[c.text[0]].text).toBe(c.text[1]);
  });
});

describe('mvdan-sh operator codes', () => {
  // parse.ts names mvdan/sh's token enum by number; a different mvdan-sh build must not shift them silently.
  const { syntax } = createRequire(import.meta.url)('mvdan-sh') as {
    syntax: {
      NewParser(): {
        Parse(
          src: string,
          name: string,
        ): { Stmts: { Redirs: { Op: number }[]; Cmd: { Args: { Parts: { Exp: { Op: number } }[] }[] } }[] };
      };
    };
  };
  const parse = (src: string) => syntax.NewParser().Parse(src, '').Stmts[0];
  test.each(Object.entries(REDIR_OPS))('redirection %s is %s', (code, op) => {
    const heredoc = op === '<<' || op === '<<-';
    expect(parse(`a ${op}${heredoc ? 'E\nE\n' : ' w'}`).Redirs[0].Op).toBe(Number(code));
  });
  test.each(Object.entries(EXP_OPS))('expansion %s is ${x%sQ}', (code, op) => {
    expect(parse(`a \${x${op}Q}`).Cmd.Args[1].Parts[0].Exp.Op).toBe(Number(code));
  });
});
