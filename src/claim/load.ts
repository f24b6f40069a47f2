// Reads a spec file into a Claim. Every error names the file, line and column
// (the `yaml` package keeps each node's range) and what is allowed.
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { closestName } from '../closest.js';
import { SettingsError } from '../errors.js';
import { CHECK_IDS } from '../verdict.js';
import { BUILTIN_SPEC_YAML } from './builtin.js';
import { SPEC_KEYS, specSchema, type SpecFile } from './schema.js';
import type { Claim, Consumer, GrepProof, HostClaim, JobShellPlace, JobShellSource } from './types.js';

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

/**
 * A union's failure (a host written as a name or a map) says only "expected a name or a map": when the value is a map
 * (or a list), the issues of the branch of that shape are the ones that say what is wrong, at their own keys.
 */
function unionBranchIssues(issue: z.core.$ZodIssue, given: unknown): z.core.$ZodIssue[] | undefined {
  if (issue.code !== 'invalid_union' || given === null || typeof given !== 'object') return undefined;
  const branch = issue.errors.find(
    (errs) => errs.length > 0 && !errs.some((e) => e.path.length === 0 && e.code === 'invalid_type'),
  );
  return branch?.map((e) => ({ ...e, path: [...issue.path, ...e.path] }));
}

/** The fix for a value of the wrong shape: what to write instead, from what was written. */
function fixFor(issue: z.core.$ZodIssue, given: unknown): string {
  const key = String(issue.path[issue.path.length - 1] ?? '');
  // A text (or number) where a list is expected: the same items as a YAML list.
  if (
    issue.code === 'invalid_type' &&
    issue.expected === 'array' &&
    (typeof given === 'string' || typeof given === 'number')
  ) {
    const items = String(given)
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    return `; write a list: [${items.join(', ')}]`;
  }
  // A map where a list is expected (hosts or consumers keyed by name): one `- name:` item per entry.
  if (issue.code === 'invalid_type' && issue.expected === 'array' && given && typeof given === 'object') {
    // The document's own node (a YAML map), or plain data.
    const first = isMap(given)
      ? (given.items.map((p) => (isScalar(p.key) ? String(p.key.value) : undefined)).find(Boolean) ?? undefined)
      : Object.keys(given)[0];
    return first === undefined ? '' : `; write a list, one item per entry: \`- name: ${first}\` and its keys under it`;
  }
  if (typeof given !== 'string') return '';
  // A boolean written as text: YAML 1.2 reads yes/no/on/off, and anything quoted, as text.
  if (issue.code === 'invalid_type' && issue.expected === 'boolean') {
    if (/^(true|false)$/.test(given.trim())) return `; write ${given.trim()} without quotes`;
    if (/^(yes|y|on)$/i.test(given.trim())) return '; did you mean true?';
    if (/^(no|n|off)$/i.test(given.trim())) return '; did you mean false?';
  }
  // `pkgs.x` for an attribute of pkgs, or a flake reference for a flake output: the name alone.
  if ((key === 'package' || key === 'tools_attr' || key === 'env_attr') && /^pkgs\./.test(given.trim()))
    return `; write the attribute name without pkgs.: did you mean ${given.trim().slice(5)}?`;
  if (key === 'attr' && given.includes('#'))
    return `; write the attribute path without the flake reference: did you mean ${given.slice(given.indexOf('#') + 1)}?`;
  if (
    /^\s*\//.test(given) &&
    (issue.path.includes('config') ||
      ['file', 'module', 'pipeline', 'runs', 'search_dir', 'in', 'all_in'].includes(key))
  )
    return '; write it relative to the repository root (where flake.nix is), without the leading /';
  if ((key === 'unit' || key === 'runner_unit') && !given.endsWith('.service')) {
    const other = /^(.*)\.(timer|socket|path|target|mount)$/.exec(given);
    if (other)
      return `; a consumer names the service that runs, not its .${other[2]}: did you mean ${other[1]}.service?${other[2] === 'timer' ? ' (started_by_timer: true says a timer starts it)' : ''}`;
    if (/^[A-Za-z0-9:_.@\\-]+$/.test(given)) return `; did you mean ${given}.service?`;
  }
  // An entry written with a space, or as a store path: name-version as Nix names the package.
  if (issue.path[0] === 'expected_tools' && issue.path[1] === 'entries') {
    const store = /^\/nix\/store\/[0-9a-z]{32}-([^/]+)/.exec(given.trim());
    const words = given.trim().split(/\s+/);
    // Two entries with the comma between them missing (`[git-2.47.2 rsync-3.4.1, …]`).
    if (!store && words.length > 1 && words.every((w) => /-[^A-Za-z]/.test(w)))
      return `; a comma is missing between entries: did you mean ${words.join(', ')}?`;
    const fixed = store ? store[1] : words.join('-');
    if (fixed !== given && /^[^\s/]+$/.test(fixed)) return `; did you mean ${fixed}?`;
  }
  return '';
}

