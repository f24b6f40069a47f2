import type { DerivationInfo } from '../../src/nix/client.js';
import {
  DerivationFiles,
  followWrapper,
  readSuffixBlocks,
  renderMakeWrapper,
  type FileFact,
  type WrapperFiles,
  type WrapperOutcome,
} from '../../src/wrappers/index.js';

const sp = (c: string, name: string): string => `/nix/store/${c.repeat(32)}-${name}`;
const PY = sp('a', 'python3-3.12.8-env');
const GIT = sp('b', 'git-2.47.2');
const SSL = sp('c', 'openssl-3.3.3-bin');
const OUT = sp('d', 'cc-ci-run');
const BASH = sp('f', 'bash-5.2p37');
const SHELL = `${BASH}/bin/bash`;

/** The files a test knows: scripts by text, programs, nothing else. */
function fakeFiles(map: Record<string, string | null>): WrapperFiles {
  return {
    notes: [],
    async file(path: string): Promise<FileFact> {
      if (!(path in map)) return { kind: 'missing', path, reason: `${path} is not there` };
      const text = map[path];
      return text === null
        ? { kind: 'program', path, source: path }
        : { kind: 'script', path, text: text, source: path };
    },
  };
}

const brief = (o: WrapperOutcome): string =>
  o.ok
    ? `PATH=${o.shown} runs ${o.run.program}`
    : 'cannotFollow' in o
      ? `cannot follow: ${o.cannotFollow}`
      : `problem: ${o.problem}`;

interface RenderCase {
  name: string;
  flags: string[];
  /** Lines between the `#!` line and the final exec. */
  body?: string[];
  exec?: string;
  /** Followed with python3 a program: the outcome. */
  outcome?: string | RegExp;
  refused?: RegExp;
}

const prefixBlock = (dir: string): string[] => [
  `PATH=\${PATH:+':'$PATH':'}`,
  `PATH=\${PATH/':''${dir}'':'/':'}`,
  `PATH='${dir}'$PATH`,
  `PATH=\${PATH#':'}`,
  `PATH=\${PATH%':'}`,
  'export PATH',
];
const suffixBlock = (dir: string): string[] => [
  `PATH=\${PATH:+':'$PATH':'}`,
  `if [[ $PATH != *':''${dir}'':'* ]]; then`,
  `    PATH=$PATH'${dir}'`,
  'fi',
  `PATH=\${PATH#':'}`,
  `PATH=\${PATH%':'}`,
  'export PATH',
];
const EXEC = `exec "${PY}/bin/python3"  "$@" `;

const renderCases: RenderCase[] = [
  { name: 'no flags', flags: [], body: [], exec: EXEC, outcome: `PATH=$PATH runs ${PY}/bin/python3` },
  {
    name: '--prefix PATH with two items keeps their written order',
    flags: ['--prefix', 'PATH', ':', `${PY}/bin:${GIT}/bin`],
    body: [...prefixBlock(`${GIT}/bin`), ...prefixBlock(`${PY}/bin`)],
    outcome: `PATH=${PY}/bin:${GIT}/bin:$PATH runs ${PY}/bin/python3`,
  },
  { name: '--prefix with an empty value writes nothing', flags: ['--prefix', 'PATH', ':', ''], body: [] },
  {
    name: '--suffix PATH: on PATH after the caller entries',
    flags: ['--suffix', 'PATH', ':', `${GIT}/bin`],
    body: suffixBlock(`${GIT}/bin`),
    outcome: `PATH=$PATH[without ${GIT}/bin]:${GIT}/bin runs ${PY}/bin/python3`,
  },
  {
    name: '--set PATH replaces it',
    flags: ['--set', 'PATH', `${GIT}/bin`],
    body: [`export PATH='${GIT}/bin'`],
    outcome: `PATH=${GIT}/bin runs ${PY}/bin/python3`,
  },
  {
    name: '--set-default PATH keeps the caller PATH (PATH is set)',
    flags: ['--set-default', 'PATH', `${GIT}/bin`],
    body: [`export PATH=\${PATH-'${GIT}/bin'}`],
    outcome: `PATH=$PATH runs ${PY}/bin/python3`,
  },
  {
    name: '--unset PATH: the program gets no PATH',
    flags: ['--prefix', 'PATH', ':', `${GIT}/bin`, '--unset', 'PATH'],
    outcome: /^problem: the PATH at line \d+ .*cannot be computed/,
  },
  { name: '--set quotes with @Q', flags: ['--set', 'X', "it's"], body: [`export X='it'\\''s'`] },
  {
    name: '--chdir',
    flags: ['--chdir', '/var/lib/cc-ci'],
    body: [`cd '/var/lib/cc-ci'`],
    outcome: `PATH=$PATH runs ${PY}/bin/python3`,
  },
  {
    name: '--run is copied as shell text',
    flags: ['--run', 'export PATH=/run/current-system/sw/bin'],
    body: ['export PATH=/run/current-system/sw/bin'],
    outcome: `PATH=/run/current-system/sw/bin runs ${PY}/bin/python3`,
  },
  {
    name: '--add-flags and --append-flags go around "$@" unquoted',
    flags: ['--add-flags', '-u -B', '--append-flags', '--x'],
    body: [],
    exec: `exec "${PY}/bin/python3"  -u -B "$@"  --x`,
  },
  {
    name: '--argv0',
    flags: ['--argv0', 'cc-ci-run'],
    body: [],
    exec: `exec -a "cc-ci-run" "${PY}/bin/python3"  "$@" `,
  },
  { name: '--inherit-argv0', flags: ['--inherit-argv0'], body: [], exec: `exec -a "$0" "${PY}/bin/python3"  "$@" ` },
  {
    name: 'an unknown flag fails the build',
    flags: ['--prefix-path', 'x'],
    refused: /doesn't understand the arg --prefix-path/,
  },
  {
    name: 'a flag without its arguments fails the build',
    flags: ['--set', 'PATH'],
    refused: /--set needs 2 arguments/,
  },
];

