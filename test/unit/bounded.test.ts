// Bounded resources (issue 16, route 8): every file the verifier parses has a size limit (a clear
// "cannot follow" naming the file and the limit), the parsers are depth-limited (no "Maximum call
// stack size exceeded"), and long lines cost seconds, not minutes. The hostile files are made here
// (a 200 MB file cannot live in git): a sparse 200 MB .nix file, deep nesting, 1 MB lines.
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_NESTING, MAX_PARSED_BYTES, readBoundedText, TooDeepError, TooLargeError } from '../../src/bounded.js';
import { nixDefinitions } from '../../src/checks/singleSource.js';
import { logExcerpt } from '../../src/nix/logExcerpt.js';
import { parseNix } from '../../src/nixSyntax/index.js';
import { grepFile } from '../../src/parse/nixText.js';
import { renderConsole } from '../../src/render/console.js';
import { renderJunit } from '../../src/render/junit.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { analyzeScript } from '../../src/shell/index.js';
import type { Verdict } from '../../src/verdict.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'nv-bounded-'));
  mkdirSync(path.join(root, 'nix'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A sparse file of `size` bytes whose first bytes are `head` (the rest reads as NULs unless `fill`). */
function bigFile(rel: string, size: number, head: string): string {
  const file = path.join(root, rel);
  const fd = openSync(file, 'w');
  writeSync(fd, head);
  // Text for the first 64 KiB (grep's binary test looks there), then a hole up to the size.
  writeSync(fd, ' '.repeat(64 * 1024));
  writeSync(fd, ' ', size - 1);
  closeSync(fd);
  return file;
}

const MB = 1024 * 1024;
const timed = async <T>(fn: () => T | Promise<T>): Promise<{ value?: T; error?: Error; ms: number }> => {
  const start = Date.now();
  try {
    const value = await fn();
    return { value, ms: Date.now() - start };
  } catch (error) {
    return { error: error as Error, ms: Date.now() - start };
  }
};

describe('size limits: a clear error naming the file and the limit, no out-of-memory', () => {
  test.each([
    [
      'a 200 MB .nix file in the search dir (definitions)',
      () => nixDefinitions(root, 'nix'),
      /cannot follow: nix\/huge\.nix is 209715200 bytes; the verifier parses files of at most 8 MiB \(8388608 bytes\)/,
    ],
    [
      'the same file grepped by a proof',
      () => grepFile(root, 'nix/huge.nix', 'withPackages'),
      /cannot follow: nix\/huge\.nix is 209715200 bytes; the verifier parses files of at most 8 MiB/,
    ],
    [
      'read for parsing (a unit file, a .drone.yml, a script)',
      () => readBoundedText(path.join(root, 'nix/huge.nix'), '.drone.yml'),
      /cannot follow: \.drone\.yml is 209715200 bytes/,
    ],
  ] as [string, () => unknown, RegExp][])('%s', async (_name, fn, message) => {
    bigFile('nix/huge.nix', 200 * MB, '{ x = 1; }\n# ');
    const r = await timed(fn);
    expect(r.error).toBeInstanceOf(TooLargeError);
    expect(r.error!.message).toMatch(message);
    expect(r.ms).toBeLessThan(2000);
  });
  test('a file at the limit is read; one byte over is refused', () => {
    const file = path.join(root, 'edge.nix');
    writeFileSync(file, Buffer.alloc(MAX_PARSED_BYTES, 0x20));
    expect(readBoundedText(file)).toHaveLength(MAX_PARSED_BYTES);
    writeFileSync(file, Buffer.alloc(MAX_PARSED_BYTES + 1, 0x20));
    expect(() => readBoundedText(file, 'edge.nix')).toThrow(/edge\.nix is 8388609 bytes/);
  });
  test('a big binary file in the search dir is skipped as grep skips it (no error, no hit)', () => {
    const file = path.join(root, 'bin.png');
    const fd = openSync(file, 'w');
    writeSync(fd, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]));
    writeSync(fd, 'withPackages', 20 * MB);
    closeSync(fd);
    expect(grepFile(root, 'bin.png', 'withPackages')).toEqual([]);
  });
});

