import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listFiles } from '../../src/parse/nixText.js';
import {
  appendToListDefinition,
  definitionsOf,
  NixSyntaxError,
  parseNix,
  stripComments,
  type Definition,
} from '../../src/nixSyntax/index.js';

const N = 'ccciRuntimeTools';
type Want = Pick<Definition, 'name' | 'kind' | 'attrPath' | 'line' | 'column'> &
  Partial<Pick<Definition, 'scope' | 'enclosing'>>;
const pick = (d: Definition, w: Want): Partial<Definition> =>
  Object.fromEntries(Object.keys(w).map((k) => [k, d[k as keyof Definition]]));
const bind = (
  line: number,
  column: number,
  attrPath: string[] = [N],
  scope: Definition['scope'] = 'attrset',
): Want => ({
  name: attrPath[attrPath.length - 1],
  kind: 'binding',
  attrPath,
  line,
  column,
  scope,
});

describe('definitionsOf: every form of definition', () => {
  const cases: { title: string; src: string; want: Want[] }[] = [
    { title: 'name = v;', src: `{ ${N} = [ ]; }`, want: [bind(1, 3)] },
    { title: '"name" = v;', src: `{ "${N}" = [ ]; }`, want: [bind(1, 3)] },
    { title: '${"name"} = v; (plain string interpolation)', src: `{ \${"${N}"} = [ ]; }`, want: [bind(1, 3)] },
    { title: 'a.name = v;', src: `{ a.${N} = 1; }`, want: [bind(1, 5, ['a', N])] },
    { title: 'a.b.name = v;', src: `{ a.b.${N} = 1; }`, want: [bind(1, 7, ['a', 'b', N])] },
    {
      title: '"a.b".name = v; (quoted element keeps its dot)',
      src: `{ "a.b".${N} = 1; }`,
      want: [bind(1, 9, ['a.b', N])],
    },
    { title: 'a."name" = v;', src: `{ a."${N}" = 1; }`, want: [bind(1, 5, ['a', N])] },
    { title: 'a.${"name"} = v;', src: `{ a.\${"${N}"} = 1; }`, want: [bind(1, 5, ['a', N])] },
    { title: 'string escapes in a name', src: '{ "cc\\"ci" = 1; }', want: [] },
    { title: 'rec { }', src: `rec { ${N} = 1; b = ${N}; }`, want: [bind(1, 7, [N], 'rec-attrset')] },
    {
      title: 'let … in (the use after in is not a definition)',
      src: `let ${N} = 1; in ${N}`,
      want: [bind(1, 5, [N], 'let')],
    },
    { title: 'old-style let { }', src: `let { ${N} = 1; body = ${N}; }`, want: [bind(1, 7, [N], 'let')] },
    {
      title: 'nested set a = { name = …; }',
      src: `{\n  a = {\n    ${N} = 1;\n  };\n}`,
      want: [{ ...bind(3, 5), enclosing: ['a'] }],
    },
    {
      title: 'inherit name;',
      src: `{ inherit ${N}; }`,
      want: [{ name: N, kind: 'inherit', attrPath: [N], line: 1, column: 11, scope: 'attrset' }],
    },
    {
      title: 'inherit "name";',
      src: `{ inherit "${N}"; }`,
      want: [{ name: N, kind: 'inherit', attrPath: [N], line: 1, column: 11 }],
    },
    {
      title: 'inherit (x) name;',
      src: `{ inherit (x) ${N}; }`,
      want: [{ name: N, kind: 'inherit-from', attrPath: [N], line: 1, column: 15 }],
    },
    {
      title: 'inherit (x) a name b;',
      src: `{ inherit (x) a ${N} b; }`,
      want: [{ name: N, kind: 'inherit-from', attrPath: [N], line: 1, column: 17 }],
    },
    {
      title: 'inherit (pkgs.lib) name; in a let',
      src: `let\n  inherit (pkgs.lib) ${N};\nin 1`,
      want: [{ name: N, kind: 'inherit-from', attrPath: [N], line: 2, column: 22, scope: 'let' }],
    },
    {
      title: 'formal { name, ... }:',
      src: `{ ${N}, ... }: 1`,
      want: [{ name: N, kind: 'formal', attrPath: [N], line: 1, column: 3, scope: 'function' }],
    },
    {
      title: 'formal with default { name ? [] }:',
      src: `{ a, ${N} ? [ ] }: 1`,
      want: [{ name: N, kind: 'formal', attrPath: [N], line: 1, column: 6 }],
    },
    {
      title: 'argument name:',
      src: `${N}: 1`,
      want: [{ name: N, kind: 'argument', attrPath: [N], line: 1, column: 1, scope: 'function' }],
    },
    {
      title: 'argument name@{ … }:',
      src: `${N}@{ a }: 1`,
      want: [{ name: N, kind: 'argument', attrPath: [N], line: 1, column: 1 }],
    },
    {
      title: 'a let inside a string interpolation is real code',
      src: `"\${let ${N} = 1; in toString ${N}}"`,
      want: [bind(1, 8, [N], 'let')],
    },
    {
      title: 'position after a comment, an indented string and a multi-line value',
      src: `{\n  # note\n  a = ''\n    x = 1;\n  '';\n  b = [\n    1\n  ]; ${N} = 2;\n}`,
      want: [bind(8, 6)],
    },
    {
      title: 'several definitions, in source order',
      src: `{ ${N} = 1; x = { ${N} = 2; }; inherit (y) ${N}; }`,
      // columns: 3, then 2+16+6+6+1, then 31+16+9+12
      want: [
        bind(1, 3),
        { ...bind(1, 31), enclosing: ['x'] },
        { name: N, kind: 'inherit-from', attrPath: [N], line: 1, column: 68 },
      ],
    },
  ];
  test.each(cases)('$title', ({ src, want }) => {
    const got = definitionsOf(src, N);
    expect(got.map((d, i) => pick(d, want[i] ?? want[0] ?? bind(0, 0)))).toEqual(want);
  });

  test('escaped quote in a quoted name', () => {
    expect(definitionsOf('{ "cc\\"ci" = 1; }', 'cc"ci').map((d) => d.attrPath)).toEqual([['cc"ci']]);
  });
  test('text and value of a binding', () => {
    const [d] = definitionsOf(`{ ${N} = with pkgs; [ a b ]; }`, N);
    expect(d.text).toBe(`${N} = with pkgs; [ a b ];`);
    expect(d.value).toMatchObject({ text: 'with pkgs; [ a b ]', node: 'With', shape: 'list' });
    const src = `{ ${N} = with pkgs; [ a b ]; }`;
    expect(src.slice(d.value!.from, d.value!.to)).toBe('with pkgs; [ a b ]');
  });
  test.each([
    ['[ a ]', 'list'],
    ['(with x; [ a ])', 'list'],
    ['let y = 1; in assert true; [ y ]', 'list'],
    ['[ a ] ++ b', 'list'],
    ['{ }', 'not-list'],
    ['"s"', 'not-list'],
    ['a // b', 'not-list'],
    ['f x', 'unknown'],
    ['(x)', 'unknown'],
    ['if c then [ ] else [ a ]', 'unknown'],
  ])('value shape of %s is %s', (value, shape) => {
    expect(definitionsOf(`{ ${N} = ${value}; }`, N)[0].value!.shape).toBe(shape);
  });
  test('text of an inherit is the whole statement', () => {
    const [d] = definitionsOf(`{ inherit (x) a ${N}; }`, N);
    expect(d).toMatchObject({ text: `inherit (x) a ${N};`, inheritFrom: 'x' });
    expect(d.value).toBeUndefined();
  });
  test('kinds option filters formals and arguments out', () => {
    const src = `{ ${N}, ... }: { ${N} = ${N}; }`;
    expect(definitionsOf(src, N).map((d) => d.kind)).toEqual(['formal', 'binding']);
    expect(definitionsOf(src, N, { kinds: ['binding', 'inherit', 'inherit-from'] }).map((d) => d.kind)).toEqual([
      'binding',
    ]);
  });
  test('computed names are reported by parseNix as dynamic, and never match a name', () => {
    const src = `{ \${x} = 1; "\${y}" = 2; \${"${N}" + ""} = 3; }`;
    expect(definitionsOf(src, N)).toEqual([]);
    expect(parseNix(src).definitions.map((d) => [d.attrPath, d.dynamic])).toEqual([
      [['${x}'], true],
      [['"${y}"'], true],
      [[`\${"${N}" + ""}`], true],
    ]);
  });
  test('file is carried onto definitions', () => {
    expect(definitionsOf(`{ ${N} = 1; }`, N, { file: 'nix/modules/packages.nix' })[0].file).toBe(
      'nix/modules/packages.nix',
    );
  });
});