describe('make-wrapper.sh model', () => {
  test.each(renderCases)('$name', async (c) => {
    const r = renderMakeWrapper(`${PY}/bin/python3`, c.flags, SHELL);
    if (c.refused) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(c.refused);
      return;
    }
    if (!r.ok) throw new Error(r.reason);
    const lines = r.text.split('\n').slice(0, -1);
    expect(lines[0]).toBe(`#! ${SHELL} -e`);
    if (c.body) expect(lines.slice(1, -1)).toEqual(c.body);
    if (c.exec) expect(lines[lines.length - 1]).toBe(c.exec);
    if (c.outcome) {
      const o = await followWrapper(
        fakeFiles({ [`${OUT}/bin/cc-ci-run`]: r.text, [`${PY}/bin/python3`]: null }),
        `${OUT}/bin/cc-ci-run`,
      );
      if (typeof c.outcome === 'string') expect(brief(o)).toBe(c.outcome);
      else expect(brief(o)).toMatch(c.outcome);
    }
  });

  test('readSuffixBlocks rewrites only the exact --suffix block, line for line', () => {
    const text = suffixBlock('/x/bin').join('\n');
    const r = readSuffixBlocks(text);
    expect(r.lines).toEqual([2]);
    expect(r.text.split('\n')).toHaveLength(7);
    expect(readSuffixBlocks('if [[ $PATH != *x* ]]; then\n  PATH=/y\nfi').lines).toEqual([]);
  });
});

describe('following a wrapper to its program', () => {
  const WSA = `#!${SHELL}\nset -o errexit\nexport PATH="${SSL}/bin:$PATH"\nexec python3 "$@"\n`;
  test('the exec of a wrapped script is followed: the script adds to the wrapper PATH', async () => {
    const wrapper = renderMakeWrapper(
      `${OUT}/bin/.cc-ci-run-wrapped`,
      ['--inherit-argv0', '--prefix', 'PATH', ':', `${GIT}/bin`],
      SHELL,
    );
    if (!wrapper.ok) throw new Error(wrapper.reason);
    const o = await followWrapper(
      fakeFiles({ [`${OUT}/bin/cc-ci-run`]: wrapper.text, [`${OUT}/bin/.cc-ci-run-wrapped`]: WSA }),
      `${OUT}/bin/cc-ci-run`,
    );
    expect(brief(o)).toBe(`PATH=${SSL}/bin:${GIT}/bin:$PATH runs python3`);
    expect(o.chain).toHaveLength(3);
  });
  test('a wrapped script that resets PATH wins over the wrapper', async () => {
    const wrapper = renderMakeWrapper(`${OUT}/bin/.cc-ci-run-wrapped`, ['--prefix', 'PATH', ':', `${GIT}/bin`], SHELL);
    if (!wrapper.ok) throw new Error(wrapper.reason);
    const o = await followWrapper(
      fakeFiles({
        [`${OUT}/bin/cc-ci-run`]: wrapper.text,
        [`${OUT}/bin/.cc-ci-run-wrapped`]: `#!${SHELL}\nexport PATH=/run/current-system/sw/bin\nexec python3\n`,
      }),
      `${OUT}/bin/cc-ci-run`,
    );
    expect(brief(o)).toBe('PATH=/run/current-system/sw/bin runs python3');
  });
  test('a wrapped script that runs no other program is the program', async () => {
    const wrapper = renderMakeWrapper(`${PY}/bin/python3`, ['--prefix', 'PATH', ':', `${GIT}/bin`], SHELL);
    if (!wrapper.ok) throw new Error(wrapper.reason);
    const o = await followWrapper(
      fakeFiles({ [`${OUT}/bin/cc-ci-run`]: wrapper.text, [`${PY}/bin/python3`]: '#!/bin/sh\necho python3\n' }),
      `${OUT}/bin/cc-ci-run`,
    );
    expect(brief(o)).toBe(`PATH=${GIT}/bin:$PATH runs ${PY}/bin/python3`);
  });
  test('a wrapper whose program does not exist is a defect', async () => {
    const wrapper = renderMakeWrapper(`${OUT}/bin/.gone`, [], SHELL);
    if (!wrapper.ok) throw new Error(wrapper.reason);
    const o = await followWrapper(fakeFiles({ [`${OUT}/bin/cc-ci-run`]: wrapper.text }), `${OUT}/bin/cc-ci-run`);
    expect(brief(o)).toMatch(/^problem: line 2 .* runs .*\.gone: .* is not there/);
  });
});

