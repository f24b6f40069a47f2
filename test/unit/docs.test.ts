// plugin.yml and the README settings table are generated from SETTINGS; these
// tests fail when either is stale, and check plugin.yml against the plugin index's schema.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  GENERATED_DOCS,
  IMAGE,
  LICENSE_FILE,
  LOGO_FILE,
  NIX_END,
  NIX_START,
  README_END,
  README_START,
  SPEC_END,
  SPEC_START,
  markedSection,
  nixOptionsTable,
  pluginProperties,
  pluginYaml,
  settingsSection,
  settingsTable,
  specBlock,
  withGeneratedSections,
  withSettingsTable,
} from '../../src/docs.js';
import { encodePipelineSteps } from '../helpers/droneEncoder.js';
import { envName, flagName, parseSettings, SETTINGS } from '../../src/settings.js';
import { BUILTIN_SPEC_YAML } from '../../src/claim/builtin.js';

const repoFile = (name: string): string => fileURLToPath(new URL(`../../${name}`, import.meta.url));
const REGENERATE =
  'run `npm run docs` (it builds, then writes plugin.yml, the README settings section, the nix allow-list in docs/guarantees.md and the built-in spec in docs/spec.md)';

/** toBe, with a line saying how to fix it before Jest's diff. */
function expectSame(actual: string, expected: string, hint: string): void {
  try {
    expect(actual).toBe(expected);
  } catch (err) {
    (err as Error).message = `${hint}\n\n${(err as Error).message}`;
    throw err;
  }
}

describe('generated files are up to date', () => {
  test('plugin.yml equals pluginYaml()', () => {
    const file = repoFile('plugin.yml');
    if (!existsSync(file)) throw new Error(`plugin.yml does not exist: ${REGENERATE}`);
    expectSame(readFileSync(file, 'utf8'), pluginYaml(), `plugin.yml differs from src/settings.ts: ${REGENERATE}`);
  });

  test('README.md settings section equals settingsTable()', () => {
    const file = repoFile('README.md');
    if (!existsSync(file))
      throw new Error(
        `README.md does not exist; it must hold the settings table between ${README_START} and ${README_END}, then ${REGENERATE}`,
      );
    const section = settingsSection(readFileSync(file, 'utf8'));
    if (section === undefined)
      throw new Error(
        `README.md has no ${README_START} ... ${README_END} section: add the two markers where the settings table belongs, then ${REGENERATE}`,
      );
    expectSame(
      section.trim(),
      settingsTable().trim(),
      `README.md settings table differs from src/settings.ts: ${REGENERATE}`,
    );
  });

  test('docs/guarantees.md nix allow-list equals nixOptionsTable()', () => {
    const section = markedSection(readFileSync(repoFile('docs/guarantees.md'), 'utf8'), NIX_START, NIX_END);
    if (section === undefined)
      throw new Error(
        `docs/guarantees.md has no ${NIX_START} ... ${NIX_END} section: add the markers, then ${REGENERATE}`,
      );
    expectSame(
      section.trim(),
      nixOptionsTable().trim(),
      `docs/guarantees.md nix allow-list differs from src/settings.ts: ${REGENERATE}`,
    );
  });

  test('docs/spec.md built-in spec equals what --print-spec prints', () => {
    const section = markedSection(readFileSync(repoFile('docs/spec.md'), 'utf8'), SPEC_START, SPEC_END);
    if (section === undefined)
      throw new Error(`docs/spec.md has no ${SPEC_START} ... ${SPEC_END} section: add the markers, then ${REGENERATE}`);
    expectSame(section, specBlock(), `docs/spec.md built-in spec differs from src/claim/builtin.ts: ${REGENERATE}`);
  });

  test.each(GENERATED_DOCS.map((d) => [d.file]))('withGeneratedSections is idempotent on %s', (file) => {
    const text = readFileSync(repoFile(file), 'utf8');
    expect(withGeneratedSections(text, file)).toBe(text);
  });

  test('each generated section lives in exactly one file', () => {
    const markers = GENERATED_DOCS.flatMap((d) => d.sections.map((s) => s.start));
    expect(new Set(markers).size).toBe(markers.length);
    for (const { file, sections } of GENERATED_DOCS) {
      const text = readFileSync(repoFile(file), 'utf8');
      for (const other of GENERATED_DOCS.flatMap((d) => d.sections).filter((s) => !sections.includes(s)))
        expect([file, text.includes(other.start)]).toEqual([file, false]);
    }
  });
});

