// Propagation's view of a host on the edited copy: a consumer's unit as systemd reads it (the same view the other
// checks read: `systemd.units.<name>.text`, else the service definition as NixOS writes it, NIXOS_SERVICE_OF), and
// whether the canary reaches the hosts' system packages through the shared wrapper.
import { swBinWinner } from '../buildEnv.js';
import { serviceUnit, type EvaluatedUnit, type ServiceDefinition, type SystemPackage } from '../context.js';
import { parseStorePath } from '../parse/storePath.js';
import type { Claim } from '../claim/types.js';
import type { OptionAnswer } from '../moduleOption.js';
import { environmentAssignments, parseUnit, type UnitFile } from '../systemd/unit.js';

export interface CopyUnitFacts {
  wrapper: { out: string } | null;
  systemPackages: SystemPackage[];
  units: Record<string, EvaluatedUnit | null>;
  services: Record<string, ServiceDefinition | null>;
}

export interface CopyUnitView {
  unit: UnitFile;
  /** Derivations the unit (and a service's inline script) refers to. */
  context: string[];
  /** A service definition whose script is not written as ExecStart: its inline shell text. */
  inlineScript?: string;
}

/**
 * The unit `unitName` as the edited copy evaluates it: its `systemd.units` text, else (a config without systemd.units)
 * the unit NixOS writes for its service definition (environment, including the PATH its `path` makes, then
 * serviceConfig).
 */
export function copyUnitView(facts: CopyUnitFacts, unitName: string): CopyUnitView | undefined {
  const evaluated = facts.units[unitName];
  if (evaluated) return { unit: parseUnit(evaluated.text), context: evaluated.context };
  const def = facts.services[unitName.replace(/\.service$/, '')];
  if (!def) return undefined;
  const { unit, inlineScript } = serviceUnit(def);
  return { unit, context: def.context, ...(inlineScript ? { inlineScript } : {}) };
}

/** The PATH the unit sets (its last `Environment=PATH=` assignment; NixOS writes the service `path` there). */
export function unitPath(view: CopyUnitView | undefined): string | undefined {
  if (!view) return undefined;
  return environmentAssignments(view.unit)
    .filter((a) => a.name === 'PATH')
    .pop()?.value;
}

/**
 * Whether a host's system packages may carry the tool list through the wrapper alone: the claim says the host configs
 * do not refer to the list (`config_references_tools: false`) and the host's required programs are the wrapper's
 * program only. A host that must have tools of the list on its system PATH (`required_programs: [make, git]`) runs them
 * from sw/bin, not through the wrapper: the list itself must be installed there.
 */
export function wrapperCarriesList(
  claim: Pick<Claim, 'hosts' | 'shared'>,
  host: string,
  configReferencesTools: boolean,
) {
  const required = claim.hosts.find((h) => h.name === host)?.requiredPrograms ?? [];
  return !configReferencesTools && required.every((p) => p === claim.shared.program);
}

/**
 * Whether the canary reaches the hosts' system packages. The tool list itself in environment.systemPackages does; so
 * does, when the wrapper may carry the list (wrapperCarriesList: the hosts install the wrapper), the shared wrapper
 * winning `sw/bin/<program>` (buildEnv rules) with the canary on its PATH: what the hosts run from their system PATH
 * then carries the edit.
 */
export function systemPackagesReached(
  facts: CopyUnitFacts,
  canaryName: string,
  program: string,
  wrapperHasCanary: boolean | undefined,
  throughWrapper: boolean,
): [boolean, string] {
  if (facts.systemPackages.some((p) => p.name === canaryName)) return [true, 'evaluated list'];
  if (!throughWrapper) return [false, 'evaluated list'];
  const winner = swBinWinner(facts.systemPackages, program)?.winner;
  const out = winner?.installed[0] ? parseStorePath(winner.installed[0])?.root : undefined;
  if (!winner || !out) return [false, `evaluated list; no system package provides ${program}`];
  if (out !== facts.wrapper?.out)
    return [
      false,
      `evaluated list; sw/bin/${program} from ${winner.name}, not ${facts.wrapper?.out ?? 'the shared wrapper'}`,
    ];
  return [
    wrapperHasCanary === true,
    `evaluated list; sw/bin/${program} from ${out}, the shared wrapper${wrapperHasCanary === true ? ', whose PATH has the canary' : ''}`,
  ];
}

/**
 * Whether the canary reaches a module option's value on the edited copy: `tools`, the canary's store path is an
 * element of the value; `package`, the value is the copy's shared wrapper and the wrapper's PATH has the canary. An
 * option that is missing or whose value is not what the spec says cannot be checked (single-source says why).
 */
export function moduleOptionReached(
  answer: OptionAnswer,
  value: 'tools' | 'package',
  canaryPath: string,
  wrapperOut: string | undefined,
  wrapperHasCanary: boolean | undefined,
): [boolean | undefined, string] {
  if (!answer.found || !answer.isOption) return [undefined, 'no such option on the copy'];
  const v = answer.value;
  if (value === 'tools') {
    if (!('list' in v)) return [undefined, 'its value is not a list'];
    const has = v.list.some((i) => i.out === canaryPath);
    return [has, `evaluated value: ${v.list.length} element${v.list.length === 1 ? '' : 's'}`];
  }
  if (!('one' in v) || !v.one.out) return [undefined, 'its value is not a derivation'];
  if (v.one.out !== wrapperOut)
    return [false, `evaluated value ${v.one.out}, not the shared wrapper ${wrapperOut ?? ''}`];
  return [wrapperHasCanary === true, `evaluated value ${v.one.out}, the shared wrapper`];
}
