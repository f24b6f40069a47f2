// host-parity's `same_definition` when a host config has no `environment.systemPackages` statement: the hosts'
// declarations as the module system records them (`options.environment.systemPackages.definitionsWithLocations`: every
// definition, after mkIf/mkMerge/mkOverride/mkOrder, with the file that makes it), so a shared module that gives every
// host the list counts, and a host whose definitions differ (another file, another value) is seen.
import type { RunContext } from '../context.js';
import { attrPath, nixGaveNoAnswer } from '../nix/client.js';
import type { PackagesLine } from './hostParity.js';
import { describeError, perHost } from './types.js';

/** One definition of environment.systemPackages: where (a file of the flake source, relative) and what. */
export interface PackagesDefinition {
  file: string;
  /** Package names, as shown. */
  names: string[];
  /** What is compared: each package's store path and meta.priority (hiPrio/lowPrio keep the store path). */
  ids: string[];
}

/** Applied to nixosConfigurations.HOST: the definitions with their files, null when the config has no `options`. */
export const DEFINITIONS_EXPR = `h: let
  defs = h.options.environment.systemPackages.definitionsWithLocations or null;
  id = p: if builtins.isAttrs p && p ? outPath then "\${p.outPath}@\${toString (p.meta.priority or 5)}" else toString p;
  name = p: if builtins.isAttrs p then p.name or "<unnamed>" else toString p;
  asList = v: if builtins.isList v then v else [ v ];
in if defs == null then null else map (d: { file = toString d.file; names = map name (asList d.value); ids = map id (asList d.value); }) defs`;

export interface DefinitionsJudgement {
  problems: string[];
  evidence: string[];
  /** Nix gave no answer for a host (not a verdict on the repository). */
  noAnswer: boolean;
  /** For the pass summary: the files every host's definitions come from. */
  files: string[];
}

const HOST_CONFIG = '(its host config)';

/**
 * Compares the hosts' environment.systemPackages definitions made by the flake's own files (a host's own config file
 * compared as "its host config"): same files, same packages (store path and priority), in the same order.
 */
export async function judgeByDefinitions(
  ctx: Pick<RunContext, 'nix' | 'hostConfigFile'>,
  hosts: string[],
  lines: PackagesLine[],
): Promise<DefinitionsJudgement> {
  const problems: string[] = [];
  const evidence: string[] = [];
  let noAnswer = false;
  const source = (await ctx.nix.flakeSource()).path;
  const results = await perHost(hosts, (host) =>
    ctx.nix.evalJson<{ file: string; names: string[]; ids: string[] }[] | null>(
      attrPath('nixosConfigurations', host),
      DEFINITIONS_EXPR,
    ),
  );
  const byHost = new Map<string, PackagesDefinition[]>();
  for (const r of results) {
    const line = lines.find((l) => l.host === r.host);
    const missing = `${line?.file ?? r.host}: no environment.systemPackages assignment`;
    if (!r.value) {
      if (r.error !== undefined && nixGaveNoAnswer(r.error)) noAnswer = true;
      if (r.error !== undefined) {
        problems.push(`${missing} (and its definitions do not evaluate)`);
        evidence.push(...describeError(r.host, r.error));
      } else problems.push(`${missing} (and the config has no definitionsWithLocations of it)`);
      continue;
    }
    const own = ctx.hostConfigFile(r.host);
    const defs = r.value
      .filter((d) => d.file.startsWith(`${source}/`))
      .map((d) => {
        const rel = d.file.slice(source.length + 1);
        return { file: rel === own ? HOST_CONFIG : rel, names: d.names, ids: d.ids };
      });
    if (defs.length === 0) {
      problems.push(`${missing}, and no file of the flake defines it`);
      continue;
    }
    byHost.set(r.host, defs);
    for (const d of defs)
      evidence.push(
        `${r.host}: environment.systemPackages defined in ${d.file === HOST_CONFIG ? own : d.file} (evaluated): ${d.names.join(' ') || '(empty)'}`,
      );
  }
  const key = (defs: PackagesDefinition[]): string =>
    JSON.stringify([...defs].sort((a, b) => a.file.localeCompare(b.file)).map((d) => [d.file, d.ids]));
  const [first, ...others] = [...byHost.keys()];
  for (const other of others) {
    const a = byHost.get(first)!;
    const b = byHost.get(other)!;
    if (key(a) === key(b)) continue;
    problems.push(`systemPackages definitions differ: ${first} vs ${other}`);
    for (const file of [...new Set([...a, ...b].map((d) => d.file))].sort()) {
      const da = a.filter((d) => d.file === file);
      const db = b.filter((d) => d.file === file);
      if (JSON.stringify(da.map((d) => d.ids)) === JSON.stringify(db.map((d) => d.ids))) continue;
      const show = (ds: PackagesDefinition[]): string =>
        ds.length ? ds.map((d) => d.names.join(' ') || '(empty)').join('; ') : '(no definition)';
      evidence.push(`- ${first}: ${file}: ${show(da)}`, `+ ${other}: ${file}: ${show(db)}`);
    }
  }
  const files = [...new Set([...byHost.values()].flat().map((d) => d.file))].sort();
  return { problems, evidence, noAnswer, files };
}
