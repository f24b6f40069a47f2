// Reads a spec file into a Claim. Every error names the file, line and column
// (the `yaml` package keeps each node's range) and what is allowed.
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { closestName } from '../closest.js';
import { SettingsError } from '../errors.js';
import { CHECK_IDS } from '../verdict.js';
import { BUILTIN_SPEC_YAML } from './builtin.js';
import { SPEC_KEYS, specSchema, type SpecFile } from './schema.js';
import type { Claim, Consumer, GrepProof, HostClaim } from './types.js';

export interface SpecProblem {
  line: number;
  column: number;
  /** Dotted path of the key, e.g. consumers[1].unit. */
  at: string;
  message: string;
}

/** Thrown for a spec that cannot be used: exit 2 with every problem, positioned. */
export class SpecError extends SettingsError {
  constructor(
    readonly file: string,
    readonly problems: SpecProblem[],
  ) {
    super(
      `invalid spec ${file}:\n  ${problems.map((p) => `${file}:${p.line}:${p.column}: ${p.at ? `${p.at}: ` : ''}${p.message}`).join('\n  ')}`,
    );
    this.name = 'SpecError';
  }
}

const pathText = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  );

/** The node at a path, or its nearest ancestor; for an unknown key, that key itself. */
function nodeAt(doc: Document, path: readonly PropertyKey[], unknownKey?: string): Node | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as Node | undefined;
    if (!node && n > 0) continue;
    const target = node ?? doc.contents ?? undefined;
    if (unknownKey !== undefined && n === path.length && isMap(target)) {
      const pair = target.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === unknownKey);
      if (pair && isScalar(pair.key)) return pair.key;
    }
    // A missing key: point at the map that should hold it.
    return target;
  }
  return undefined;
}

function positionOf(
  doc: Document,
  lines: LineCounter,
  path: readonly PropertyKey[],
  unknownKey?: string,
): { line: number; column: number } {
  const node = nodeAt(doc, path, unknownKey);
  const offset = node?.range?.[0] ?? 0;
  const pos = lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

function issueProblems(doc: Document, lines: LineCounter, issues: readonly z.core.$ZodIssue[]): SpecProblem[] {
  const out: SpecProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const near = closestName(key, allowedKeys(issue.path, doc).split(', '));
        out.push({
          ...positionOf(doc, lines, issue.path, key),
          at: pathText([...issue.path, key]),
          message: `unknown key ${JSON.stringify(key)}; allowed here: ${allowedKeys(issue.path, doc)}${near ? `; did you mean ${near}?` : ''}`,
        });
      }
      continue;
    }
    const missing = issue.path.length > 0 && !doc.hasIn(issue.path as unknown[]);
    // zod's own words for a missing value say nothing of what is allowed: the key's description does.
    let message = /^Invalid input/.test(issue.message) ? `expected ${describeKey(issue.path)}` : issue.message;
    // A misspelt kind or enum value: the nearest allowed one.
    const given = doc.getIn(issue.path as unknown[]);
    const choices =
      issue.path[issue.path.length - 1] === 'kind'
        ? Object.keys(SPEC_KEYS.consumers)
        : issue.code === 'invalid_value'
          ? issue.values.filter((v): v is string => typeof v === 'string')
          : [];
    const near = typeof given === 'string' && choices.length ? closestName(given, choices) : undefined;
    if (near && near !== given) message += `; did you mean ${near}?`;
    out.push({
      ...positionOf(doc, lines, issue.path),
      at: pathText(issue.path),
      message: missing ? `missing; ${message}` : message,
    });
  }
  return out;
}

/** What a key holds, for messages about a missing or mistyped value. */
function describeKey(path: readonly PropertyKey[]): string {
  const key = String(path[path.length - 1] ?? '');
  const known: Record<string, string> = {
    package: 'a Nix attribute name (pkgs.<package>)',
    tools_attr: 'a Nix attribute name (pkgs.<tools_attr>)',
    env_attr: 'a Nix attribute name',
    file: 'a relative path inside the repository',
    config: 'a relative path inside the repository',
    module: 'a relative path inside the repository',
    pipeline: 'a relative path inside the repository',
    runs: 'a relative path inside the repository',
    unit: 'a systemd service unit name ending in .service',
    runner_unit: 'a systemd service unit name ending in .service',
    name: 'a non-empty name',
    kind: `one of ${Object.keys(SPEC_KEYS.consumers).join(', ')}`,
    pattern: 'a non-empty text to grep for',
    attr: 'a flake output attribute path such as packages.x86_64-linux.image',
  };
  return known[key] ?? 'a value of the documented type (see the README, Writing a spec)';
}

/** The keys the schema has at a path (for "allowed here"). */
function allowedKeys(path: readonly PropertyKey[], doc: Document): string {
  const [top, index] = path;
  if (path.length === 0) return SPEC_KEYS.top.join(', ');
  if (top === 'consumers' && typeof index === 'number') {
    const kind = (doc.getIn(['consumers', index, 'kind']) as string | undefined) ?? '';
    return SPEC_KEYS.consumers[kind]?.join(', ') ?? 'name, kind, …';
  }
  const keys = (SPEC_KEYS as unknown as Record<string, string[] | undefined>)[String(top)];
  return keys ? keys.join(', ') : 'see the README (Writing a spec)';
}