describe('definitionsOf: what is not a definition', () => {
  const negatives: { title: string; src: string }[] = [
    { title: 'line comment', src: `# ${N} = [ ];\n{ }` },
    { title: 'commented-out quoted binding', src: `{\n  # "${N}" = with final; [ abra ];\n  a = 1;\n}` },
    { title: 'comment at the end of a line', src: `{ a = 1; # ${N} = 2;\n}` },
    { title: 'block comment', src: `/* ${N} = 1; */ { }` },
    { title: 'multi-line block comment inside a set', src: `{\n  /*\n  ${N} = 1;\n  */\n  a = 1;\n}` },
    { title: 'string', src: `{ a = "${N} = 1;"; }` },
    { title: 'indented string', src: `{ a = ''\n  ${N} = 1;\n''; }` },
    { title: "escaped interpolation ''${ in an indented string", src: `{ a = '' ''\${ let ${N} = 1; in 1 } ''; }` },
    { title: "''' and ''\\ escapes in an indented string", src: `{ a = '' ''' ${N} = 1; ''\\n ''; }` },
    { title: '$${ in a string is literal, not interpolation', src: `{ a = "$\${ let ${N} = 1; in "x" }"; }` },
    { title: 'use inside an interpolation', src: `{ a = '' \${pkgs.${N}} ''; b = "\${toString ${N}}"; }` },
    { title: 'selection pkgs.name', src: `{ a = pkgs.${N}; }` },
    { title: 'with pkgs; [ name ]', src: `{ a = with pkgs; [ ${N} ]; }` },
    { title: 'has-attr x ? name', src: `{ a = x ? ${N}; }` },
    { title: 'or default x.name or []', src: `{ a = x.${N} or [ ]; }` },
    { title: 'or default value x.y or name', src: `{ a = x.y or ${N}; }` },
    { title: 'comparison ==', src: `{ a = x == ${N}; }` },
    { title: 'function application', src: `{ a = f { } ${N}; }` },
    { title: 'inherit of another name from it', src: `{ inherit (${N}) a; }` },
    { title: 'formal default that uses it', src: `{ a ? ${N} }: a` },
    { title: 'similar names', src: `{ ${N}X = 1; x${N} = 2; ${N}-old = 3; ${N}' = 4; }` },
    { title: 'interpolated path', src: `{ a = ./${N}/\${x}; }` },
    { title: 'URI', src: `{ a = https://example.org/${N}=1; }` },
  ];
  test.each(negatives)('$title', ({ src }) => {
    const parse = parseNix(src);
    expect(parse.errors).toEqual([]);
    expect(parse.definitions.filter((d) => d.name === N)).toEqual([]);
  });

  test('text after tricky strings is still parsed at the right place', () => {
    const src = `{ a = '' ''\${x} ''' C:\\''; b = "$\${y}"; ${N} = 1; }`;
    expect(definitionsOf(src, N).map((d) => [d.line, d.column])).toEqual([[1, src.indexOf(`${N} =`) + 1]]);
  });
});

