// Generated documentation: plugin.yml (the Drone plugin index's content.yaml
// fields), the README settings table, the nix allow-list (docs/guarantees.md)
// and the built-in spec (docs/spec.md), from SETTINGS and the spec so they
// cannot drift. `npm run docs` writes them (GENERATED_DOCS says which section
// lives in which file); test/unit/docs.test.ts fails when one is stale.
import { stringify } from 'yaml';
import { PROJECT_REPO_URL } from './render/card.js';
import { inlineCode, markdownCell } from './render/common.js';
import { NIX_SETTINGS } from './nix/options.js';
import { envName, flagName, SETTINGS, type SettingDef } from './settings.js';
import { BUILTIN_SPEC_YAML } from './claim/builtin.js';
export { SPEC_SCHEMA_FILE, specJsonSchemaText } from './claim/jsonSchema.js';

export const IMAGE = 'cc-ci/nixenv-verify';
/** The logo the plugin index shows; the file is in the repository root. */
export const LOGO_FILE = 'nixenv-verify.svg';
/** Files plugin.yml points at that must exist in the repository. */
export const LICENSE_FILE = 'LICENSE';
export const README_START = '<!-- settings:start -->';
export const README_END = '<!-- settings:end -->';
export const NIX_START = '<!-- nix-options:start -->';
export const NIX_END = '<!-- nix-options:end -->';
export const SPEC_START = '<!-- spec:start -->';
export const SPEC_END = '<!-- spec:end -->';

/** The README's copy of the built-in spec, exactly as `--print-spec` prints it. */
export const specBlock = (): string => `\n\`\`\`yaml\n${BUILTIN_SPEC_YAML}\`\`\`\n`;

/** The plugin index's property types (plugin-validation/plugin-schema.json there). */
type IndexType = 'string' | 'number' | 'array' | 'boolean' | 'object';

export interface PluginProperty {
  type: IndexType;
  defaultValue: string | number | boolean | string[] | Record<string, unknown>;
  description: string;
  secret: boolean;
  required: boolean;
  /** A value as written under `settings:`. */
  example: unknown;
}

const INDEX_TYPE: Record<SettingDef['kind'], IndexType> = {
  string: 'string',
  path: 'string',
  output: 'string',
  enum: 'string',
  duration: 'string',
  list: 'array',
  'nix-args': 'array',
  'nix-config': 'object',
  boolean: 'boolean',
  integer: 'number',
};

/** A setting's default in its index type; unset defaults are "" as the index requires a value. */
function indexDefault(def: SettingDef): PluginProperty['defaultValue'] {
  const raw = def.default;
  if (raw === undefined) return INDEX_TYPE[def.kind] === 'array' ? [] : INDEX_TYPE[def.kind] === 'object' ? {} : '';
  switch (def.kind) {
    case 'boolean':
      return raw === 'true';
    case 'integer':
      return Number(raw);
    case 'list':
      return raw.split(',').filter((v) => v !== '');
    case 'nix-args':
      return JSON.parse(raw) as string[];
    case 'nix-config':
      return JSON.parse(raw) as Record<string, unknown>;
    default:
      return raw;
  }
}

/** The description plus what the one-line default and allowed values would not show elsewhere. */
function fullDescription(def: SettingDef): string {
  const parts = [def.description];
  if (def.values) parts.push(`Allowed: ${def.values.join(', ')}.`);
  if (def.defaultText) parts.push(`Default: ${def.defaultText}.`);
  return parts.join(' ');
}

export function pluginProperties(): Record<string, PluginProperty> {
  return Object.fromEntries(
    SETTINGS.map((def) => [
      def.name,
      {
        type: INDEX_TYPE[def.kind],
        defaultValue: indexDefault(def),
        description: fullDescription(def),
        secret: def.secret ?? false,
        required: false,
        example: def.example,
      },
    ]),
  );
}