function issueProblems(doc: Document, lines: LineCounter, all: readonly z.core.$ZodIssue[]): SpecProblem[] {
  const out: SpecProblem[] = [];
  const issues = all.flatMap((i) => unionBranchIssues(i, doc.getIn(i.path as unknown[])) ?? [i]);
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
    // count and at_least: the key that is one too many, or both missing.
    if (issue.code === 'custom' && issue.path[0] === 'proofs' && issue.path.length === 2) {
      const both = doc.hasIn([...issue.path, 'count']);
      const keys = both ? [...issue.path, 'at_least'] : issue.path;
      out.push({
        ...positionOf(doc, lines, keys),
        at: pathText(keys),
        message: both
          ? 'give count (exactly that many hits) or at_least (that many or more), not both: remove one'
          : 'missing count or at_least; give count: N (exactly N hits) or at_least: N (N or more)',
      });
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
    else if (!missing) message += fixFor(issue, given);
    out.push({
      ...positionOf(doc, lines, issue.path),
      at: pathText(issue.path),
      message: missing ? `missing; ${message}` : message,
    });
  }
  // A key misspelt is also a key missing: said once, at the misspelt key (its "did you mean" names the missing one).
  const lastKey = (at: string) => /[^.[\]]+$/.exec(at)?.[0] ?? at;
  const sibling = (at: string, key: string) => at.replace(/[^.[\]]+$/, key);
  const misspelt = (missing: SpecProblem) =>
    out.some(
      (q) =>
        q.message.startsWith('unknown key') &&
        sibling(q.at, lastKey(missing.at)) === missing.at &&
        q.message.endsWith(`did you mean ${lastKey(missing.at)}?`),
    );
  return out.filter((p) => !p.message.startsWith('missing; ') || !misspelt(p));
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
    if (path[2] === 'job_shell') return SPEC_KEYS.job_shell.join(', ');
    const kind = (doc.getIn(['consumers', index, 'kind']) as string | undefined) ?? '';
    return SPEC_KEYS.consumers[kind]?.join(', ') ?? 'name, kind, …';
  }
  const keys = (SPEC_KEYS as unknown as Record<string, string[] | undefined>)[String(top)];
  return keys ? keys.join(', ') : 'see the README (Writing a spec)';
}

const nearText = (given: string, names: readonly string[]): string => {
  const near = closestName(given, names);
  return near && near !== given ? `; did you mean ${near}?` : '';
};

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
        `consumer name ${JSON.stringify(c.name)} is used twice (first at consumers[${names.get(c.name)}]); give each consumer its own name`,
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
            `host ${JSON.stringify(h)} is not in the spec's hosts (${known.join(', ')})${nearText(h, known)}`,
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
        `no proof has id ${JSON.stringify(p.same_line_as)}${ids.size ? ` (ids: ${[...ids.keys()].join(', ')})${nearText(p.same_line_as, [...ids.keys()])}` : '; no proof has an id yet: give the one it means `id: NAME`'}`,
      );
    else if (target === i) push(['proofs', i, 'same_line_as'], 'a proof cannot refer to itself');
    if (p.all_in !== undefined && p.in_shared_file) push(['proofs', i], 'give all_in or in_shared_file, not both');
  });
  if (spec.checks && new Set(spec.checks).size !== spec.checks.length) push(['checks'], 'a check is listed twice');
  return out;
}

type JobShellSpec = NonNullable<Extract<SpecFile['consumers'][number], { kind: 'runner-service' }>['job_shell']>;