const PACKAGES_NIX = `{ ... }:
{
  nixpkgs.overlays = [
    (final: prev:
      let
        ccciPyEnv = final.python3.withPackages (ps: with ps; [ pytest playwright requests pyyaml ]);
      in
      {
        ccciRuntimeTools = with final; [ abra docker git git-lfs bash coreutils util-linux curl jq gnused gnugrep gnutar openssl procps ];
        cc-ci-run = final.writeShellApplication {
          name = "cc-ci-run";
          runtimeInputs = [ ccciPyEnv ] ++ final.ccciRuntimeTools;
          text = ''
            export PLAYWRIGHT_BROWSERS_PATH=/var/lib/cc-ci/playwright
            exec python3 "$@"
          '';
        };
      })
  ];
}
`;

describe('a real overlay file (cc-ci packages.nix)', () => {
  test('no parse errors', () => {
    expect(parseNix(PACKAGES_NIX).errors).toEqual([]);
  });
  test.each([
    {
      name: 'ccciRuntimeTools',
      line: 9,
      column: 9,
      scope: 'attrset' as const,
      value:
        'with final; [ abra docker git git-lfs bash coreutils util-linux curl jq gnused gnugrep gnutar openssl procps ]',
    },
    {
      name: 'ccciPyEnv',
      line: 6,
      column: 9,
      scope: 'let' as const,
      value: 'final.python3.withPackages (ps: with ps; [ pytest playwright requests pyyaml ])',
    },
    { name: 'cc-ci-run', line: 10, column: 9, scope: 'attrset' as const, value: undefined },
  ])('exactly one definition of $name', ({ name, line, column, scope, value }) => {
    const defs = definitionsOf(PACKAGES_NIX, name);
    expect(defs).toHaveLength(1);
    expect(defs[0]).toMatchObject({
      name,
      kind: 'binding',
      attrPath: [name],
      line,
      column,
      scope,
      enclosing: ['nixpkgs', 'overlays'],
    });
    if (value) expect(defs[0].value!.text).toBe(value);
  });
  test('the inner name/runtimeInputs/text are bindings nested in cc-ci-run', () => {
    const inner = parseNix(PACKAGES_NIX).definitions.filter(
      (d) => d.enclosing.join('.') === 'nixpkgs.overlays.cc-ci-run',
    );
    expect(inner.map((d) => [d.name, d.line])).toEqual([
      ['name', 11],
      ['runtimeInputs', 12],
      ['text', 13],
    ]);
  });
  test('all bindings and arguments of the file', () => {
    expect(
      parseNix(PACKAGES_NIX).definitions.map((d) => `${d.kind}:${d.attrPath.join('.')}@${d.line}:${d.column}`),
    ).toEqual([
      'binding:nixpkgs.overlays@3:11', // the column of the last element, `overlays`
      'argument:final@4:6',
      'argument:prev@4:13',
      'binding:ccciPyEnv@6:9',
      'argument:ps@6:49',
      'binding:ccciRuntimeTools@9:9',
      'binding:cc-ci-run@10:9',
      'binding:name@11:11',
      'binding:runtimeInputs@12:11',
      'binding:text@13:11',
    ]);
  });
});

