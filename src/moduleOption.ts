// A NixOS module option as nixpkgs' module system (lib/modules.nix) gives it: the option's value and the definitions
// that make it, for a `module-option` consumer (its value must be the shared tool list or the shared package).
//
// What the module system reads, in its order (lib/modules.nix, the vendored lib of ../shared/vendor/README.md), and
// what this module does with each:
// - the option declaration (`options.<path>` = mkOption, `_type = "option"`): looked up segment by segment in the
//   host's `options`; a missing segment, or a path that ends on a set of options, is "cannot follow" (with the names
//   there, for a did-you-mean); its `declarationPositions` (file, line) locate the default;
// - the definitions (`config.<path> = …` in any module, mkIf/mkMerge discharged, mkOverride/mkDefault/mkForce
//   filtered by priority, mkOrder sorted; the declaration's `default` is a definition at mkOptionDefault's priority
//   1500): read as `definitionsWithLocations` (evalOptionValue's defsFinal: the ones in effect, with their files);
//   a definition's line is read from its file with the Nix parser (src/nixSyntax), as `<path> =` under `config` or at
//   the top of a module; the default's line is the declaration's `default =`;
// - the merged value (`options.<path>.value`, the same as `config.<path>`): each element's identity is its store path
//   (`outPath`: the output selected, `.bin` differs from `.out`) and `meta.priority` (hiPrio/lowPrio keep the path);
//   `drvPath` is shown. A value that is not a list of derivations (tools) or a derivation (package) is "cannot
//   follow", never a pass.
// - the shared list `pkgs.<tools_attr>` / package `pkgs.<package>` of the same host's pkgs, read the same way.
// Both modes evaluate (an option's value is an evaluation fact: nothing built holds it); nothing is built.
// Outside the contract: option types whose merge changes the derivations (a coercedTo, an attrsOf of packages) are
// judged by the merged value only; a definition made by a module outside the flake source is named by its file alone.
import { closestName } from './closest.js';
import { nixList } from './context.js';
import { nixString } from './nix/client.js';

/** One element of a value as the evaluator gives it. */
export interface OptionItem {
  /** A derivation (`type == "derivation"`). */
  drv: boolean;
  name: string;
  drvPath?: string;
  out?: string;
  priority?: number;
  /** builtins.typeOf, for what is not a derivation. */
  type?: string;
}

/** A value: a list of items, or one item. */
export type OptionValue = { list: OptionItem[] } | { one: OptionItem };

export interface OptionDefinition {
  /** The file that makes it (a store path of the flake source for the flake's own modules). */
  file: string;
  value: OptionValue;
}

/** What one evaluation of a host answers (OPTION_FACTS_EXPR). */
export type OptionAnswer =
  | { found: false; missing: string; depth: number; names: string[] }
  | { found: true; isOption: false; names: string[] }
  | {
      found: true;
      isOption: true;
      value: OptionValue;
      highestPrio: number | null;
      defs: OptionDefinition[];
      decls: { file: string; line: number | null }[];
      /** pkgs.<tools_attr> or pkgs.<package> of the host, null when missing. */
      shared: OptionValue | null;
    };

/** Nix: applied to nixosConfigurations.HOST; the option path and attribute names are strings, never Nix code. */
export function optionFactsExpr(option: string, sharedAttr: string): string {
  return `h: let
  isOpt = x: builtins.isAttrs x && (x._type or null) == "option";
  walk = n: x: ps: if ps == [ ] then { ok = true; v = x; } else let p = builtins.head ps; in
    if builtins.isAttrs x && !(isOpt x) && builtins.hasAttr p x then walk (n + 1) (builtins.getAttr p x) (builtins.tail ps)
    else { ok = false; depth = n; missing = p; names = if builtins.isAttrs x && !(isOpt x) then builtins.attrNames x else [ ]; };
  item = p: if builtins.isAttrs p && (p.type or null) == "derivation"
    then { drv = true; name = p.name or "<unnamed>"; drvPath = p.drvPath; out = p.outPath; priority = p.meta.priority or 5; }
    else { drv = false; type = builtins.typeOf p; name = if builtins.isString p || builtins.isPath p then toString p else builtins.typeOf p; };
  shape = v: if builtins.isList v then { list = map item v; } else { one = item v; };
  r = walk 0 h.options ${nixList(option.split('.'))};
  o = r.v;
  shared = h.pkgs.${nixString(sharedAttr)} or null;
in if !r.ok then { found = false; inherit (r) missing depth names; }
  else if !(isOpt o) then { found = true; isOption = false; names = if builtins.isAttrs o then builtins.attrNames o else [ ]; }
  else {
    found = true; isOption = true;
    value = shape o.value;
    highestPrio = o.highestPrio or null;
    defs = map (d: { file = toString d.file; value = shape d.value; }) (o.definitionsWithLocations or [ ]);
    decls = map (d: { file = toString d.file; line = d.line or null; }) (o.declarationPositions or [ ]);
    shared = if shared == null then null else shape shared;
  }`;
}

