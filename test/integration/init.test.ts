// --init on the fixture repositories (real Nix): the printed spec parses, names
// what the repository has, passes --check-spec, and verifying the fixture with it
// passes in eval mode.
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSpec } from '../../src/claim/load.js';
import { makeFixture, removeFixture } from '../fixtures/make-fixture.mjs';
import { runCli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-init-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CASES = [
  {
    fixture: 'cc-ci' as const,
    hosts: ['cc-ci', 'cc-ci-hetzner'],
    shared: {
      package: 'cc-ci-run',
      program: 'cc-ci-run',
      file: 'nix/modules/packages.nix',
      toolsAttr: 'ccciRuntimeTools',
    },
    consumers: [
      ['systemd-service', 'cc-ci-nightly-sweep.service'],
      ['drone-step', 'runner/run_recipe_ci.py'],
      ['system-packages', ''],
    ],
  },
  {
    fixture: 'ops-lab' as const,
    hosts: ['lab'],
    shared: { package: 'lab-run', program: 'lab-run', file: 'nix/toolbox.nix', toolsAttr: 'labTools' },
    consumers: [
      ['runner-service', 'github-runner-lab.service'],
      ['systemd-service', 'lab-backup.service'],
      ['system-packages', ''],
    ],
  },
  {
    // A second machine without the backup: the backup is proposed with hosts: [lab], the rest on both.
    fixture: 'ops-lab' as const,
    mutation: 'hosts-backup-on-one-host',
    hosts: ['lab', 'lab2'],
    shared: { package: 'lab-run', program: 'lab-run', file: 'nix/toolbox.nix', toolsAttr: 'labTools' },
    consumers: [
      ['runner-service', 'github-runner-lab.service'],
      ['systemd-service', 'lab-backup.service', 'lab'],
      ['system-packages', ''],
    ],
  },
  {
    // A user service and a dev shell.
    fixture: 'workstation' as const,
    hosts: ['ws'],
    shared: { package: 'ws-run', program: 'ws-run', file: 'nix/toolbox.nix', toolsAttr: 'wsTools' },
    consumers: [
      ['systemd-user-service', 'ws-sync.service'],
      ['dev-shell', 'devShells.x86_64-linux.default'],
      ['system-packages', ''],
    ],
  },
];

describe.each(CASES.map((c) => ({ mutation: undefined as string | undefined, ...c })))(
  '--init on $fixture $mutation',
  ({ fixture, mutation, hosts, shared, consumers }) => {
    let dir = '';
    const base = path.join(work, `${fixture}${mutation ? `-${mutation}` : ''}`);
    beforeAll(() => {
      dir = makeFixture(base, { fixture, ...(mutation ? { mutation } : {}) }).dir;
      // The fixture's own spec would be read by --init's settings: the starting spec is for a repository without one.
      try {
        unlinkSync(path.join(dir, '.nixenv-verify.yml'));
      } catch {
        /* cc-ci has none */
      }
    }, 300_000);
    afterAll(() => removeFixture(base));

    test("prints a spec that parses, names the repository's hosts, shared package and consumers, and passes --check-spec and an eval-mode verification", () => {
      const init = runCli({ flake: dir }, { args: ['--init'] });
      expect([init.code, init.stderr]).toEqual([0, '']);
      const claim = parseSpec(init.stdout, 'init.yml');
      expect(claim.hosts.map((h) => h.name)).toEqual(hosts);
      expect(claim.shared).toMatchObject(shared);
      expect(claim.expectedTools.entries.length).toBeGreaterThan(5);
      expect(
        claim.consumers.map((c) => [
          c.kind,
          'unit' in c ? c.unit : 'runs' in c ? c.runs : c.kind === 'dev-shell' ? c.attr : '',
          ...(c.kind !== 'derivation' && c.hosts ? [c.hosts.join(',')] : []),
        ]),
      ).toEqual(consumers);
      expect(init.stdout).toMatch(/# CHECK BY HAND/);

      const specFile = path.join(work, `${fixture}-init.yml`);
      writeFileSync(specFile, init.stdout);
      const check = runCli({ flake: dir, spec: specFile }, { args: ['--check-spec'] });
      expect([check.code, check.stderr]).toEqual([0, '']);
      const verify = runCli({ flake: dir, spec: specFile, mode: 'eval' });
      expect([
        verify.code,
        verify.report?.verdict,
        // no-drop skips: a fixture has no base revision to compare with (its one commit).
        verify.report?.checks
          .filter((c) => c.status !== 'pass' && !(c.id === 'no-drop' && c.status === 'skip'))
          .map((c) => `${c.id}: ${c.summary}`),
      ]).toEqual([0, 'pass', []]);
    }, 600_000);
  },
);