describe('parse errors', () => {
  const cases: { title: string; src: string; errors: [number, number, RegExp][] }[] = [
    { title: 'missing ;', src: '{ a = 1 b = 2; }', errors: [[1, 11, /unexpected "="/]] },
    { title: 'missing value', src: '{\n  a = ;\n}', errors: [[2, 7, /syntax error before ";"/]] },
    { title: 'unterminated set', src: '{ a = 1;\n', errors: [[2, 1, /end of input/]] },
    {
      title: 'unterminated string',
      src: '{ a = "x; }',
      errors: [
        [1, 7, /unterminated string/],
        [1, 12, /end of input/],
      ],
    },
    {
      title: 'unterminated indented string',
      src: "{ a = ''\n x;\n}",
      errors: [
        [1, 7, /unterminated string/],
        [3, 2, /end of input/],
      ],
    },
    {
      title: 'unterminated block comment',
      src: '{ a = 1; /* x',
      errors: [
        [1, 10, /unterminated block comment/],
        [1, 14, /end of input/],
      ],
    },
    { title: 'stray token', src: '{ a = 1; ) }', errors: [[1, 10, /unexpected "\)"/]] },
    {
      title: 'binding code inside a path interpolation',
      src: '{ a = ./x/${let q = 1; in q}; }',
      errors: [[1, 7, /path interpolation/]],
    },
  ];
  test.each(cases)('$title', ({ src, errors }) => {
    const got = parseNix(src).errors;
    expect(got.map((e) => [e.line, e.column])).toEqual(errors.map(([l, c]) => [l, c]));
    got.forEach((e, i) => expect(e.message).toMatch(errors[i][2]));
  });
  test('definitions around an error are still reported, with the error', () => {
    const parse = parseNix(`{ a = 1 b = 2; ${N} = 3; }`);
    expect(parse.errors).toHaveLength(1);
    expect(parse.definitions.map((d) => d.name)).toEqual(['a', N]);
  });
  test('definitionsOf throws rather than answer from a broken parse', () => {
    expect(() => definitionsOf(`{ ${N} = 1 }`, N, { file: 'x.nix' })).toThrow(NixSyntaxError);
    expect(() => definitionsOf(`{ ${N} = 1 }`, N, { file: 'x.nix' })).toThrow(/^x\.nix:1:/);
  });
  test('an error after an unknown token is reported once per place', () => {
    expect(parseNix('{ a = "x; }').errors.filter((e) => /end of input/.test(e.message))).toHaveLength(1);
  });
});

