// Settings over the spec: flag > PLUGIN_* > spec > built-in. The settings that
// name a part of the claim replace that part; one that names a consumer the spec
// does not have is an error, not silently ignored.
import { SettingsError } from '../errors.js';
import type { CheckId, Deviation } from '../verdict.js';
import { builtinClaim } from './load.js';
import { expandHostUnits } from './hostUnits.js';
import { consumersOf, type Claim, type Consumer, type DroneStepConsumer, type ServiceConsumer } from './types.js';

/** The claim settings a user gave (flag or PLUGIN_*), parsed, by setting name. */
export interface ClaimSettings {
  hosts?: string[];
  checks?: CheckId[];
  package?: string;
  tools_attr?: string;
  pyenv_attr?: string;
  packages_file?: string;
  sweep?: string;
  sweep_file?: string;
  runner_service?: string;
  runner_file?: string;
  drone_file?: string;
  drone_script?: string;
  host_config?: string;
  nix_dir?: string;
  expected_tools?: string[];
  required_bins?: string[];
}

export const CLAIM_SETTING_NAMES = [
  'hosts',
  'checks',
  'package',
  'tools_attr',
  'pyenv_attr',
  'packages_file',
  'sweep',
  'sweep_file',
  'runner_service',
  'runner_file',
  'drone_file',
  'drone_script',
  'host_config',
  'nix_dir',
  'expected_tools',
  'required_bins',
] as const satisfies readonly (keyof ClaimSettings)[];

const envOf = (name: string): string => `PLUGIN_${name.toUpperCase()}`;

/** The sweep of the seed claim: the (first) timer-started service consumer. */
export const sweepConsumer = (claim: Pick<Claim, 'consumers'>): ServiceConsumer | undefined =>
  consumersOf(claim, 'systemd-service').find((c) => c.startedByTimer);
export const droneConsumer = (claim: Pick<Claim, 'consumers'>): DroneStepConsumer | undefined =>
  consumersOf(claim, 'drone-step')[0];

