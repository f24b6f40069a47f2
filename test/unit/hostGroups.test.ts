// Hosts evaluated together (src/nix/hostGroups.ts): the groups, the expression, and that every answer is the host's own.
import { execFileSync } from 'node:child_process';
import { NixCommandError } from '../../src/errors.js';
import { groupApply, groupedHostEval, hostGroups, MAX_HOSTS_PER_EVAL } from '../../src/nix/hostGroups.js';

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `h${i + 1}`);

describe('hostGroups', () => {
  test.each([
    [2, 2, [['h1'], ['h2']]],
    [
      4,
      2,
      [
        ['h1', 'h2'],
        ['h3', 'h4'],
      ],
    ],
    [
      5,
      2,
      [
        ['h1', 'h2', 'h3'],
        ['h4', 'h5'],
      ],
    ],
    [
      8,
      2,
      [
        ['h1', 'h2', 'h3', 'h4'],
        ['h5', 'h6', 'h7', 'h8'],
      ],
    ],
    [16, 2, [names(16).slice(0, 4), names(16).slice(4, 8), names(16).slice(8, 12), names(16).slice(12)]],
    [3, 8, [['h1'], ['h2'], ['h3']]],
    [1, 1, [['h1']]],
    [0, 2, []],
  ])('%i hosts, %i slots', (n, slots, groups) => {
    expect(hostGroups(names(n), slots, 64 * 1024 ** 3)).toEqual(groups);
  });

  test('memory bounds a group: slots processes of its hosts must fit (1.5 GiB a host)', () => {
    const GiB = 1024 ** 3;
    expect(hostGroups(names(8), 2, 8 * GiB).map((g) => g.length)).toEqual([2, 2, 2, 2]); // 8/(1.5*2) = 2
    expect(hostGroups(names(8), 4, 8 * GiB).map((g) => g.length)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(hostGroups(names(8), 2, 1 * GiB).map((g) => g.length)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  test('never more than MAX_HOSTS_PER_EVAL hosts, never fewer groups than slots, each host once', () => {
    for (let n = 1; n <= 40; n++)
      for (let slots = 1; slots <= 9; slots++) {
        const groups = hostGroups([...names(n), 'h1'], slots, 64 * 1024 ** 3);
        expect(groups.flat()).toEqual(names(n));
        expect(Math.max(...groups.map((g) => g.length))).toBeLessThanOrEqual(MAX_HOSTS_PER_EVAL);
        expect(groups.length).toBeGreaterThanOrEqual(Math.min(n, slots));
      }
  });
});

describe('groupApply: what nix evaluates', () => {
  const eval_ = (expr: string): unknown =>
    JSON.parse(execFileSync('nix', ['eval', '--json', '--expr', expr], { encoding: 'utf8' })) as unknown;
  test('each host of the group gets the per-host function; a host without a config is null', () => {
    const cfgs = '{ a = { x = 1; }; "b-2" = { x = 2; }; c = { x = 3; }; }';
    const apply = groupApply('h: h.x * 10', ['a', 'b-2', 'gone']);
    expect(eval_(`(${apply}) ${cfgs}`)).toEqual({ a: 10, 'b-2': 20, gone: null });
  });
  test('host names are Nix strings, never code', () => {
    const apply = groupApply('h: h', ['${builtins.abort "x"}', 'a"; b = "']);
    expect(eval_(`(${apply}) { }`)).toEqual({ '${builtins.abort "x"}': null, 'a"; b = "': null });
  });
});

describe('groupedHostEval', () => {
  const setup = (groupResult: (apply: string) => Promise<Record<string, string | null>>) => {
    const calls: string[] = [];
    const load = groupedHostEval<string>({
      hosts: names(4),
      slots: 2,
      perHost: 'h: h',
      evalGroup: (apply) => {
        calls.push(`group ${apply.includes('"h1"') ? 1 : 2}`);
        return groupResult(apply);
      },
      alone: (host) => {
        calls.push(`alone ${host}`);
        return Promise.resolve(`${host} alone`);
      },
    });
    return { load, calls };
  };

  test('one evaluation per group, whatever order the hosts are asked in', async () => {
    const answers: Record<string, string | null>[] = [
      { h1: 'one', h2: 'two' },
      { h3: 'three', h4: 'four' },
    ];
    const { load, calls } = setup((apply) => Promise.resolve(answers[apply.includes('"h1"') ? 0 : 1]));
    expect(await Promise.all(['h3', 'h1', 'h4', 'h2'].map(load))).toEqual(['three', 'one', 'four', 'two']);
    expect(calls.sort()).toEqual(['group 1', 'group 2']);
  });

  test('a failed group: each of its hosts alone, so every error is the host own', async () => {
    const { load, calls } = setup((apply) =>
      apply.includes('"h1"')
        ? Promise.reject(new NixCommandError('nix eval', 1, ['error: h2 does not evaluate']))
        : Promise.resolve({ h3: 'three', h4: null }),
    );
    expect(await Promise.all(names(4).map(load))).toEqual(['h1 alone', 'h2 alone', 'three', 'h4 alone']);
    expect(calls.sort()).toEqual(['alone h1', 'alone h2', 'alone h4', 'group 1', 'group 2']);
  });

  test('a group that timed out is not evaluated again: each host gets the timeout', async () => {
    const timeout = new NixCommandError('nix eval', null, [], true);
    const { load, calls } = setup(() => Promise.reject(timeout));
    await expect(load('h1')).rejects.toBe(timeout);
    await expect(load('h2')).rejects.toBe(timeout);
    expect(calls).toEqual(['group 1']);
  });

  test('a host outside the groups is evaluated alone', async () => {
    const { load, calls } = setup(() => Promise.resolve({}));
    expect(await load('other')).toBe('other alone');
    expect(calls).toEqual(['alone other']);
  });
});