describe('valid Nix that the Lezer grammar alone rejects or misreads', () => {
  test.each([
    { title: 'trailing comma in formals', src: '{ a, b ? 1, }: a', names: ['a', 'b'] },
    {
      title: 'trailing comma before a comment and }',
      src: '{\n  a,\n  b, # last\n}@args: a',
      names: ['a', 'b', 'args'],
    },
    { title: '`or` as a binding name', src: '{ or = x: y: x || y; }', names: ['or', 'x', 'y'] },
    {
      title: '`or` in an inherit and an attr path; `or` as default still works',
      src: '{ inherit (lib) or and; b.or.c = 3; d = x.or or 2; }',
      names: ['or', 'and', 'c', 'd'],
    },
    { title: "''${ escape", src: "{ a = '' ''${x} ''; b = 1; }", names: ['a', 'b'] },
    { title: "''' escape", src: "{ a = '' ''' ''; b = 1; }", names: ['a', 'b'] },
    { title: 'backslash is literal in an indented string', src: "{ a = '' C:\\''; b = 1; }", names: ['a', 'b'] },
    { title: '$${ is literal in a string', src: '{ a = "$${x}"; b = 1; }', names: ['a', 'b'] },
    { title: 'path interpolation', src: '{ a = ./x/${y}/z; b = ~/${y}; c = 1; }', names: ['a', 'b', 'c'] },
    { title: 'empty inherit;', src: '{ inherit; a = 1; inherit ; }', names: ['a'] },
  ])('$title', ({ src, names }) => {
    const parse = parseNix(src);
    expect(parse.errors).toEqual([]);
    expect(parse.definitions.map((d) => d.name)).toEqual(names);
  });
  test('`or` names keep their text and position', () => {
    expect(definitionsOf('{ inherit (lib) or; }', 'or')[0]).toMatchObject({
      kind: 'inherit-from',
      line: 1,
      column: 17,
      text: 'inherit (lib) or;',
    });
    expect(definitionsOf('{ b.or.c = 3; }', 'c')[0].attrPath).toEqual(['b', 'or', 'c']);
  });
});