/** `labels`: how each given setting is named in errors (its flag when it came from one), else its PLUGIN_* variable. */
export function applySettings(
  claim: Claim,
  given: ClaimSettings,
  labels: Partial<Record<keyof ClaimSettings, string>> = {},
): Claim {
  const env = (name: keyof ClaimSettings): string => labels[name] ?? envOf(name);
  const problems: string[] = [];
  const out: Claim = structuredClone(claim);
  const template = given.host_config ?? out.hostConfig;
  if (given.host_config !== undefined) out.hostConfig = given.host_config;
  if (given.hosts) {
    out.hosts = given.hosts.map((name) => {
      const known = claim.hosts.find((h) => h.name === name);
      if (known) return { ...known };
      if (!template)
        problems.push(
          `${env('hosts')}: host ${JSON.stringify(name)} is not in the spec (${claim.spec}) and it has no host_defaults.config; set ${env('hosts').startsWith('--') ? '--host-config' : envOf('host_config')} or add the host to the spec`,
        );
      return { name, config: template.replaceAll('{host}', name), requiredPrograms: [...out.requiredPrograms] };
    });
  }
  if (given.host_config !== undefined)
    for (const h of out.hosts) h.config = given.host_config.replaceAll('{host}', h.name);
  if (given.required_bins) {
    out.requiredPrograms = [...given.required_bins];
    for (const h of out.hosts) h.requiredPrograms = [...given.required_bins];
  }
  if (given.checks) out.checks = [...given.checks];
  if (given.package !== undefined) {
    // The program follows the package when the spec names them alike.
    if (out.shared.program === out.shared.package) out.shared.program = given.package;
    out.shared.package = given.package;
  }
  if (given.tools_attr !== undefined) out.shared.toolsAttr = given.tools_attr;
  if (given.pyenv_attr !== undefined) out.shared.envAttr = given.pyenv_attr;
  if (given.packages_file !== undefined) out.shared.file = given.packages_file;
  if (given.expected_tools) out.expectedTools.entries = [...given.expected_tools];
  if (given.nix_dir !== undefined) out.searchDir = given.nix_dir;

  const needs = <C extends Consumer>(
    found: C | undefined,
    names: (keyof ClaimSettings)[],
    what: string,
  ): C | undefined => {
    const set = names.filter((n) => given[n] !== undefined);
    if (set.length && !found)
      problems.push(
        `${set.map(env).join(', ')}: the spec (${claim.spec}) has no ${what} consumer for ${set.length > 1 ? 'them' : 'it'} to change; edit the spec instead`,
      );
    return set.length ? found : undefined;
  };
  const sweep = needs(sweepConsumer(out), ['sweep', 'sweep_file'], 'systemd-service (started_by_timer: true)');
  if (sweep) {
    if (given.sweep !== undefined) sweep.unit = `${given.sweep}.service`;
    if (given.sweep_file !== undefined) sweep.module = given.sweep_file;
  }
  const drone = needs(
    droneConsumer(out),
    ['runner_service', 'runner_file', 'drone_file', 'drone_script'],
    'drone-step',
  );
  if (drone) {
    if (given.runner_service !== undefined) drone.runnerUnit = `${given.runner_service}.service`;
    if (given.runner_file !== undefined) drone.module = given.runner_file;
    if (given.drone_file !== undefined) drone.pipeline = given.drone_file;
    if (given.drone_script !== undefined) drone.runs = given.drone_script;
  }
  if (out.hosts.length > 1 && given.host_config !== undefined && !given.host_config.includes('{host}')) {
    problems.push(
      `${env('host_config')}: got ${JSON.stringify(given.host_config)}; expected a path containing {host} when several hosts are verified`,
    );
  }
  if (problems.length) throw new SettingsError(`invalid settings:\n  ${problems.join('\n  ')}`);
  const givenNames = CLAIM_SETTING_NAMES.filter((n) => given[n] !== undefined);
  if (givenNames.length) out.settingLabels = Object.fromEntries(givenNames.map((n) => [n, env(n)]));
  // `{host}` in a unit: one consumer per host of the run (./hostUnits.ts).
  return expandHostUnits(out);
}

/**
 * Where a part of the claim came from, for a message: the setting as the user gave it (`PLUGIN_PACKAGE`,
 * `--package`), else the spec key (`spec .nixenv-verify.yml shared.package`): never a PLUGIN_* variable the user did
 * not set.
 */
export function claimSource(
  claim: Pick<Claim, 'spec' | 'settingLabels'>,
  setting: keyof ClaimSettings | undefined,
  specKey: string,
): string {
  const label = setting === undefined ? undefined : claim.settingLabels?.[setting];
  return label ?? (claim.spec === 'built-in' ? `built-in spec ${specKey}` : `spec ${claim.spec} ${specKey}`);
}

// ---------------------------------------------------------------------------
// What differs from the seed claim, for every output to list.

/**
 * `a` minus `b` as multisets: each item of `b` cancels one equal item of `a`. A list that
 * repeats one entry in place of a dropped one is then `without` the dropped one and `with`
 * the repeat (a set comparison would see no change and the dropped item would go unchecked).
 */
export function multisetMinus(a: readonly string[], b: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const v of b) left.set(v, (left.get(v) ?? 0) + 1);
  const out: string[] = [];
  for (const v of a) {
    const n = left.get(v) ?? 0;
    if (n > 0) left.set(v, n - 1);
    else out.push(v);
  }
  return out;
}

