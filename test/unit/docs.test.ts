// plugin.yml and the README settings table are generated from SETTINGS; these
// tests fail when either is stale, and check plugin.yml against the plugin index's schema.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { IMAGE, README_END, README_START, pluginProperties, pluginYaml, settingsSection, settingsTable, withSettingsTable } from '../../src/docs.js';
import { envName, flagName, parseSettings, SETTINGS } from '../../src/settings.js';

const repoFile = (name: string): string => fileURLToPath(new URL(`../../${name}`, import.meta.url));
const REGENERATE = 'run `npm run docs` (it builds, then writes plugin.yml and the README settings section)';

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
    if (!existsSync(file)) throw new Error(`README.md does not exist; it must hold the settings table between ${README_START} and ${README_END}, then ${REGENERATE}`);
    const section = settingsSection(readFileSync(file, 'utf8'));
    if (section === undefined) throw new Error(`README.md has no ${README_START} ... ${README_END} section: add the two markers where the settings table belongs, then ${REGENERATE}`);
    expectSame(section.trim(), settingsTable().trim(), `README.md settings table differs from src/settings.ts: ${REGENERATE}`);
  });
});

describe('plugin.yml follows the Drone plugin index schema (plugin-validation/plugin-schema.json)', () => {
  const plugin = parse(pluginYaml()) as Record<string, unknown>;
  const url = /^https?:\/\/[-a-zA-Z0-9@:%._+~#=]{2,256}\.[a-z]{2,4}\b/;

  test('only the index fields, with the required ones present', () => {
    const allowed = ['title', 'author', 'tags', 'logo', 'repo', 'image', 'license', 'readme', 'description', 'example', 'properties'];
    expect(Object.keys(plugin).filter((k) => !allowed.includes(k))).toEqual([]);
    for (const key of ['title', 'author', 'repo', 'description']) expect(typeof plugin[key]).toBe('string');
  });

  test.each(['repo', 'image', 'readme'])('%s is a URL', (key) => expect(plugin[key]).toMatch(url));

  test('logo, license and tags have the allowed forms', () => {
    expect(plugin.logo).toMatch(/([\w-])+\.(svg|png)$/);
    expect(plugin.license).toBe('MIT License');
    expect(new Set(plugin.tags as string[]).size).toBe((plugin.tags as string[]).length);
  });

  test('a property per setting, each with exactly type, defaultValue, description, secret, required', () => {
    const properties = plugin.properties as Record<string, Record<string, unknown>>;
    expect(Object.keys(properties)).toEqual(SETTINGS.map((d) => d.name));
    for (const [name, prop] of Object.entries(properties)) {
      expect([name, Object.keys(prop).sort()]).toEqual([name, ['defaultValue', 'description', 'required', 'secret', 'type']]);
      expect(['string', 'number', 'array', 'boolean', 'object']).toContain(prop.type);
      expect(typeof prop.secret).toBe('boolean');
      expect(prop.secret).toBe(SETTINGS.find((d) => d.name === name)!.secret ?? false);
    }
  });

  test('defaults are what the settings parser uses when nothing is set', () => {
    const parsed = parseSettings({ env: {}, flags: {}, cwd: '/w' }) as unknown as Record<string, unknown>;
    const props = pluginProperties();
    expect(props.hosts!.defaultValue).toEqual(parsed.hosts);
    expect(props.checks!.defaultValue).toEqual(parsed.checks);
    expect(props.expected_tools!.defaultValue).toEqual(parsed.expectedTools);
    expect(props.submodules!.defaultValue).toBe(parsed.submodules);
    expect(props.concurrency!.defaultValue).toBe(parsed.concurrency);
    expect(props.nix_options!.defaultValue).toEqual(parsed.nixOptions);
    expect(props.mode!.defaultValue).toBe(parsed.mode);
  });

  test('the example is a docker pipeline whose step settings parse', () => {
    const example = parse(plugin.example as string) as { kind: string; type: string; steps: { image: string; settings: Record<string, unknown> }[] };
    expect([example.kind, example.type]).toEqual(['pipeline', 'docker']);
    const step = example.steps.find((s) => s.image === IMAGE)!;
    expect(step).toBeDefined();
    // Drone hands YAML lists to plugins as JSON text.
    const env = Object.fromEntries(Object.entries(step.settings).map(([k, v]) => [envName(k), Array.isArray(v) ? JSON.stringify(v) : String(v)]));
    expect(() => parseSettings({ env, flags: {}, cwd: '/w' })).not.toThrow();
  });
});

describe('settings table', () => {
  const rows = settingsTable().trim().split('\n');

  test('a header and a row per setting naming its variable and flag', () => {
    expect(rows.slice(0, 2)).toEqual(['| Setting | Variable | Flag | Default | Meaning |', '| --- | --- | --- | --- | --- |']);
    expect(rows).toHaveLength(SETTINGS.length + 2);
    SETTINGS.forEach((def, i) => {
      expect(rows[i + 2]).toContain(`| \`${def.name}\` | \`${envName(def.name)}\` | \`${flagName(def.name)}\``);
      // Five cells: escaped pipes inside cells do not count.
      expect(rows[i + 2]!.split(/(?<!\\)\|/).length).toBe(7);
    });
  });

  test.each([
    ['a plain default', 'mode', '| `build` |'],
    ['a computed default', 'flake', '| $DRONE_WORKSPACE, else the current directory |'],
    ['unset', 'report', '| (unset) |'],
    ['allowed values', 'log_level', 'One of: `trace`, `debug`'],
    ['a list of allowed values', 'checks', 'Any of: `build`'],
    ['a boolean has its --no- flag', 'submodules', '| `--submodules`, `--no-submodules` | `true` |'],
  ])('%s', (_name, setting, fragment) => expect(rows.find((r) => r.startsWith(`| \`${setting}\``))).toContain(fragment));
});

describe('README section replacement', () => {
  test.each([
    ['replaces only the marked section', `# T\n\n${README_START}\nold table\n${README_END}\n\nrest\n`, `# T\n\n${README_START}\n${settingsTable()}${README_END}\n\nrest\n`],
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
