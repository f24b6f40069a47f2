// src/moduleOption.ts: a module-option consumer's value against the shared list or package, one row per construct of
// the module system it reads (declaration, definitions in effect, merged value) and rows outside its contract.
import { describe, expect, it } from '@jest/globals';
import {
  definitionLines,
  judgeOption,
  listDifference,
  type OptionAnswer,
  type OptionItem,
  type OptionValue,
} from '../../src/moduleOption.js';
import { parseNix } from '../../src/nixSyntax/index.js';
import { moduleOptionReached } from '../../src/checks/propagationView.js';

const pkg = (name: string, hash = name, priority?: number): OptionItem => ({
  drv: true,
  name,
  drvPath: `/nix/store/${hash}-${name}.drv`,
  out: `/nix/store/${hash}-${name}`,
  ...(priority !== undefined ? { priority } : {}),
});
const git = pkg('git-2.47.2');
const make = pkg('gnumake-4.4.1');
const jq = pkg('jq-1.7.1');
const make42 = pkg('gnumake-4.2.1');
const tools: OptionValue = { list: [git, make, jq] };
const SRC = '/nix/store/src';
const MODULE = `${SRC}/nix/agents/module.nix`;
const HOST = `${SRC}/nix/hosts/agent-2/configuration.nix`;

const option = (value: OptionValue, defs: { file: string; value: OptionValue }[], prio = 100): OptionAnswer => ({
  found: true,
  isOption: true,
  value,
  highestPrio: prio,
  defs,
  decls: [{ file: MODULE, line: 7 }],
  shared: tools,
});

const locate = (file: string, isDefault: boolean) =>
  file.startsWith(`${SRC}/`)
    ? { file: file.slice(SRC.length + 1), line: file === MODULE ? 9 : 6, isDefault: isDefault && file === MODULE }
    : undefined;

interface Row {
  name: string;
  answer: OptionAnswer;
  value?: 'tools' | 'package';
  shared?: OptionValue;
  /** Expected: pass, fail (with texts in problems) or error (cannot follow, with texts). */
  want: 'pass' | 'fail' | 'error';
  texts?: string[];
}

const rows: Row[] = [
  {
    name: 'the default (the shared list)',
    answer: option(tools, [{ file: MODULE, value: tools }], 1500),
    want: 'pass',
  },
  {
    name: 'a host sets the same list explicitly',
    answer: option(tools, [{ file: HOST, value: tools }]),
    want: 'pass',
  },
  {
    name: 'mkForce / mkDefault of the same list (one definition in effect)',
    answer: option(tools, [{ file: HOST, value: tools }], 50),
    want: 'pass',
  },
  {
    name: 'a host list missing a tool',
    answer: option({ list: [git, make] }, [{ file: HOST, value: { list: [git, make] } }]),
    want: 'fail',
    texts: ['missing jq-1.7.1', 'nix/hosts/agent-2/configuration.nix:6'],
  },
  {
    name: 'another version of a tool',
    answer: option({ list: [git, make42, jq] }, [{ file: HOST, value: { list: [git, make42, jq] } }]),
    want: 'fail',
    texts: ['extra gnumake-4.2.1 (instead of gnumake-4.4.1', 'missing gnumake-4.4.1'],
  },
  {
    name: 'a literal default list (a second list)',
    answer: option({ list: [git, make] }, [{ file: MODULE, value: { list: [git, make] } }], 1500),
    want: 'fail',
    texts: ['nix/agents/module.nix:9 (the default)'],
  },
  {
    name: 'two definitions concatenated (listOf merges them): twice',
    answer: option({ list: [git, make, jq, git, make, jq] }, [
      { file: HOST, value: tools },
      { file: `${SRC}/nix/extra.nix`, value: tools },
    ]),
    want: 'fail',
    texts: ['twice: git-2.47.2'],
  },
  {
    name: 'the same derivations in another order',
    answer: option({ list: [make, git, jq] }, [{ file: HOST, value: { list: [make, git, jq] } }]),
    want: 'fail',
    texts: ['another order'],
  },
  {
    name: 'hiPrio of a tool (same path, other priority)',
    answer: option({ list: [git, pkg('gnumake-4.4.1', 'gnumake-4.4.1', -10), jq] }, []),
    want: 'fail',
    texts: ['meta.priority -10', 'no file of the flake'],
  },
  {
    name: 'a definition from outside the flake source: named by its file',
    answer: option({ list: [git] }, [{ file: '/etc/nixos/extra.nix', value: { list: [git] } }]),
    want: 'fail',
    texts: ['/etc/nixos/extra.nix'],
  },
  {
    name: 'no such option (did you mean)',
    answer: { found: false, missing: 'toolbx', depth: 1, names: ['count', 'toolbox'] },
    want: 'error',
    texts: [
      'cannot follow: no option agents.toolbox at nixosConfigurations.agent-2.options.agents',
      'did you mean toolbox?',
    ],
  },
  {
    name: 'a set of options, not an option',
    answer: { found: true, isOption: false, names: ['count', 'toolbox'] },
    want: 'error',
    texts: ['is a set of options, not an option'],
  },
  {
    name: 'a value that is not a list',
    answer: option({ one: git }, [{ file: HOST, value: { one: git } }]),
    want: 'error',
    texts: ['not a list of derivations: a derivation, not a list'],
  },
  {
    name: 'a list with a string (not a derivation)',
    answer: option({ list: [git, { drv: false, name: '/opt/bin', type: 'string' }] }, []),
    want: 'error',
    texts: ['element 2 is a string (/opt/bin), not a derivation'],
  },
  {
    name: 'the shared list missing',
    answer: { ...(option(tools, []) as Extract<OptionAnswer, { isOption: true }>), shared: null },
    want: 'error',
    texts: ['pkgs.agentToolbox does not exist on agent-2'],
  },
  {
    name: 'package: the shared package',
    answer: { ...option({ one: git }, []), shared: { one: git } } as OptionAnswer,
    value: 'package',
    want: 'pass',
  },
  {
    name: 'package: another package',
    answer: { ...option({ one: make }, [{ file: HOST, value: { one: make } }]), shared: { one: git } } as OptionAnswer,
    value: 'package',
    want: 'fail',
    texts: ['missing git-2.47.2', 'extra gnumake-4.4.1'],
  },
  {
    name: 'package: a list is not a package',
    answer: { ...option(tools, []), shared: { one: git } } as OptionAnswer,
    value: 'package',
    want: 'error',
    texts: ['not a derivation: a list, not a derivation'],
  },
];