describe('plugin.yml follows the Drone plugin index schema (plugin-validation/plugin-schema.json)', () => {
  const plugin = parse(pluginYaml()) as Record<string, unknown>;
  const url = /^https?:\/\/[-a-zA-Z0-9@:%._+~#=]{2,256}\.[a-z]{2,4}\b/;

  const INDEX_FIELDS = [
    'name',
    'title',
    'description',
    'author',
    'tags',
    'logo',
    'repo',
    'image',
    'license',
    'readme',
    'url',
    'containerImage',
    'example',
    'properties',
  ];

  test('exactly the fields the Drone plugin index uses, every one present', () => {
    expect(Object.keys(plugin).filter((k) => !INDEX_FIELDS.includes(k))).toEqual([]);
    expect(INDEX_FIELDS.filter((k) => plugin[k] === undefined || plugin[k] === '')).toEqual([]);
    for (const key of ['name', 'title', 'author', 'repo', 'description', 'containerImage', 'example'])
      expect(typeof plugin[key]).toBe('string');
    expect(plugin.containerImage).toBe(IMAGE);
  });

  test.each(['repo', 'image', 'readme', 'url'])('%s is a URL', (key) => expect(plugin[key]).toMatch(url));

  test('the logo and the license exist in the repository', () => {
    expect(plugin.logo).toBe(LOGO_FILE);
    const logo = repoFile(LOGO_FILE);
    if (!existsSync(logo)) throw new Error(`plugin.yml names logo ${LOGO_FILE}, which is not in the repository`);
    expect(readFileSync(logo, 'utf8')).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>\s*$/);
    const license = repoFile(LICENSE_FILE);
    if (!existsSync(license))
      throw new Error(`plugin.yml says ${String(plugin.license)}, but there is no ${LICENSE_FILE} file`);
    expect(readFileSync(license, 'utf8')).toMatch(/^MIT License\n[\s\S]*Permission is hereby granted, free of charge/);
  });

  test('logo, license and tags have the allowed forms', () => {
    expect(plugin.logo).toMatch(/([\w-])+\.(svg|png)$/);
    expect(plugin.license).toBe('MIT License');
    expect(new Set(plugin.tags as string[]).size).toBe((plugin.tags as string[]).length);
  });

  test('a property per setting, each with exactly type, defaultValue, description, secret, required', () => {
    const properties = plugin.properties as Record<string, Record<string, unknown>>;
    expect(Object.keys(properties)).toEqual(SETTINGS.map((d) => d.name));
    for (const [name, prop] of Object.entries(properties)) {
      expect([name, Object.keys(prop).sort()]).toEqual([
        name,
        ['defaultValue', 'description', 'example', 'required', 'secret', 'type'],
      ]);
      expect([name, prop.example === undefined || prop.example === '']).toEqual([name, false]);
      // The example has the declared type.
      const t =
        prop.type === 'array'
          ? Array.isArray(prop.example)
            ? 'array'
            : 'other'
          : prop.type === 'object'
            ? prop.example && typeof prop.example === 'object' && !Array.isArray(prop.example)
              ? 'object'
              : 'other'
            : typeof prop.example;
      expect([name, t]).toEqual([name, prop.type]);
      expect(['string', 'number', 'array', 'boolean', 'object']).toContain(prop.type);
      expect(typeof prop.secret).toBe('boolean');
      expect(prop.secret).toBe(SETTINGS.find((d) => d.name === name)!.secret ?? false);
    }
  });

  test('defaults are what the settings parser uses when nothing is set', () => {
    const parsed = parseSettings({ env: {}, flags: {}, cwd: '/w' }) as unknown as Record<string, unknown>;
    const props = pluginProperties();
    expect(props.hosts.defaultValue).toEqual(parsed.hosts);
    expect(props.checks.defaultValue).toEqual(parsed.checks);
    expect(props.expected_tools.defaultValue).toEqual(
      (parsed.claim as { expectedTools: { entries: string[] } }).expectedTools.entries,
    );
    expect(props.submodules.defaultValue).toBe(parsed.submodules);
    expect(props.concurrency.defaultValue).toBe(parsed.concurrency);
    expect(props.nix_options.defaultValue).toEqual(parsed.nixOptions);
    expect(props.mode.defaultValue).toBe(parsed.mode);
  });

  test('the example is a docker pipeline whose step settings parse as Drone encodes them', () => {
    const example = parse(plugin.example as string) as { kind: string; type: string };
    expect([example.kind, example.type]).toEqual(['pipeline', 'docker']);
    const [step] = encodePipelineSteps(plugin.example as string).filter((s) => s.image === IMAGE);
    expect(step).toBeDefined();
    const s = parseSettings({ env: step.env, flags: {}, cwd: '/w' });
    expect(s.mode).toBe('eval');
    expect(s.nixOptions).toEqual([
      '--option',
      'builders',
      'ssh://builder x86_64-linux - 4 1 big-parallel,kvm',
      '--option',
      'max-jobs',
      '0',
    ]);
  });

  test("each property's example parses as Drone would encode it", () => {
    // The spec example names a file: a repository that has it.
    const repo = mkdtempSync(path.join(os.tmpdir(), 'nixenv-verify-docs-'));
    writeFileSync(path.join(repo, '.nixenv-verify.yml'), BUILTIN_SPEC_YAML);
    for (const def of SETTINGS) {
      const yamlText = `steps:\n  - name: s\n    image: ${IMAGE}\n    settings:\n      ${def.name}: ${JSON.stringify(def.example)}\n`;
      const [step] = encodePipelineSteps(yamlText);
      expect(() => parseSettings({ env: step.env, flags: {}, cwd: repo })).not.toThrow();
    }
    rmSync(repo, { recursive: true, force: true });
  });
});