/** A fake `nix derivation show`: derivations by path. */
function drvs(
  list: { drv: string; out: string; env: Record<string, string>; inputs?: string[] }[],
): (d: string) => Promise<DerivationInfo> {
  return async (d) => {
    const x = list.find((l) => l.drv === d);
    if (!x) throw new Error(`no ${d}`);
    return { env: x.env, outputs: { out: x.out }, inputDrvs: x.inputs ?? [] };
  };
}
const drvOf = (out: string): string => `${out.replace(/-([^/]+)$/, '-$1')}.drv`;

interface FakeDrv {
  drv: string;
  out: string;
  env: Record<string, string>;
}
const inner: FakeDrv = {
  drv: drvOf(sp('g', 'cc-ci-run-inner')),
  out: sp('g', 'cc-ci-run-inner'),
  env: { text: `#!${SHELL}\nexec python3 "$@"\n`, destination: '/bin/cc-ci-run', executable: '1' },
};
const python: FakeDrv = { drv: drvOf(PY), out: PY, env: { builder: '/bin/sh', args: '-c …' } };
const manpage: FakeDrv = {
  drv: drvOf(sp('h', 'cc-ci-run-man')),
  out: sp('h', 'cc-ci-run-man'),
  env: { text: '.TH X 1', destination: '/share/man/man1/cc-ci-run.1' },
};
const LNDIR = `${sp('i', 'lndir-1.0.4')}/bin/lndir`;
const JOIN_LOOP = `mkdir -p $out\nfor i in $(cat $pathsPath); do\n  ${LNDIR} -silent $i $out\ndone\n`;

interface DrvCase {
  name: string;
  env: Record<string, string>;
  inputs?: FakeDrv[];
  want: string | RegExp;
  notes?: RegExp;
}