describe('stripComments', () => {
  const cases: { title: string; src: string; want: string }[] = [
    { title: 'line comment', src: 'a = 1; # c\nb = 2;', want: 'a = 1;    \nb = 2;' },
    { title: 'block comment keeps lines', src: 'a /* x\ny */ = 1;', want: 'a     \n     = 1;' },
    {
      title: '# and /* */ inside a string',
      src: 'a = "# not /* a */ comment"; # yes',
      want: 'a = "# not /* a */ comment";      ',
    },
    { title: '# inside an indented string', src: "a = ''\n  # kept\n''; # gone", want: "a = ''\n  # kept\n'';       " },
    {
      title: "''${ escape does not open code in which # is a comment",
      src: "a = '' ''${ # kept } '';",
      want: "a = '' ''${ # kept } '';",
    },
    { title: 'comment inside an interpolation is a comment', src: 'a = "${ x # c\n}";', want: 'a = "${ x    \n}";' },
    { title: "identifier with '' does not open a string", src: "a = x''; # c", want: "a = x'';    " },
    { title: 'escaped quote', src: 'a = "\\" # kept"; # c', want: 'a = "\\" # kept";    ' },
  ];
  test.each(cases)('$title', ({ src, want }) => {
    const got = stripComments(src);
    expect(got).toBe(want);
    expect(got).toHaveLength(src.length);
  });
  test('the overlay file is unchanged (no comments)', () => {
    expect(stripComments(PACKAGES_NIX)).toBe(PACKAGES_NIX);
  });
});

