// The pipelines users copy (README, docs/drone.md, plugin.yml) and our own .drone.yml parse,
// and use only settings the program knows.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { parseDroneYaml } from '../../src/drone/pipeline.js';
import { envName, parseSettings, SETTINGS, unknownPluginVars } from '../../src/settings.js';
import { encodePipelineSteps } from '../helpers/droneEncoder.js';
import { repoRoot } from '../helpers/cli.js';

const known = new Set(SETTINGS.map((s) => s.name));
const knownEnv = new Set(SETTINGS.map((s) => envName(s.name)));
const read = (f: string): string => readFileSync(path.join(repoRoot, f), 'utf8');

function pluginSteps(
  yamlText: string,
): { settings: Record<string, unknown>; environment: Record<string, unknown>; image?: string }[] {
  return yamlText
    .split(/^---$/m)
    .map(
      (doc) =>
        parse(doc) as {
          steps?: { image?: string; settings?: Record<string, unknown>; environment?: Record<string, unknown> }[];
        } | null,
    )
    .flatMap((doc) => doc?.steps ?? [])
    .map((s) => ({
      settings: s.settings ?? {},
      environment: s.environment ?? {},
      ...(s.image ? { image: s.image } : {}),
    }));
}

// The README's short examples and docs/drone.md's full ones.
const readmeBlocks = ['README.md', 'docs/drone.md'].flatMap((f) =>
  [...read(f).matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]),
);

describe('user pipelines', () => {
  test('README and docs/drone.md have docker, /nix-mount and exec examples', () => {
    expect(readmeBlocks.length).toBeGreaterThanOrEqual(3);
    const all = readmeBlocks.join('\n');
    expect(all).toContain('image: cc-ci/nixenv-verify');
    expect(all).toContain('path: /nix');
    expect(all).toContain('type: exec');
  });

  // Secrets the README examples name with from_secret.
  const SECRETS = { nix_options: '["--option","access-tokens","github.com=x"]' };

  test.each(readmeBlocks.map((b, i) => [i, b]))(
    'README/docs block %i uses known settings only, as Drone encodes them',
    (_, block) => {
      for (const step of encodePipelineSteps(block, SECRETS)) {
        expect(unknownPluginVars(step.env)).toEqual([]);
        expect(() => parseSettings({ env: step.env, flags: {}, cwd: '/drone/src' })).not.toThrow();
      }
      for (const step of pluginSteps(block)) {
        for (const key of Object.keys(step.settings)) expect(known).toContain(key);
        for (const key of Object.keys(step.environment).filter((k) => k.startsWith('PLUGIN_')))
          expect(knownEnv).toContain(key);
      }
    },
  );

  test('plugin.yml example uses the image and known settings', () => {
    const plugin = parse(read('plugin.yml')) as { example: string; image: string };
    const steps = pluginSteps(plugin.example);
    expect(steps.some((s) => s.image === 'cc-ci/nixenv-verify')).toBe(true);
    for (const s of steps) for (const key of Object.keys(s.settings)) expect(known).toContain(key);
    for (const step of encodePipelineSteps(plugin.example))
      expect(() => parseSettings({ env: step.env, flags: {}, cwd: '/drone/src' })).not.toThrow();
  });
});

describe('our own .drone.yml', () => {
  test('parses, tests with npm test, builds the image dry on pull requests and publishes on main and tags', async () => {
    const file = await parseDroneYaml(read('.drone.yml'));
    expect(file.errors).toEqual([]);
    expect(file.steps.find((s) => s.name === 'test')!.commands).toContain('npm test');
    const docs = read('.drone.yml')
      .split(/^---$/m)
      .map(
        (d) =>
          parse(d) as {
            steps?: { name: string; settings?: Record<string, unknown>; when?: { event?: string[] } }[];
          } | null,
      );
    const steps = docs.flatMap((d) => d?.steps ?? []);
    expect(steps.find((s) => s.name === 'dry-run')).toMatchObject({
      settings: { dry_run: true },
      when: { event: ['pull_request'] },
    });
    expect(steps.find((s) => s.name === 'publish')!.when!.event).toEqual(['push', 'tag']);
  });
});