const drvCases: DrvCase[] = [
  {
    name: 'writeShellApplication: text at $out/bin/<name>',
    env: {
      text: `#!${SHELL}\nexport PATH="${GIT}/bin:$PATH"\nexec python3 "$@"\n`,
      destination: '/bin/cc-ci-run',
      executable: '1',
    },
    want: `PATH=${GIT}/bin:$PATH runs python3`,
  },
  {
    name: 'runCommand with makeWrapper --prefix PATH',
    env: {
      SHELL,
      buildCommand: `makeWrapper ${PY}/bin/python3 $out/bin/cc-ci-run \\\n  --prefix PATH : ${PY}/bin:${GIT}/bin \\\n  --set X 1\n`,
    },
    inputs: [python],
    want: `PATH=${PY}/bin:${GIT}/bin:$PATH runs ${PY}/bin/python3`,
  },
  {
    name: 'symlinkJoin + wrapProgram: bin/ from paths, the first wins, the hidden file is the linked script',
    env: {
      SHELL,
      paths: `${inner.out} ${manpage.out}`,
      buildCommand: `${JOIN_LOOP}wrapProgram $out/bin/cc-ci-run --prefix PATH : ${GIT}/bin\n`,
    },
    inputs: [inner, manpage],
    want: `PATH=${GIT}/bin:$PATH runs python3`,
  },
  {
    name: 'wrapProgram twice: the second hides the first wrapper as .cc-ci-run-wrapped_, which then prefixes its PATH',
    env: {
      SHELL,
      paths: inner.out,
      buildCommand: `${JOIN_LOOP}wrapProgram $out/bin/cc-ci-run --prefix PATH : ${GIT}/bin\nwrapProgram $out/bin/cc-ci-run --set PATH ${SSL}/bin\n`,
    },
    inputs: [inner],
    want: `PATH=${GIT}/bin:${SSL}/bin runs python3`,
  },
  {
    name: 'eval "$postBuild" (a symlinkJoin written with cp -rsn) is walked in place',
    env: {
      SHELL,
      pathsList: inner.out,
      postBuild: `wrapProgram $out/bin/cc-ci-run --prefix PATH : ${GIT}/bin`,
      buildCommand: `mkdir -p $out\nfor i in $pathsList; do cp -rsn "$i"/. "$out"/ 2>/dev/null || true; chmod -R u+w "$out"; done\neval "$postBuild"\n`,
    },
    inputs: [inner],
    want: `PATH=${GIT}/bin:$PATH runs python3`,
  },
  {
    name: 'buildEnv: the lowest priority number wins; members known by name only are noted',
    env: {
      pathsToLink: '/',
      pkgs: JSON.stringify([
        { paths: [PY], priority: 5 },
        { paths: [inner.out], priority: 5 },
      ]),
    },
    inputs: [python, inner],
    want: 'PATH=$PATH runs python3',
    notes: /knows python3-3\.12\.8-env only by its package name, which is not cc-ci-run/,
  },
  // make-wrapper.sh writes --run text into the wrapper verbatim: the shell model reads it (here: a PATH reset).
  {
    name: '--run: read as part of the wrapper',
    env: { SHELL, buildCommand: `makeWrapper ${PY}/bin/python3 $out/bin/cc-ci-run --run 'export PATH=/x'\n` },
    inputs: [python],
    want: `PATH=/x runs ${PY}/bin/python3`,
  },
  {
    name: 'another program in buildCommand',
    env: { buildCommand: `cp ${inner.out}/bin/cc-ci-run $out/bin/cc-ci-run\n` },
    inputs: [inner],
    want: /^cannot follow: `cp .*`cp` is outside what eval mode models/,
  },
  {
    name: 'a redirection',
    env: { buildCommand: `echo exec true > $out/bin/cc-ci-run\n` },
    want: /^cannot follow: .*a redirection/,
  },
  {
    name: 'an if',
    env: { buildCommand: `if true; then mkdir $out; fi\n` },
    want: /^cannot follow: .*a compound command/,
  },
  {
    name: 'a word computed at build time',
    env: { buildCommand: `makeWrapper ${PY}/bin/python3 $out/bin/cc-ci-run --prefix PATH : $(cat deps)\n` },
    inputs: [python],
    want: /^cannot follow: .*a word computed at build time/,
  },
  {
    name: 'makeBinaryWrapper',
    env: { buildCommand: `makeBinaryWrapper ${PY}/bin/python3 $out/bin/cc-ci-run\n` },
    want: /^cannot follow: .*compiled wrapper/,
  },
  {
    name: 'stdenv phases',
    env: { builder: `${BASH}/bin/bash`, installPhase: 'makeWrapper …', postFixup: 'wrapProgram …' },
    want: /^cannot follow: .*stdenv phases \(installPhase, postFixup\)/,
  },
  {
    name: 'wrapProgram of a file the join does not have fails the build',
    env: { SHELL, paths: manpage.out, buildCommand: `${JOIN_LOOP}wrapProgram $out/bin/cc-ci-run\n` },
    inputs: [manpage],
    want: /^cannot follow: .*does not exist \(assertExecutable/,
  },
];

describe('eval mode: files from derivations', () => {
  test.each(drvCases)('$name', async (c) => {
    const top = { drv: drvOf(OUT), out: OUT, env: c.env, inputs: (c.inputs ?? []).map((i) => i.drv) };
    const files = new DerivationFiles(drvs([top, ...(c.inputs ?? []), inner, python, manpage]), [top.drv]);
    const o = await followWrapper(files, `${OUT}/bin/cc-ci-run`);
    if (typeof c.want === 'string') expect(brief(o)).toBe(c.want);
    else expect(brief(o)).toMatch(c.want);
    if (c.notes) expect(files.notes.join('\n')).toMatch(c.notes);
  });
});