describe('judgeOption', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const j = judgeOption({
      host: 'agent-2',
      option: 'agents.toolbox',
      value: row.value ?? 'tools',
      sharedName: 'pkgs.agentToolbox',
      answer: row.answer,
      locate,
    });
    const status = j.cannotFollow.length ? 'error' : j.problems.length ? 'fail' : 'pass';
    expect(status).toBe(row.want);
    const text = [...j.problems, ...j.cannotFollow].join('\n');
    for (const t of row.texts ?? []) expect(text).toContain(t);
  });
});

describe('listDifference', () => {
  it.each([
    ['equal', [git, make], [git, make], []],
    ['missing', [git], [git, make], ['missing gnumake-4.4.1']],
    ['extra', [git, make, jq], [git, make], ['extra jq-1.7.1 (/nix/store/jq-1.7.1-jq-1.7.1)']],
    ['order', [make, git], [git, make], ['the same derivations in another order']],
  ] as const)('%s', (_n, got, want, expected) => {
    expect(listDifference(got, want)).toEqual(expected);
  });
});

describe('definitionLines', () => {
  const text = `{ lib, pkgs, ... }:
let toolbox = 2; agents.toolbox = 3; in
{
  options.agents = { toolbox = lib.mkOption { default = pkgs.x; }; };
  agents.toolbox = with pkgs; [ a ];
  config = { agents = { toolbox = [ ]; }; };
  config.agents.toolbox = lib.mkForce [ ];
  other.agents.toolbox = [ ];
}`;
  it('finds `a.b =`, nested sets and config.a.b, not options, let bindings or other paths', () => {
    expect(definitionLines(parseNix(text).definitions, 'agents.toolbox')).toEqual([5, 6, 7]);
  });
});

describe('moduleOptionReached (propagation on the edited copy)', () => {
  const canary = pkg('canary-x', 'canary');
  const wrapper = pkg('agent-run', 'wrapper');
  it.each<[string, OptionAnswer, 'tools' | 'package', boolean | undefined, boolean | undefined]>([
    ['the list holds the canary', option({ list: [git, canary] }, []), 'tools', undefined, true],
    ['a literal list does not', option({ list: [git, make] }, []), 'tools', undefined, false],
    [
      'no such option: cannot be checked',
      { found: false, missing: 'x', depth: 0, names: [] },
      'tools',
      undefined,
      undefined,
    ],
    ['not a list: cannot be checked', option({ one: git }, []), 'tools', undefined, undefined],
    ['package: the copy wrapper with the canary on its PATH', option({ one: wrapper }, []), 'package', true, true],
    ['package: the copy wrapper without it', option({ one: wrapper }, []), 'package', false, false],
    ['package: another package', option({ one: git }, []), 'package', true, false],
  ])('%s', (_n, answer, value, wrapperHasCanary, want) => {
    expect(moduleOptionReached(answer, value, canary.out!, wrapper.out, wrapperHasCanary)[0]).toBe(want);
  });
});