/** A Drone docker pipeline that runs the plugin with a few settings. */
export function examplePipeline(): string {
  const pipeline = {
    kind: 'pipeline',
    type: 'docker',
    name: 'verify',
    steps: [
      // The image runs as uid 1000; Drone's clone belongs to root: the reports need a writable directory.
      { name: 'reports-dir', image: 'busybox', commands: ['mkdir -p reports', 'chmod 0777 reports'] },
      {
        name: 'nixenv-verify',
        image: IMAGE,
        settings: {
          hosts: ['cc-ci', 'cc-ci-hetzner'],
          mode: 'eval',
          timeout: '20m',
          junit: 'reports/nixenv-verify.xml',
          summary: 'reports/nixenv-verify.md',
          report: 'reports/nixenv-verify.json',
          nix_config: { builders: 'ssh://builder x86_64-linux - 4 1 big-parallel,kvm', 'max-jobs': 0 },
        },
      },
    ],
  };
  return stringify(pipeline, { lineWidth: 0 });
}

/** plugin.yml: the fields of the Drone plugin index's content.yaml, in its order. */
export function pluginYaml(): string {
  const plugin = {
    name: 'nixenv-verify',
    title: 'nixenv-verify',
    author: 'cc-ci',
    tags: ['nix', 'nixos', 'flake', 'verify', 'test'],
    logo: LOGO_FILE,
    repo: PROJECT_REPO_URL,
    image: `https://hub.docker.com/r/${IMAGE}`,
    license: 'MIT License',
    readme: `${PROJECT_REPO_URL}/blob/main/README.md`,
    url: PROJECT_REPO_URL,
    containerImage: IMAGE,
    description:
      'Verifies, with real Nix, that a NixOS flake declares its test runtime once and that every consumer ' +
      '(Drone step, nightly sweep, each host) uses it. Reports to the console, JSON, JUnit XML, Markdown and a Drone card.\n',
    example: examplePipeline(),
    properties: pluginProperties(),
  };
  const header = '# Generated from src/settings.ts by `npm run docs`; edit there, not here.\n';
  return header + stringify(plugin, { lineWidth: 0 });
}

function defaultCell(def: SettingDef): string {
  if (def.defaultText) return markdownCell(def.defaultText);
  if (def.kind === 'nix-args' && def.default === '[]') return '(none)';
  if (def.kind === 'nix-config' && def.default === '{}') return '(none)';
  if (def.default === undefined) return '(unset)';
  if (def.default === '') return '(empty)';
  // A space after each comma lets a long list wrap in the rendered table; lists are trimmed when parsed.
  return markdownCell(inlineCode(def.kind === 'list' ? def.default.split(',').join(', ') : def.default));
}

/** The README's settings table: every setting, its variable, flag, default and meaning. */
export function settingsTable(): string {
  const rows = SETTINGS.map((def) => {
    const allowed = def.values
      ? ` ${def.kind === 'list' ? 'Any of' : 'One of'}: ${def.values.map(inlineCode).join(', ')}.`
      : '';
    const meaning = markdownCell(
      `${def.description}${allowed}${def.secret ? ' Secret: redacted from logs and reports.' : ''}`,
    );
    const code = (text: string): string => markdownCell(inlineCode(text));
    const flags =
      def.kind === 'boolean'
        ? `${code(flagName(def.name))}, ${code(`--no-${flagName(def.name).slice(2)}`)}`
        : code(flagName(def.name));
    return [code(def.name), code(envName(def.name)), flags, defaultCell(def), meaning].join(' | ');
  });
  return [
    '| Setting | Variable | Flag | Default | Meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r} |`),
    '',
  ].join('\n');
}

/** The README text between the settings markers, or undefined when a marker is missing. */
export function settingsSection(readme: string): string | undefined {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END, start + README_START.length);
  if (start < 0 || end < 0) return undefined;
  return readme.slice(start + README_START.length, end);
}