describe('depth and length limits: "cannot follow", in seconds', () => {
  const deep = 20000;
  const line = (unit: string) => unit.repeat(Math.ceil(MB / unit.length));
  interface Row {
    name: string;
    run: () => unknown;
    /** The error expected, or undefined: it must finish without one. */
    error?: RegExp;
    ms: number;
  }
  const rows: Row[] = [
    {
      name: 'Nix: 20000 nested lists',
      run: () => parseNix(`{ x = ${'['.repeat(deep)}${']'.repeat(deep)}; }`, 'nix/deep.nix'),
      error: /^cannot follow: nesting deeper than 1000 at nix\/deep\.nix:1:\d+$/,
      ms: 10000,
    },
    {
      name: 'Nix: 20000 nested attribute sets',
      run: () => parseNix(`${'{ a = '.repeat(deep)}1${'; }'.repeat(deep)}`, 'nix/deep.nix'),
      error: /^cannot follow: nesting deeper than 1000 at nix\/deep\.nix:1:\d+$/,
      ms: 10000,
    },
    {
      name: 'Nix: a 1 MB attribute path a.b.b.…',
      run: () => parseNix(`{ x = a${line('.b')}; }`, 'nix/long.nix'),
      error:
        /^cannot follow: a run of \d+ name or path characters at nix\/long\.nix:1:7 \(the parser's limit is 4096\)$/,
      ms: 5000,
    },
    { name: 'Nix: a 1 MB line of list elements', run: () => parseNix(`{ x = [ ${line('a ')} ]; }`), ms: 15000 },
    { name: 'Nix: a 1 MB string on one line', run: () => parseNix(`{ x = "${line('a')}"; }`), ms: 5000 },
    {
      name: 'shell: 20000 nested subshells',
      run: async () => (await analyzeScript(`${'('.repeat(deep)}echo${')'.repeat(deep)}`)).parseError?.message,
      error: undefined,
      ms: 3000,
    },
    {
      name: 'shell: a pipeline of 100000 commands',
      run: async () => (await analyzeScript(`${'echo | '.repeat(100000)}echo`)).parseError?.message,
      ms: 3000,
    },
    {
      name: 'shell: a 1 MB line of words (a Drone command)',
      run: async () => (await analyzeScript(`cc-ci-run ${line('a ')}`)).parseError?.message,
      ms: 3000,
    },
    {
      name: 'shell: a 1 MB word',
      run: async () => (await analyzeScript(`cc-ci-run ${line('a')}`)).parseError,
      ms: 15000,
    },
    { name: 'evidence: a 1 MB log line through the excerpt', run: () => logExcerpt(`error: ${line('x')}\n`), ms: 3000 },
  ];
  test.each(rows)('$name', async ({ run, error, ms }) => {
    const r = await timed(run);
    if (error) {
      expect(r.error).toBeInstanceOf(TooDeepError);
      expect(r.error!.message).toMatch(error);
    } else expect(r.error).toBeUndefined();
    expect(r.ms).toBeLessThan(ms);
  });
  test.each([
    [
      'nested subshells',
      `${'('.repeat(MAX_NESTING + 1)}echo${')'.repeat(MAX_NESTING + 1)}`,
      /^cannot follow: nesting deeper than 64$/,
    ],
    [
      'a long && list',
      `${'true && '.repeat(MAX_NESTING + 1)}echo`,
      /^cannot follow: a pipeline or && \/ \|\| list of more than 64 commands$/,
    ],
    ['a 1 MB line of words', `cc-ci-run ${'a '.repeat(MB / 2)}`, /^cannot follow: a script of more than 10000 words/],
  ])('shell %s: a parse error the checks turn into "cannot follow"', async (_name, script, message) => {
    const a = await analyzeScript(script);
    expect(a.parseError).toMatchObject({ unsupported: true, message: expect.stringMatching(message) });
  });
  test.each([
    ['64 nested subshells', `${'('.repeat(MAX_NESTING)}echo${')'.repeat(MAX_NESTING)}`],
    ['300 statements on one line', 'true; '.repeat(300)],
    ['redirections and background jobs', 'echo x 2>&1 >| f &> g & '.repeat(300)],
  ])('shell within the limits: %s parses', async (_name, script) => {
    expect((await analyzeScript(script)).parseError).toBeUndefined();
  });
  test('rendering a 1 MB evidence line: console, Markdown, JUnit in seconds', () => {
    const v: Verdict = {
      verdict: 'fail',
      mode: 'build',
      flake: '/r',
      flakeRef: '/r',
      hosts: ['cc-ci'],
      nix: { version: '2.8.0' },
      durationMs: 1,
      tool: { name: 'nixenv-verify', version: '0' },
      checks: [
        {
          id: 'build',
          title: 'b',
          status: 'fail',
          summary: `x ${line('<a_[b]`| ')}`,
          evidence: [line('\x1b[31m<&>]]>_*`|\n')],
          durationMs: 1,
        },
      ],
    };
    const start = Date.now();
    for (const render of [() => renderConsole(v, { color: false }), () => renderMarkdown(v), () => renderJunit(v)])
      render();
    expect(Date.now() - start).toBeLessThan(5000);
  });
});