describe('appendToListDefinition', () => {
  const ok: { title: string; src: string; item: string; want: string }[] = [
    {
      title: 'with final; [ … ]',
      src: `{ ${N} = with final; [ a b ]; }`,
      item: 'final.c',
      want: `{ ${N} = (with final; [ a b ]) ++ [ final.c ]; }`,
    },
    {
      title: '[ final.a final.b ]',
      src: `{ ${N} = [ final.a final.b ]; }`,
      item: 'final.c',
      want: `{ ${N} = ([ final.a final.b ]) ++ [ final.c ]; }`,
    },
    {
      title: '(with prev; [ a ]) ++ [ final.b ]',
      src: `{ ${N} = (with prev; [ a ]) ++ [ final.b ]; }`,
      item: 'final.c',
      want: `{ ${N} = ((with prev; [ a ]) ++ [ final.b ]) ++ [ final.c ]; }`,
    },
    {
      title: '; inside a string',
      src: `{ ${N} = [ "a;b" ''c;'' ]; x = 1; }`,
      item: '"d"',
      want: `{ ${N} = ([ "a;b" ''c;'' ]) ++ [ "d" ]; x = 1; }`,
    },
    {
      title: 'nested let … in',
      src: `{\n  ${N} = let x = [ 1 ]; y = 2; in x ++ [ y ];\n  z = 3;\n}`,
      item: '3',
      want: `{\n  ${N} = (let x = [ 1 ]; y = 2; in x ++ [ y ]) ++ [ 3 ];\n  z = 3;\n}`,
    },
    {
      title: 'comment before the ;',
      src: `{ ${N} = [ a ] /* c */; }`,
      item: 'b',
      want: `{ ${N} = ([ a ]) ++ [ b ] /* c */; }`,
    },
    {
      title: 'a parenthesised application as the item',
      src: `{ ${N} = [ ]; }`,
      item: '(f x)',
      want: `{ ${N} = ([ ]) ++ [ (f x) ]; }`,
    },
    {
      title: 'a formal and a plain inherit of the same name do not block',
      src: `{ ${N} ? [ ] }: let ${N}' = 1; in { ${N} = [ a ]; y = { inherit ${N}; }; }`,
      item: 'b',
      want: `{ ${N} ? [ ] }: let ${N}' = 1; in { ${N} = ([ a ]) ++ [ b ]; y = { inherit ${N}; }; }`,
    },
  ];
  test.each(ok)('$title', ({ src, item, want }) => {
    const r = appendToListDefinition(src, N, item);
    if ('error' in r) throw new Error(r.error);
    expect(r.text).toBe(want);
    expect(r.definition).toMatchObject({ name: N, kind: 'binding' });
    expect(r.definition.value!.text).toMatch(/\+\+ \[ .* \]$/);
  });

  test('the overlay file: only the value changes', () => {
    const r = appendToListDefinition(PACKAGES_NIX, N, 'final.hello');
    if ('error' in r) throw new Error(r.error);
    expect(r.text).toBe(
      PACKAGES_NIX.replace('= with final; [ abra', '= (with final; [ abra').replace(
        'openssl procps ];',
        'openssl procps ]) ++ [ final.hello ];',
      ),
    );
    expect(r.definition).toMatchObject({ line: 9, column: 9, scope: 'attrset' });
    expect(definitionsOf(r.text, N)).toHaveLength(1);
  });

  const errors: { title: string; src: string; item?: string; error: RegExp }[] = [
    { title: 'no definition', src: '{ a = [ ]; }', error: /no binding of ccciRuntimeTools/ },
    { title: 'only a use', src: `{ a = pkgs.${N}; }`, error: /no binding/ },
    {
      title: 'two bindings',
      src: `{ ${N} = [ ]; b = { ${N} = [ ]; }; }`,
      error: /2 bindings of ccciRuntimeTools \(line 1, line 1\)/,
    },
    { title: 'only inherited', src: `{ inherit (prev) ${N}; }`, error: /only inherited/ },
    { title: 'only inherited (plain inherit)', src: `{ inherit ${N}; }`, error: /only inherited/ },
    {
      title: 'binding and inherit-from',
      src: `let ${N} = [ ]; in { inherit (prev) ${N}; }`,
      error: /also defined by inherit \(prev\)/,
    },
    { title: 'value is not a list', src: `{ ${N} = "x"; }`, error: /not a list \(String\)/ },
    { title: 'value is a set', src: `{ ${N} = with final; { }; }`, error: /not a list/ },
    { title: 'parse error', src: `{ ${N} = [ ] }`, error: /does not parse \(1:/ },
    { title: 'item of two elements', src: `{ ${N} = [ ]; }`, item: 'f x', error: /not a single list element/ },
    { title: 'item with a comment', src: `{ ${N} = [ ]; }`, item: 'a # ]', error: /not a single list element/ },
    { title: 'item that does not parse', src: `{ ${N} = [ ]; }`, item: 'a = 1', error: /not a single list element/ },
    { title: 'empty item', src: `{ ${N} = [ ]; }`, item: '  ', error: /not a single list element/ },
  ];
  test.each(errors)('error: $title', ({ src, item, error }) => {
    const r = appendToListDefinition(src, N, item ?? 'final.c');
    expect('error' in r ? r.error : r.text).toMatch(error);
  });
});

// Proof that the rewrite is valid Nix with the same meaning plus the item, using real Nix when present.
const hasNix = spawnSync('nix-instantiate', ['--version']).status === 0;
const evalNix = (expr: string): string => {
  const r = spawnSync('nix-instantiate', ['--eval', '--strict', '-E', expr], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
};
(hasNix ? describe : describe.skip)('appendToListDefinition, evaluated with nix-instantiate', () => {
  test.each([
    { src: 'let tools = with {a=1;b=2;}; [ a b ]; in tools', item: '3', before: '[ 1 2 ]', after: '[ 1 2 3 ]' },
    {
      src: 'let final = { a = 1; b = 2; c = 3; }; prev = { a = 0; }; tools = (with prev; [ a ]) ++ [ final.b ]; in tools',
      item: 'final.c',
      before: '[ 0 2 ]',
      after: '[ 0 2 3 ]',
    },
    {
      src: "let tools = let x = [ \"a;b\" ]; in x ++ [ ''c;'' ]; in tools",
      item: '"d"',
      before: '[ "a;b" "c;" ]',
      after: '[ "a;b" "c;" "d" ]',
    },
    {
      src: '(final: { tools = with final; [ a b ]; }) { a = 1; b = 2; c = 3; }',
      item: 'final.c',
      before: '{ tools = [ 1 2 ]; }',
      after: '{ tools = [ 1 2 3 ]; }',
    },
  ])('$src + $item', ({ src, item, before, after }) => {
    const r = appendToListDefinition(src, 'tools', item);
    if ('error' in r) throw new Error(r.error);
    expect(evalNix(src)).toBe(before);
    expect(evalNix(r.text)).toBe(after);
  });
});

// Nix's own parser as the oracle: the names bound in a text equal those bound in
// Nix's normalised rendering of it (`nix-instantiate --parse`), where comments are
// gone, strings are re-quoted and `inherit (e) a` has become `a = (e).a`.
const boundNames = (src: string): string[] => {
  const parse = parseNix(src);
  expect(parse.errors).toEqual([]);
  const names = parse.definitions
    .filter((d) => !d.dynamic)
    .flatMap((d) => (d.kind === 'binding' ? d.attrPath : [d.name]));
  return [...new Set(names)].sort();
};
const ORACLE_SOURCES = [
  PACKAGES_NIX,
  `{ a = '' ''\${ let q = 1; in q } ''' ''\\n C:\\''; b = "$\${ let r = 1; in r }"; c = "\${let s = 1; in toString s}"; }`,
  `{ a, b ? 1, }@args: { or = x: y: x || y; g = { inherit (lib) or; }; d = x.or or 2; e.or.f = 3; }`,
  `# ${N} = 1;\n/* ${N} = 2; */ { a = "# ${N} = 3;"; b = pkgs.${N}; c = with pkgs; [ ${N} ]; d = x ? ${N}; e = x.${N} or [ ]; }`,
  `rec { a.b.c = 1; "d e" = 2; \${"f"} = 3; inherit x; inherit (y) g h; i = let j = 1; inherit (z) k; in j; }`,
];
(hasNix ? describe : describe.skip)('names agree with nix-instantiate --parse', () => {
  test.each(ORACLE_SOURCES.map((src, i) => ({ i, src })))('source $i', ({ src }) => {
    // Free variables are bound by a lambda header so Nix's parser accepts the text.
    const closed = `x: y: z: f: pkgs: lib: ${N}: (${src})`;
    const r = spawnSync('nix-instantiate', ['--parse', '-E', closed], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    expect(boundNames(r.stdout)).toEqual(boundNames(closed));
  });
});

describe('the repository fixture (test/fixtures/cc-ci)', () => {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/cc-ci');
  const nixFiles = listFiles(root).filter((f) => f.endsWith('.nix'));
  test('every .nix file parses without errors', () => {
    expect(nixFiles.length).toBeGreaterThan(5);
    for (const f of nixFiles)
      expect({ f, errors: parseNix(readFileSync(f, 'utf8')).errors }).toEqual({ f, errors: [] });
  });
  test.each(['ccciRuntimeTools', 'ccciPyEnv', 'cc-ci-run'])(
    '%s is bound exactly once under nix/, in packages.nix',
    (name) => {
      const defs = nixFiles
        .filter((f) => f.startsWith(path.join(root, 'nix') + path.sep))
        .flatMap((f) =>
          definitionsOf(readFileSync(f, 'utf8'), name, {
            file: path.relative(root, f),
            kinds: ['binding', 'inherit', 'inherit-from'],
          }),
        );
      expect(defs.map((d) => d.file)).toEqual(['nix/modules/packages.nix']);
    },
  );
});