describe('settings table', () => {
  const rows = settingsTable().trim().split('\n');

  test('a header and a row per setting naming its variable and flag', () => {
    expect(rows.slice(0, 2)).toEqual([
      '| Setting | Variable | Flag | Default | Meaning |',
      '| --- | --- | --- | --- | --- |',
    ]);
    expect(rows).toHaveLength(SETTINGS.length + 2);
    SETTINGS.forEach((def, i) => {
      expect(rows[i + 2]).toContain(`| \`${def.name}\` | \`${envName(def.name)}\` | \`${flagName(def.name)}\``);
      // Five cells: escaped pipes inside cells do not count.
      expect(rows[i + 2].split(/(?<!\\)\|/).length).toBe(7);
    });
  });

  test.each([
    ['a plain default', 'mode', '| `build` |'],
    ['a computed default', 'flake', '| $DRONE_WORKSPACE, else the current directory |'],
    ['unset', 'report', '| (unset) |'],
    ['allowed values', 'log_level', 'One of: `trace`, `debug`'],
    ['a list of allowed values', 'checks', 'Any of: `build`'],
    ['a boolean has its --no- flag', 'submodules', '| `--submodules`, `--no-submodules` | `true` |'],
  ])('%s', (_name, setting, fragment) =>
    expect(rows.find((r) => r.startsWith(`| \`${setting}\``))).toContain(fragment),
  );
});

describe('README section replacement', () => {
  test.each([
    [
      'replaces only the marked section',
      `# T\n\n${README_START}\nold table\n${README_END}\n\nrest\n`,
      `# T\n\n${README_START}\n${settingsTable()}${README_END}\n\nrest\n`,
    ],
    ['an empty section is filled', `${README_START}${README_END}`, `${README_START}\n${settingsTable()}${README_END}`],
    ['no markers: nothing to replace', '# T\n', undefined],
    ['an end marker before the start does not count', `${README_END}\n${README_START}\n`, undefined],
  ])('%s', (_name, readme, want) => expect(withSettingsTable(readme)).toBe(want));

  test('replacing is idempotent and the result passes the staleness check', () => {
    const once = withSettingsTable(`${README_START}\nx\n${README_END}`)!;
    expect(withSettingsTable(once)).toBe(once);
    expect(settingsSection(once)!.trim()).toBe(settingsTable().trim());
  });
});