/**
 * Nix: applied to nixosConfigurations.HOST, whether `options.<option>` is an option (names only, nothing forced but
 * the option tree): `{ found = false; missing; depth; names; }`, or `{ found = true; isOption; names; }`.
 */
export function optionLookupExpr(option: string): string {
  return `h: let
  isOpt = x: builtins.isAttrs x && (x._type or null) == "option";
  walk = n: x: ps: if ps == [ ] then { ok = true; v = x; } else let p = builtins.head ps; in
    if builtins.isAttrs x && !(isOpt x) && builtins.hasAttr p x then walk (n + 1) (builtins.getAttr p x) (builtins.tail ps)
    else { ok = false; depth = n; missing = p; names = if builtins.isAttrs x && !(isOpt x) then builtins.attrNames x else [ ]; };
  r = walk 0 h.options ${nixList(option.split('.'))};
in if !r.ok then { found = false; inherit (r) missing depth names; }
  else { found = true; isOption = isOpt r.v; names = if builtins.isAttrs r.v && !(isOpt r.v) then builtins.attrNames r.v else [ ]; }`;
}

/** A definition located: repository file and line (0: the file only). */
export interface Located {
  file: string;
  line: number;
  /** The option's default (the declaration's `default =`). */
  isDefault: boolean;
}

export interface OptionJudgement {
  /** Proven differences (the check fails). */
  problems: string[];
  /** Outside the contract (the check is an error, never a pass). */
  cannotFollow: string[];
  evidence: string[];
  /** Lines with file:line, for the evidence's hits. */
  hits: { file: string; line: number; text: string }[];
}

const idOf = (i: OptionItem): string => `${i.out ?? ''}@${i.priority ?? 5}`;
const shown = (i: OptionItem): string =>
  i.priority !== undefined && i.priority !== 5 ? `${i.name} (meta.priority ${i.priority})` : i.name;
const listOf = (v: OptionValue): OptionItem[] => ('list' in v ? v.list : [v.one]);
const showValue = (v: OptionValue): string => ('list' in v ? `[ ${v.list.map(shown).join(' ')} ]` : shown(v.one));

/** What a list differs in from the shared one: missing and extra elements by name, else the order. */
export function listDifference(got: readonly OptionItem[], want: readonly OptionItem[]): string[] {
  const wantIds = want.map(idOf);
  const gotIds = got.map(idOf);
  const out: string[] = [];
  const missing = want.filter((w) => !gotIds.includes(idOf(w)));
  const extra = got.filter((g) => !wantIds.includes(idOf(g)));
  if (missing.length) out.push(`missing ${missing.map(shown).join(', ')}`);
  if (extra.length) {
    // An extra element of the same name as a missing one is another version (or output) of it: said so.
    const other = extra.map((e) => {
      const same = missing.find((m) => m.name.replace(/-\d.*$/, '') === e.name.replace(/-\d.*$/, ''));
      return same ? `${shown(e)} (instead of ${shown(same)}: ${e.out ?? '?'})` : `${shown(e)} (${e.out ?? '?'})`;
    });
    out.push(`extra ${other.join(', ')}`);
  }
  const dupes = got.filter((g, i) => gotIds.indexOf(idOf(g)) !== i);
  if (dupes.length) out.push(`twice: ${dupes.map(shown).join(', ')}`);
  if (!out.length && gotIds.join(' ') !== wantIds.join(' ')) out.push('the same derivations in another order');
  return out;
}

/**
 * Judges one host's answer: the option exists and is an option; its value is the shared list (tools) or package
 * (package), compared by store path and priority; each definition in effect named with its file:line.
 */
