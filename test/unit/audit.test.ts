// The collision audit follows nixpkgs buildEnv: same-priority providers of one
// bin/ name with different files collide; identical files or a lower priority do not.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { auditBinCollisions } from '../../src/checks/build.js';
import type { HostFacts } from '../../src/context.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'nv-audit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fake package output with bin/ files: name -> content (or `-> target` for a symlink). */
function pkg(name: string, bins: Record<string, string>): string {
  const out = path.join(root, name);
  mkdirSync(path.join(out, 'bin'), { recursive: true });
  for (const [bin, content] of Object.entries(bins)) {
    if (content.startsWith('-> ')) symlinkSync(content.slice(3), path.join(out, 'bin', bin));
    else writeFileSync(path.join(out, 'bin', bin), content);
  }
  return out;
}

const git = pkg('git-2.47.2', { git: 'git A' });
const gitMinimal = pkg('git-minimal-2.47.2', { git: 'git B' });
const gitCopy = pkg('git-copy-2.47.2', { git: 'git A' });
const gitLink = pkg('git-wrapper', { git: `-> ${path.join(git, 'bin', 'git')}` });
const tools = pkg('tools-1', { jq: 'jq' });

const facts = (pkgs: [string, string, number?][]): HostFacts =>
  ({
    systemPackages: pkgs.map(([name, out, priority]) => ({
      name,
      installed: [out],
      ...(priority === undefined ? {} : { priority }),
    })),
  }) as unknown as HostFacts;

test.each([
  [
    'different files, same priority',
    [
      ['git-2.47.2', git],
      ['git-minimal-2.47.2', gitMinimal],
    ],
    ['bin/git'],
  ],
  [
    'identical content',
    [
      ['git-2.47.2', git],
      ['git-copy-2.47.2', gitCopy],
    ],
    [],
  ],
  [
    'a symlink to the same file',
    [
      ['git-2.47.2', git],
      ['git-wrapper', gitLink],
    ],
    [],
  ],
  [
    'a lower priority number wins silently',
    [
      ['git-2.47.2', git],
      ['git-minimal-2.47.2', gitMinimal, 10],
    ],
    [],
  ],
  [
    'no overlap',
    [
      ['git-2.47.2', git],
      ['tools-1', tools],
    ],
    [],
  ],
] as [string, [string, string, number?][], string[]][])('%s', (_, pkgs, want) => {
  expect(auditBinCollisions(facts(pkgs)).map((c) => c.bin)).toEqual(want);
});

test('names both providers', () => {
  const [c] = auditBinCollisions(
    facts([
      ['git-2.47.2', git],
      ['git-minimal-2.47.2', gitMinimal],
    ]),
  );
  expect(c.providers).toEqual([
    { pkg: 'git-2.47.2', file: path.join(git, 'bin', 'git') },
    { pkg: 'git-minimal-2.47.2', file: path.join(gitMinimal, 'bin', 'git') },
  ]);
});