function listChange(name: string, value: readonly string[], base: readonly string[]): Deviation | undefined {
  const removed = multisetMinus(base, value);
  const added = multisetMinus(value, base);
  if (removed.length === 0 && added.length === 0) return undefined;
  if (name === 'hosts')
    return { setting: name, value: value.join(','), default: base.join(','), label: `hosts=${value.join(',')}` };
  const again = (v: string): string => (base.includes(v) ? `${v} (again)` : v);
  const changes = [
    removed.length ? `without ${removed.join(', ')}` : '',
    added.length ? `with ${added.map(again).join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const label =
    base.length > 6
      ? `${name} (${value.length} of ${base.length}${changes ? `: ${changes}` : ''})`
      : `${name} ${changes}`;
  return { setting: name, value: value.join(','), default: base.join(','), label };
}

const scalar = (setting: string, value: string | undefined, base: string | undefined): Deviation | undefined =>
  value === base
    ? undefined
    : { setting, value: value ?? '(none)', default: base ?? '(none)', label: `${setting}=${value ?? '(none)'}` };

const consumerText = (c: Consumer): string => JSON.stringify(c);

/**
 * Every part of the claim that differs from the seed claim, named by the setting
 * that changes it where there is one (so a settings-only run reads as before), else
 * by the spec key.
 */
export function claimDeviations(claim: Claim, base: Claim = builtinClaim()): Deviation[] {
  const out: (Deviation | undefined)[] = [];
  out.push(
    listChange(
      'hosts',
      claim.hosts.map((h) => h.name),
      base.hosts.map((h) => h.name),
    ),
  );
  out.push(listChange('checks', claim.checks, base.checks));
  out.push(scalar('package', claim.shared.package, base.shared.package));
  if (claim.shared.program !== claim.shared.package || base.shared.program !== base.shared.package)
    out.push(scalar('shared.program', claim.shared.program, base.shared.program));
  out.push(scalar('tools_attr', claim.shared.toolsAttr, base.shared.toolsAttr));
  out.push(scalar('pyenv_attr', claim.shared.envAttr, base.shared.envAttr));
  out.push(scalar('packages_file', claim.shared.file, base.shared.file));
  out.push(listChange('expected_tools', claim.expectedTools.entries, base.expectedTools.entries));
  out.push(scalar('expected_tools.match', claim.expectedTools.match, base.expectedTools.match));
  out.push(scalar('nix_dir', claim.searchDir, base.searchDir));
  // Hosts by their own fields: config files and required programs.
  const baseHost = (name: string) =>
    base.hosts.find((h) => h.name === name) ?? {
      config: base.hostConfig.replaceAll('{host}', name),
      requiredPrograms: base.requiredPrograms,
    };
  const configs = claim.hosts.filter((h) => h.config !== baseHost(h.name).config);
  if (configs.length)
    out.push({
      setting: 'host_config',
      value: configs.map((h) => h.config).join(','),
      default: base.hostConfig,
      label: `host_config: ${configs.map((h) => `${h.name}=${h.config}`).join(', ')}`,
    });
  const programs = [...new Set(claim.hosts.map((h) => h.requiredPrograms.join(',')))];
  const basePrograms = base.requiredPrograms;
  const programChange = claim.hosts.some(
    (h) => listChange('x', h.requiredPrograms, baseHost(h.name).requiredPrograms) !== undefined,
  );
  if (programChange) {
    const flat =
      programs.length === 1
        ? listChange('required_bins', programs[0] ? programs[0].split(',') : [], basePrograms)
        : undefined;
    out.push(
      flat ?? {
        setting: 'required_bins',
        value: programs.join(' / '),
        default: basePrograms.join(','),
        label: `required_bins per host: ${claim.hosts.map((h) => `${h.name}=${h.requiredPrograms.join(',') || '(none)'}`).join('; ')}`,
      },
    );
  }
  // Consumers: the seed's two named ones by their settings, the rest as spec changes.
  const sweep = sweepConsumer(claim);
  const baseSweep = sweepConsumer(base);
  const drone = droneConsumer(claim);
  const baseDrone = droneConsumer(base);
  // The seed's own consumers (same name) changed in place are named by their settings; others are consumer changes.
  if (sweep && baseSweep && sweep.name === baseSweep.name) {
    out.push(scalar('sweep', sweep.unit.replace(/\.service$/, ''), baseSweep.unit.replace(/\.service$/, '')));
    out.push(scalar('sweep_file', sweep.module, baseSweep.module));
  }
  if (drone && baseDrone && drone.name === baseDrone.name) {
    out.push(
      scalar(
        'runner_service',
        drone.runnerUnit.replace(/\.service$/, ''),
        baseDrone.runnerUnit.replace(/\.service$/, ''),
      ),
    );
    out.push(scalar('runner_file', drone.module, baseDrone.module));
    out.push(scalar('drone_file', drone.pipeline, baseDrone.pipeline));
    out.push(scalar('drone_script', drone.runs, baseDrone.runs));
  }
  // Compare the rest with the settings-named fields folded back to the seed's.
  const normal = (c: Consumer, isSweep: boolean, isDrone: boolean): string => {
    if (isSweep && c.kind === 'systemd-service' && baseSweep)
      return consumerText({
        ...c,
        unit: baseSweep.unit,
        ...(baseSweep.module !== undefined ? { module: baseSweep.module } : {}),
      });
    if (isDrone && c.kind === 'drone-step' && baseDrone)
      return consumerText({
        ...c,
        runnerUnit: baseDrone.runnerUnit,
        pipeline: baseDrone.pipeline,
        runs: baseDrone.runs,
        ...(baseDrone.module !== undefined ? { module: baseDrone.module } : {}),
      });
    return consumerText(c);
  };
  const mine = claim.consumers.map((c) =>
    normal(c, c === sweep && c.name === baseSweep?.name, c === drone && c.name === baseDrone?.name),
  );
  const theirs = base.consumers.map((c) => normal(c, c === baseSweep, c === baseDrone));
  // As multisets: a consumer listed twice in place of a dropped one is both a removal and an addition.
  const goneText = multisetMinus(theirs, mine);
  const newText = multisetMinus(mine, theirs);
  const pick = (list: readonly Consumer[], texts: readonly string[], wanted: string[]): Consumer[] =>
    list.filter((_, i) => {
      const at = wanted.indexOf(texts[i]);
      if (at < 0) return false;
      wanted.splice(at, 1);
      return true;
    });
  const removed = pick(base.consumers, theirs, [...goneText]).map((c) => c.name);
  const added = pick(claim.consumers, mine, [...newText]).map(
    (c) => `${c.name} (${c.kind}${c.kind !== 'derivation' && c.hosts ? ` on ${c.hosts.join(', ')} only` : ''})`,
  );
  if (removed.length || added.length) {
    out.push({
      setting: 'consumers',
      value: claim.consumers.map((c) => c.name).join(','),
      default: base.consumers.map((c) => c.name).join(','),
      label: `consumers ${[removed.length ? `without ${removed.join(', ')}` : '', added.length ? `with ${added.join(', ')}` : ''].filter(Boolean).join(', ')}`,
    });
  }
  // Commands allowed after the program weaken "the service execs the program": said in every output.
  for (const c of claim.consumers) {
    if (c.kind !== 'systemd-service' || c.allowAfter === undefined) continue;
    const what = c.allowAfter === true ? 'any command' : c.allowAfter.join(', ');
    out.push({
      setting: 'allow_after',
      value: `${c.name}:${c.allowAfter === true ? 'true' : c.allowAfter.join(',')}`,
      default: 'none',
      label: `${c.name} may run ${what} after ${claim.shared.program} (allow_after; it runs ${claim.shared.program} without exec)`,
    });
  }
  const proofText = (c: Claim) => c.proofs.map((p) => JSON.stringify(p));
  const proofsMine = proofText(claim);
  const proofsBase = proofText(base);
  if (proofsMine.length !== proofsBase.length || proofsMine.some((p, i) => p !== proofsBase[i])) {
    out.push({
      setting: 'proofs',
      value: claim.proofs.map((p) => p.pattern).join(','),
      default: base.proofs.map((p) => p.pattern).join(','),
      label: `grep proofs: ${claim.proofs.map((p) => JSON.stringify(p.pattern)).join(', ') || 'none'}`,
    });
  }
  return out.filter((d): d is Deviation => d !== undefined);
}