/** Rules across fields: unique names, proof references, host config files. */
function crossProblems(spec: SpecFile, at: (path: PropertyKey[]) => { line: number; column: number }): SpecProblem[] {
  const out: SpecProblem[] = [];
  const push = (path: PropertyKey[], message: string) => out.push({ ...at(path), at: pathText(path), message });
  const seenHosts = new Map<string, number>();
  spec.hosts.forEach((h, i) => {
    const name = typeof h === 'string' ? h : h.name;
    if (seenHosts.has(name))
      push(['hosts', i], `host ${JSON.stringify(name)} is listed twice (first at hosts[${seenHosts.get(name)}])`);
    seenHosts.set(name, i);
    const config = typeof h === 'string' ? undefined : h.config;
    if (config === undefined && spec.host_defaults?.config === undefined)
      push(
        ['hosts', i],
        `host ${JSON.stringify(name)} has no config file: give it config, or host_defaults.config with {host}`,
      );
  });
  const template = spec.host_defaults?.config;
  const templated = spec.hosts.filter((h) => typeof h === 'string' || h.config === undefined).length;
  if (template !== undefined && !template.includes('{host}') && templated > 1)
    push(
      ['host_defaults', 'config'],
      `${JSON.stringify(template)} has no {host}, so ${templated} hosts would share one config file`,
    );
  const names = new Map<string, number>();
  spec.consumers.forEach((c, i) => {
    if (names.has(c.name))
      push(
        ['consumers', i, 'name'],
        `consumer name ${JSON.stringify(c.name)} is used twice (first at consumers[${names.get(c.name)}])`,
      );
    names.set(c.name, i);
    // An image is read from its own config (stream.conf): `through` and `reference` say nothing more.
    if (c.kind === 'derivation' && c.image)
      for (const k of ['through', 'reference'] as const)
        if (c[k] !== undefined)
          push(['consumers', i, k], `${k} does not go with image: true (the image is judged from its config)`);
    if ('hosts' in c && c.hosts) {
      const known = spec.hosts.map((h) => (typeof h === 'string' ? h : h.name));
      c.hosts.forEach((h, j) => {
        if (!known.includes(h))
          push(
            ['consumers', i, 'hosts', j],
            `host ${JSON.stringify(h)} is not in the spec's hosts (${known.join(', ')})`,
          );
        else if (c.hosts!.indexOf(h) !== j)
          push(['consumers', i, 'hosts', j], `host ${JSON.stringify(h)} is listed twice`);
      });
    }
    if ('module_must_not_contain' in c && c.module_must_not_contain?.length && c.module === undefined)
      push(['consumers', i, 'module_must_not_contain'], 'needs module: the file the patterns must not be in');
    if (
      c.kind === 'systemd-service' &&
      (c.module_runtime_inputs_only || c.module_execs_program) &&
      c.module === undefined
    )
      push(
        ['consumers', i],
        "module_runtime_inputs_only and module_execs_program need module: the service's module file",
      );
  });
  const kinds = spec.consumers.map((c) => c.kind);
  if (kinds.filter((k) => k === 'system-packages').length > 1)
    push(['consumers'], 'at most one system-packages consumer (it covers every host)');
  const ids = new Map<string, number>();
  (spec.proofs ?? []).forEach((p, i) => {
    if (p.id === undefined) return;
    if (ids.has(p.id)) push(['proofs', i, 'id'], `proof id ${JSON.stringify(p.id)} is used twice`);
    ids.set(p.id, i);
  });
  (spec.proofs ?? []).forEach((p, i) => {
    if (p.same_line_as === undefined) return;
    const target = ids.get(p.same_line_as);
    if (target === undefined)
      push(
        ['proofs', i, 'same_line_as'],
        `no proof has id ${JSON.stringify(p.same_line_as)}${ids.size ? ` (ids: ${[...ids.keys()].join(', ')})` : ''}`,
      );
    else if (target === i) push(['proofs', i, 'same_line_as'], 'a proof cannot refer to itself');
    if (p.all_in !== undefined && p.in_shared_file) push(['proofs', i], 'give all_in or in_shared_file, not both');
  });
  if (spec.checks && new Set(spec.checks).size !== spec.checks.length) push(['checks'], 'a check is listed twice');
  return out;
}

