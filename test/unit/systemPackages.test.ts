// The system-packages consumer's opt-in rules on evaluated facts (eval mode): one row per buildEnv case.
import type { HostFacts, SystemPackage } from '../../src/context.js';
import { requiredFromTools, systemPackagesInclude } from '../../src/checks/systemPackages.js';
import type { SystemPackagesConsumer } from '../../src/claim/types.js';

const sp = (name: string, hash: string, priority?: number, pname?: string): SystemPackage => ({
  name,
  installed: [`/nix/store/${hash.repeat(32).slice(0, 32)}-${name}`],
  ...(priority !== undefined ? { priority } : {}),
  ...(pname !== undefined ? { pname } : {}),
});
const git = sp('git-2.47.2', 'a', undefined, 'git');
const jq = sp('jq-1.7.1', 'b', undefined, 'jq');
const wrapper = sp('ci-run', 'c', undefined, 'ci-run');
const oldGit = (priority: number) => sp('git-2.40.1', 'd', priority, 'git');
const minimal = sp('git-minimal-2.47.2', 'e', -10, 'git-minimal');
const legacy = { ...sp('ci-run', 'f', -10, 'ci-run') };
const facts = (systemPackages: SystemPackage[]) => ({ systemPackages }) as unknown as HostFacts;
const ctx = { claim: { shared: { package: 'ci-run', program: 'ci-run', toolsAttr: 'ciTools' } } } as never;

describe('required_programs_from: tools (eval mode: buildEnv winner by names)', () => {
  const tools = [git, jq];
  test.each([
    ['the tool list alone', [git, jq, wrapper], 'pass'],
    ['an older git at lowPrio loses', [git, jq, oldGit(10)], 'pass'],
    ['an older git at hiPrio wins', [git, jq, oldGit(-10)], 'problem'],
    ['an older git listed first at equal priority wins', [oldGit(5), git, jq], 'problem'],
    ['a hiPrio package of another name may hold bin/git: only a build says', [git, jq, minimal], 'unknown'],
  ])('%s', (_, list, want) => {
    const f = requiredFromTools(ctx, 'h', facts(list), tools, ['git'], undefined);
    expect(
      want === 'pass'
        ? f.problems.length + f.unknowns.length
        : want === 'problem'
          ? f.problems.length
          : f.unknowns.length,
    ).toBe(want === 'pass' ? 0 : 1);
    if (want === 'problem') expect(f.problems[0]).toMatch(/git-2\.40\.1.*git-2\.47\.2/);
  });
});

describe('includes_package (eval mode: the outPath in systemPackages, and buildEnv keeps its bin/<program>)', () => {
  const consumer = { kind: 'system-packages', name: 'system-packages' } as SystemPackagesConsumer;
  const view = (list: SystemPackage[]) => ({ mode: 'eval' as const, facts: facts(list) });
  const out = wrapper.installed[0];
  test.each([
    ['in the list', [git, wrapper], 0],
    ['missing', [git], 1],
    ['shadowed by a hiPrio look-alike', [git, wrapper, legacy], 1],
  ])('%s', (_, list, problems) =>
    expect(systemPackagesInclude(ctx, 'h', view(list), consumer, out, out).problems).toHaveLength(problems),
  );
});