export function judgeOption(input: {
  host: string;
  option: string;
  value: 'tools' | 'package';
  /** `pkgs.<attr>`, for messages. */
  sharedName: string;
  answer: OptionAnswer;
  /** A definition's file as the repository names it, with its line (undefined: outside the flake source). */
  locate: (file: string, isDefault: boolean) => Located | undefined;
}): OptionJudgement {
  const { host, option, value, sharedName, answer } = input;
  const out: OptionJudgement = { problems: [], cannotFollow: [], evidence: [], hits: [] };
  if (!answer.found) {
    const at = ['options', ...option.split('.').slice(0, answer.depth)].join('.');
    const near = closestName(answer.missing, answer.names);
    out.cannotFollow.push(
      `cannot follow: no option ${option} at nixosConfigurations.${host}.${at} (${JSON.stringify(answer.missing)} is not there${near ? `; did you mean ${near}?` : ''}; there: ${answer.names.slice(0, 12).join(', ') || 'nothing'})`,
    );
    return out;
  }
  if (!answer.isOption) {
    out.cannotFollow.push(
      `cannot follow: ${option} on ${host} is a set of options, not an option (there: ${answer.names.slice(0, 12).join(', ') || 'nothing'})`,
    );
    return out;
  }
  if (answer.shared === null) {
    out.cannotFollow.push(`cannot follow: ${sharedName} does not exist on ${host}`);
    return out;
  }
  const wantShape = value === 'tools' ? 'a list of derivations' : 'a derivation';
  const wellFormed = (v: OptionValue): string | undefined => {
    if (value === 'tools' && !('list' in v))
      return `a ${v.one.drv ? 'derivation' : (v.one.type ?? 'value')}, not a list`;
    if (value === 'package' && !('one' in v)) return 'a list, not a derivation';
    const bad = listOf(v).findIndex((i) => !i.drv);
    if (bad >= 0)
      return `element ${bad + 1} is a ${listOf(v)[bad].type ?? 'value'} (${listOf(v)[bad].name}), not a derivation`;
    return undefined;
  };
  const sharedBad = wellFormed(answer.shared);
  if (sharedBad) {
    out.cannotFollow.push(`cannot follow: ${sharedName} on ${host} is not ${wantShape}: ${sharedBad}`);
    return out;
  }
  const located = answer.defs.map((d) => ({
    def: d,
    at: input.locate(d.file, answer.highestPrio === 1500),
  }));
  const where = (l: (typeof located)[number]): string =>
    l.at ? `${l.at.file}${l.at.line ? `:${l.at.line}` : ''}${l.at.isDefault ? ' (the default)' : ''}` : l.def.file;
  for (const l of located) {
    // Located: a hit (file:line); else a line of evidence naming the file.
    if (l.at)
      out.hits.push({
        file: l.at.file,
        line: l.at.line,
        text: `${host}: ${option}${l.at.isDefault ? ' (the default)' : ''} = ${showValue(l.def.value)}`,
      });
    else out.evidence.push(`${host}: ${option} defined in ${l.def.file}: ${showValue(l.def.value)}`);
  }
  const valueBad = wellFormed(answer.value);
  if (valueBad) {
    out.cannotFollow.push(
      `cannot follow: the value of ${option} on ${host} is not ${wantShape}: ${valueBad} (defined at ${located.map(where).join(', ') || 'no file'})`,
    );
    return out;
  }
  const got = listOf(answer.value);
  const want = listOf(answer.shared);
  const diff = listDifference(got, want);
  if (!diff.length) {
    out.evidence.push(
      `${host}: ${option} is ${sharedName} (${want.length} derivation${want.length === 1 ? '' : 's'}, same store paths and order)`,
    );
    return out;
  }
  // The definitions that differ from the shared value name the file:line to fix.
  const differing = located.filter((l) => listDifference(listOf(l.def.value), want).length > 0);
  const blame = differing.length ? differing : located;
  out.problems.push(`${diff.join('; ')} (defined at ${blame.map(where).join(', ') || 'no file of the flake'})`);
  return out;
}

/** The lines of `text` that define `option` (`a.b = …`, `a = { b = …; }`, under `config` or at a module's top). */
export function definitionLines(
  definitions: readonly { attrPath: string[]; enclosing: string[]; line: number; kind: string; scope: string }[],
  option: string,
): number[] {
  const want = option.split('.');
  const lines = definitions
    .filter((d) => d.kind === 'binding' && (d.scope === 'attrset' || d.scope === 'rec-attrset'))
    .filter((d) => {
      const full = [...d.enclosing, ...d.attrPath];
      const rest = full[0] === 'config' ? full.slice(1) : full;
      return rest.length === want.length && rest.every((s, i) => s === want[i]);
    })
    .map((d) => d.line);
  return [...new Set(lines)].sort((a, b) => a - b);
}