/** The README with the marked section replaced by the current settings table. */
export function withSettingsTable(readme: string): string | undefined {
  if (settingsSection(readme) === undefined) return undefined;
  const start = readme.indexOf(README_START) + README_START.length;
  const end = readme.indexOf(README_END, start);
  return `${readme.slice(0, start)}\n${settingsTable()}${readme.slice(end)}`;
}

/** The README's allow-list of nix settings: name, the forms it may take, what it changes. */
export function nixOptionsTable(): string {
  const rows = Object.entries(NIX_SETTINGS).map(([name, def]) => {
    const forms =
      def.value === 'bool'
        ? [`--option ${name} true|false`, `--${name}`, `--no-${name}`]
        : [`--option ${name} VALUE`, `--${name} VALUE`];
    if (name === 'max-jobs') forms.push('-j N');
    if (name === 'keep-going') forms.push('-k');
    const value = {
      bool: 'true/false',
      int: 'whole number',
      'int-or-auto': 'whole number or auto',
      text: 'text',
      multiline: 'text (several lines allowed)',
      path: 'path',
    }[def.value];
    return `| ${markdownCell(inlineCode(name))} | ${forms.map((f) => markdownCell(inlineCode(f))).join(', ')} | ${value} | ${markdownCell(def.what)} |`;
  });
  return [
    '| nix setting (nix_config key) | nix_options forms | value | what it changes |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

/** The README text between two markers, or undefined when a marker is missing. */
export function markedSection(readme: string, startMarker: string, endMarker: string): string | undefined {
  const start = readme.indexOf(startMarker);
  const end = readme.indexOf(endMarker, start + startMarker.length);
  if (start < 0 || end < 0) return undefined;
  return readme.slice(start + startMarker.length, end);
}

/** The text with the section between two markers replaced; undefined when a marker is missing. */
function replaceMarked(text: string, startMarker: string, endMarker: string, body: string): string | undefined {
  if (markedSection(text, startMarker, endMarker) === undefined) return undefined;
  const start = text.indexOf(startMarker) + startMarker.length;
  const end = text.indexOf(endMarker, start);
  return `${text.slice(0, start)}${body}${text.slice(end)}`;
}

export interface GeneratedSection {
  start: string;
  end: string;
  /** The text between the markers. */
  body: () => string;
}

export const SETTINGS_SECTION: GeneratedSection = {
  start: README_START,
  end: README_END,
  body: () => `\n${settingsTable()}`,
};
export const NIX_SECTION: GeneratedSection = { start: NIX_START, end: NIX_END, body: () => `\n${nixOptionsTable()}` };
export const SPEC_SECTION: GeneratedSection = { start: SPEC_START, end: SPEC_END, body: specBlock };

/** Which generated section lives in which file (paths from the repository root). */
export const GENERATED_DOCS: readonly { file: string; sections: readonly GeneratedSection[] }[] = [
  { file: 'README.md', sections: [SETTINGS_SECTION] },
  { file: 'docs/guarantees.md', sections: [NIX_SECTION] },
  { file: 'docs/spec.md', sections: [SPEC_SECTION] },
];

/** The text with the given generated sections current; undefined when a marker pair is missing. */
export function withSections(text: string, sections: readonly GeneratedSection[]): string | undefined {
  let out: string | undefined = text;
  for (const s of sections) out = out === undefined ? undefined : replaceMarked(out, s.start, s.end, s.body());
  return out;
}

/** A file of GENERATED_DOCS with its generated sections current; undefined when a marker pair is missing. */
export function withGeneratedSections(text: string, file = 'README.md'): string | undefined {
  const entry = GENERATED_DOCS.find((d) => d.file === file);
  if (!entry)
    throw new Error(`${file} holds no generated section; known: ${GENERATED_DOCS.map((d) => d.file).join(', ')}`);
  return withSections(text, entry.sections);
}
