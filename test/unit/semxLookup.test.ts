// `{host}` in a consumer's unit (one consumer per host) and HOW 3's PATH lookup of expected entries (eval mode:
// programs by package name; a directory outside the store or the caller's $PATH before an entry cannot be followed).
import { applySettings } from '../../src/claim/claim.js';
import { parseSpec, SpecError } from '../../src/claim/load.js';
import { judgeLookup } from '../../src/checks/toolLookup.js';
import type { HostView } from '../../src/resolve.js';
import type { HostFacts } from '../../src/context.js';

const SPEC = (unit: string): string => `version: 1
hosts: [runner-a, runner-b]
host_defaults:
  config: nix/hosts/{host}/configuration.nix
shared: { package: fleet-run, file: nix/fleet.nix, tools_attr: fleetTools }
expected_tools: { entries: [curl-8.12.1] }
consumers:
  - name: runner
    kind: runner-service
    unit: ${unit}
`;

describe('{host} in a consumer unit', () => {
  test('stands for one consumer per host of the run, each on its host', () => {
    const claim = applySettings(parseSpec(SPEC('github-runner-{host}.service'), 'spec.yml'), {});
    expect(claim.consumers.map((c) => [c.name, 'unit' in c ? c.unit : '', c.kind !== 'derivation' && c.hosts])).toEqual(
      [
        ['runner', 'github-runner-runner-a.service', ['runner-a']],
        ['runner', 'github-runner-runner-b.service', ['runner-b']],
      ],
    );
    const one = applySettings(parseSpec(SPEC('github-runner-{host}.service'), 'spec.yml'), { hosts: ['runner-b'] });
    expect(one.consumers.map((c) => ('unit' in c ? c.unit : ''))).toEqual(['github-runner-runner-b.service']);
  });
  test('another placeholder is a spec error', () => {
    expect(() => parseSpec(SPEC('github-runner-{name}.service'), 'spec.yml')).toThrow(SpecError);
  });
});

const store = (name: string): string => `/nix/store/${'a'.repeat(32)}-${name}/bin`;
const view: HostView = { mode: 'eval', facts: {} as HostFacts };
const dirs = (...d: string[]) => d.map((dir) => ({ dir }));

describe('HOW 3: expected entries as PATH lookup finds them (eval mode)', () => {
  const curl = store('curl-8.12.1-bin');
  test('an older curl earlier on PATH shadows the expected one', () => {
    const old = `/nix/store/${'b'.repeat(32)}-curl-8.7.1-bin/bin`;
    const r = judgeLookup([{ expected: 'curl-8.12.1', dir: curl }], dirs(old, curl), view);
    expect(r.problems).toEqual([`\`curl\` resolves to ${old}/curl (earlier on PATH), not curl-8.12.1's ${curl}/curl`]);
  });
  test('a package of another name earlier provides no curl: nothing is shadowed', () => {
    const r = judgeLookup([{ expected: 'curl-8.12.1', dir: curl }], dirs(store('htop-3.3.0'), curl), view);
    expect(r.problems).toEqual([]);
    expect(r.unknowns).toEqual([]);
  });
  test('a directory outside the store, or the caller $PATH, before the entry cannot be followed', () => {
    const opt = judgeLookup([{ expected: 'curl-8.12.1', dir: curl }], dirs('/opt/agent/bin', curl), view);
    expect(opt.unknowns[0]).toMatch(/\/opt\/agent\/bin .*may hold curl/);
    const suffix = judgeLookup([{ expected: 'curl-8.12.1', dir: curl }], [{ inherited: true }, { dir: curl }], view);
    expect(suffix.unknowns[0]).toMatch(/caller's \$PATH comes before/);
    const prefix = judgeLookup([{ expected: 'curl-8.12.1', dir: curl }], [{ dir: curl }, { inherited: true }], view);
    expect([...prefix.problems, ...prefix.unknowns]).toEqual([]);
  });
});