function toClaim(spec: SpecFile, source: string): Claim {
  const hostConfig = spec.host_defaults?.config ?? '';
  const requiredPrograms = spec.host_defaults?.required_programs ?? [];
  const hosts: HostClaim[] = spec.hosts.map((h) =>
    typeof h === 'string'
      ? { name: h, config: hostConfig.replaceAll('{host}', h), requiredPrograms }
      : {
          name: h.name,
          config: h.config ?? hostConfig.replaceAll('{host}', h.name),
          requiredPrograms: h.required_programs ?? requiredPrograms,
        },
  );
  const consumers: Consumer[] = spec.consumers.map((c) => {
    const optional = {
      ...('hosts' in c && c.hosts !== undefined ? { hosts: [...c.hosts] } : {}),
      ...('module' in c && c.module !== undefined ? { module: c.module } : {}),
    };
    switch (c.kind) {
      case 'systemd-service':
        return {
          kind: c.kind,
          name: c.name,
          unit: c.unit,
          startedByTimer: c.started_by_timer ?? false,
          ...optional,
          moduleMustNotContain: c.module_must_not_contain ?? [],
          moduleRuntimeInputsOnly: c.module_runtime_inputs_only ?? false,
          moduleExecsProgram: c.module_execs_program ?? false,
          ...(c.allow_after === true || Array.isArray(c.allow_after) ? { allowAfter: c.allow_after } : {}),
        };
      case 'drone-step':
        return {
          kind: c.kind,
          name: c.name,
          pipeline: c.pipeline,
          runs: c.runs,
          runnerUnit: c.runner_unit,
          ...optional,
          moduleMustNotContain: c.module_must_not_contain ?? [],
        };
      case 'runner-service':
        return {
          kind: c.kind,
          name: c.name,
          unit: c.unit,
          ...optional,
          moduleMustNotContain: c.module_must_not_contain ?? [],
        };
      case 'system-packages':
        return {
          kind: c.kind,
          name: c.name,
          ...optional,
          sameDefinition: c.same_definition ?? true,
          configReferencesTools: c.config_references_tools ?? true,
        };
      case 'derivation':
        return {
          kind: c.kind,
          name: c.name,
          attr: c.attr,
          ...(c.through !== undefined ? { through: c.through } : {}),
          ...(c.reference !== undefined ? { reference: c.reference } : {}),
          ...(c.image ? { image: true } : {}),
        };
    }
  });
  const proofs: GrepProof[] = (spec.proofs ?? []).map((p) => ({
    ...(p.id !== undefined ? { id: p.id } : {}),
    pattern: p.pattern,
    ...(p.in !== undefined ? { in: p.in } : {}),
    ...(p.count !== undefined ? { count: p.count } : {}),
    ...(p.at_least !== undefined ? { atLeast: p.at_least } : {}),
    ...(p.all_in !== undefined ? { allIn: p.all_in } : {}),
    inSharedFile: p.in_shared_file ?? false,
    ...(p.same_line_as !== undefined ? { sameLineAs: p.same_line_as } : {}),
  }));
  return {
    spec: source,
    hosts,
    hostConfig,
    requiredPrograms,
    shared: {
      package: spec.shared.package,
      program: spec.shared.program ?? spec.shared.package,
      file: spec.shared.file,
      toolsAttr: spec.shared.tools_attr,
      ...(spec.shared.env_attr !== undefined ? { envAttr: spec.shared.env_attr } : {}),
    },
    expectedTools: { match: spec.expected_tools.match ?? 'superset', entries: spec.expected_tools.entries },
    consumers,
    searchDir: spec.search_dir ?? '.',
    proofs,
    checks: spec.checks ?? [...CHECK_IDS],
    ...(spec.retired ? { retired: spec.retired } : {}),
  };
}

/** Parses spec text (named `file` in errors) into a Claim, or throws SpecError with every problem. */
export function parseSpec(text: string, file: string): Claim {
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const before = text.slice(0, nul).split('\n');
    throw new SpecError(file, [
      {
        line: before.length,
        column: before[before.length - 1].length + 1,
        at: '',
        message: 'a NUL byte: a spec is a YAML text file',
      },
    ]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
  if (doc.errors.length) {
    // The first syntax error: later ones are mostly its consequences.
    const first = doc.errors[0];
    const pos = lines.linePos(first.pos[0]);
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more after it)` : '';
    const key = /^\s*([^:\s#][^:#]*?)\s*:/.exec(text.slice(first.pos[0]).split('\n')[0] ?? '')?.[1];
    const words =
      first.code === 'DUPLICATE_KEY'
        ? `the key ${key ? JSON.stringify(key) : ''} appears twice in one map`.replace('  ', ' ')
        : first.code === 'MULTIPLE_DOCS'
          ? 'a spec is one YAML document; this file has another after `---`'
          : first.message.split('\n')[0];
    throw new SpecError(file, [
      { line: pos.line, column: pos.col, at: '', message: `not valid YAML: ${words}${more}` },
    ]);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new SpecError(file, [{ line: 1, column: 1, at: '', message: `cannot be read: ${(e as Error).message}` }]);
  }
  if (data === null || data === undefined)
    throw new SpecError(file, [
      {
        line: 1,
        column: 1,
        at: '',
        message: 'the file is empty; expected a spec (run nixenv-verify --print-spec for one)',
      },
    ]);
  const parsed = specSchema.safeParse(data);
  if (!parsed.success) throw new SpecError(file, issueProblems(doc, lines, parsed.error.issues));
  const cross = crossProblems(parsed.data, (path) => positionOf(doc, lines, path));
  if (cross.length) throw new SpecError(file, cross);
  return toClaim(parsed.data, file);
}

/** The seed claim, from the built-in spec text. */
export const builtinClaim = (): Claim => parseSpec(BUILTIN_SPEC_YAML, 'built-in');