/** The spec's job_shell map as the claim's source (the schema guarantees exactly one of env, file+key, arg). */
function jobShellPlace(j: { env?: string; file?: string; key?: string; arg?: string }): JobShellPlace {
  if (j.env !== undefined) return { from: 'env', name: j.env };
  if (j.file !== undefined) return { from: 'file', file: j.file, key: j.key ?? '' };
  return { from: 'arg', name: j.arg ?? '' };
}

function jobShellSource(j: JobShellSpec): JobShellSource {
  return {
    ...jobShellPlace(j),
    ...(j.default !== undefined ? { default: j.default } : {}),
    ...(j.overridden_by?.length ? { overriddenBy: j.overridden_by.map(jobShellPlace) } : {}),
  };
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
    // A system or user service: the same unit keys (src/systemd follows both alike).
    const timedUnit = <K extends 'systemd-service' | 'systemd-user-service'>(u: {
      kind: K;
      name: string;
      unit: string;
      started_by_timer?: boolean;
      module_must_not_contain?: string[];
    }) => ({
      kind: u.kind,
      name: u.name,
      unit: u.unit,
      startedByTimer: u.started_by_timer ?? false,
      ...optional,
      moduleMustNotContain: u.module_must_not_contain ?? [],
    });
    switch (c.kind) {
      case 'systemd-service':
        return {
          ...timedUnit(c),
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
          ...(c.job_shell !== undefined ? { jobShell: jobShellSource(c.job_shell) } : {}),
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
          includesPackage: c.includes_package ?? false,
          requiredProgramsFrom: c.required_programs_from ?? 'anywhere',
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
      case 'systemd-user-service':
        return timedUnit(c);
      case 'dev-shell':
        return { kind: c.kind, name: c.name, attr: c.attr, toolsOnPath: c.tools_on_path ?? true };
      case 'module-option':
        return { kind: c.kind, name: c.name, option: c.option, value: c.value ?? 'tools', ...optional };
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

/**
 * The dotted key path of a line of YAML text that does not parse, read from its indentation (block style only):
 * `consumers[1].unit` for `    unit: x` under the second item of `consumers:`. A line indented with a tab is taken
 * as meant at its previous key's column. '' where no key can be told.
 */
export function keyPathOfLine(text: string, line: number): string {
  const all = text.split('\n');
  const shape = (l: string) => {
    const m = /^([ \t]*)((?:- +)*)([A-Za-z_][A-Za-z0-9_-]*)?\s*(:(?:\s|$))?/.exec(l)!;
    return {
      lead: m[1].length,
      dash: m[2].length > 0,
      col: m[1].length + m[2].length,
      key: m[4] ? m[3] : undefined,
      blank: /^\s*(#.*)?$/.test(l),
      tab: m[1].includes('\t'),
    };
  };
  const lines = all.map(shape);
  const at = lines[line - 1];
  if (!at) return '';
  if (at.key === undefined) {
    // A line without a key (a list item, a scalar): the key that holds it.
    let up = line - 2;
    while (up >= 0 && (lines[up].blank || lines[up].key === undefined || lines[up].col >= at.col)) up--;
    return up >= 0 ? keyPathOfLine(text, up + 1) : '';
  }
  const parts = [at.key];
  let cur = line - 1;
  let col = at.col;
  // An indentation error one column off its previous key is taken as meant at that key's column, like a tab.
  const prevKey = (() => {
    let p = cur - 1;
    while (p >= 0 && (lines[p].blank || lines[p].key === undefined)) p--;
    return p;
  })();
  if (!at.tab && !at.dash && prevKey >= 0 && Math.abs(lines[prevKey].col - at.col) === 1) {
    col = lines[prevKey].col;
    cur = prevKey + 1;
  }
  if (at.tab) {
    let prev = cur - 1;
    while (prev >= 0 && (lines[prev].blank || lines[prev].key === undefined || lines[prev].tab)) prev--;
    if (prev < 0) return at.key;
    col = lines[prev].col;
    cur = prev + 1; // as if it came right after its previous key, at that key's column
  }
  while (col > 0) {
    // Up to the line that holds this one: a map key left of it, or the start of its list item.
    let j = cur - 1;
    while (j >= 0 && (lines[j].blank || lines[j].col > col || (lines[j].col === col && !lines[j].dash))) j--;
    const here = cur < lines.length && lines[cur] === at && at.dash && at.col === col ? cur : -1;
    const item = here >= 0 ? here : j >= 0 && lines[j].dash && lines[j].col === col ? j : -1;
    if (item >= 0) {
      // The list item's dash column; its parent is the key at or left of that column.
      const dashCol = lines[item].lead;
      let p = item - 1;
      while (p >= 0 && (lines[p].blank || lines[p].col > dashCol || (lines[p].dash && lines[p].lead === dashCol))) p--;
      if (p < 0 || lines[p].key === undefined) return parts.join('.');
      const index = lines.slice(p + 1, item + 1).filter((l) => l.dash && l.lead === dashCol).length - 1;
      parts.unshift(`${lines[p].key}[${index}]`);
      cur = p;
      col = lines[p].col;
      continue;
    }
    if (j < 0 || lines[j].key === undefined) break;
    parts.unshift(lines[j].key!);
    cur = j;
    col = lines[j].col;
  }
  return parts.join('.');
}

/** What to do about the YAML syntax errors people make most (by the yaml package's error code). */
const YAML_HINTS: Record<string, string> = {
  BAD_INDENT: 'indent this line like the other keys of its map (with spaces)',
  MULTILINE_IMPLICIT_KEY: 'check the indentation of this line and the one before it, and that each key ends with `: `',
  BLOCK_AS_IMPLICIT_KEY: 'check the indentation: a `- item` list cannot be a key; items line up under their key',
  UNEXPECTED_TOKEN: 'quote a value that holds `: `, ` #`, or starts with one of [ ] { } * & ! | > % @ `',
  BAD_SCALAR_START: 'quote a value that starts with one of [ ] { } * & ! | > % @ `',
};

const yamlHint = (code: string, message: string): string | undefined => {
  if (/^Missing closing|quote/i.test(message)) return '; close the [ list ], { map } or "quoted text" this line opens';
  if (/^Unexpected , /.test(message)) return '; two commas with no item between them: remove one';
  if (/without - indicator/.test(message)) return '; indent this line like the other keys of its map (with spaces)';
  return YAML_HINTS[code] ? `; ${YAML_HINTS[code]}` : undefined;
};

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
    let pos = lines.linePos(first.pos[0]);
    // An unclosed quote is noticed at the end of the text: point at the line that opens it.
    const quote = /^Missing closing (["'])quote/.exec(first.message)?.[1];
    if (quote) {
      const opening = text.split('\n').findIndex((l) => l.split(quote).length % 2 === 0);
      if (opening >= 0) pos = { line: opening + 1, col: (text.split('\n')[opening].indexOf(quote) ?? 0) + 1 };
    }
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more after it)` : '';
    const key = /^\s*([^:\s#][^:#]*?)\s*:/.exec(text.slice(first.pos[0]).split('\n')[0] ?? '')?.[1];
    const lineText = text.split('\n')[pos.line - 1] ?? '';
    const tab = /^[ ]*\t/.test(lineText) || first.code === 'TAB_AS_INDENT';
    const words =
      first.code === 'DUPLICATE_KEY'
        ? `the key ${key ? JSON.stringify(key) : ''} appears twice in one map`.replace('  ', ' ')
        : first.code === 'MULTIPLE_DOCS'
          ? 'a spec is one YAML document; this file has another after `---`'
          : tab
            ? 'a tab indents this line; YAML indents with spaces only: replace the tab with spaces'
            : `${first.message.split('\n')[0]}${yamlHint(first.code, first.message) ?? ''}`;
    throw new SpecError(file, [
      {
        line: pos.line,
        column: pos.col,
        at: keyPathOfLine(text, pos.line),
        message: `not valid YAML: ${words}${more}`,
      },
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

/**
 * `FILE:LINE:COLUMN: KEY` for a key of a spec text (or its nearest ancestor's line), the way spec problems name
 * their place; for messages about a value the spec gave.
 */
export function specKeyPlace(text: string, file: string, ...choices: (readonly PropertyKey[])[]): string {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  // The first of the choices the text has (a host's own config, else host_defaults.config).
  const keys = choices.find((k) => doc.hasIn(k as unknown[])) ?? choices[0];
  const { line, column } = positionOf(doc, lines, keys);
  return `${file}:${line}:${column}: ${pathText(keys)}`;
}

/** The seed claim, from the built-in spec text. */
export const builtinClaim = (): Claim => parseSpec(BUILTIN_SPEC_YAML, 'built-in');
