// `nixenv-verify --check-spec`: a spec checked against the repository, without a
// verdict and without building anything. Every problem names the spec key, its
// file:line:column and the fix; settings given over the spec (PLUGIN_*) are not
// applied: the spec is checked as written.
//
// What it reads and what it concludes (each a problem, exit 2):
// - the spec text itself: everything parseSpec (load.ts) says, with "did you mean"
//   for unknown keys, kinds and enum values; no repository check runs after such
//   a problem;
// - expected_tools.entries[i]: written name-version as builtins.parseDrvName reads
//   it (the version starts at the first `-` not followed by a letter); no Nix;
// - shared.env_attr: a binding `NAME =` in shared.file's text (as the single-source
//   check reads it); no Nix;
// - repository files (fs, relative to the flake directory): shared.file, each host's
//   config, consumers' module / pipeline / runs, proofs' in / all_in, search_dir;
//   "did you mean" from the names in the same directory;
// - one `nix eval --json FLAKE#nixosConfigurations --apply …` (nothing is built):
//   hosts[i] exists in nixosConfigurations; on each host, pkgs.<shared.package> and
//   pkgs.<tools_attr> exist; each unit a consumer names
//   (unit, runner_unit) is in config.systemd.units or config.systemd.services;
//   shared.program is the package's bin/ name BY NAME (meta.mainProgram, else
//   pname, else the name without its version; for a buildEnv/symlinkJoin, the
//   same of each of its `paths`): a package whose bin/ holds other names passes
//   only a build, which --check-spec does not do; the message says so;
// - per derivation consumer, `nix eval FLAKE#<first segment> --apply` walking the
//   attribute path: the attribute exists (else the names at the level it stops); with
//   `image: true`, that it has a dockerTools `stream.conf` or `conf`.
// Not checked here (the verification does): that the files say what the claim says,
// that consumers reach the program, the proofs' counts.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { closestName } from '../closest.js';
import { NixCommandError } from '../errors.js';
import { nixString } from '../nix/client.js';
import { parseSpec, SpecError, type SpecProblem } from './load.js';
import { onHost, type Claim } from './types.js';

/** Where facts come from: `nix eval --json FLAKE#attr --apply fn` (a NixClient's evalJson). */
export interface SpecCheckDeps {
  flake: string;
  evalJson: <T>(attrPath: string, apply?: string) => Promise<T>;
}

export interface SpecCheckResult {
  problems: SpecProblem[];
  /** What was checked, for the success line. */
  checked: string[];
}

/** builtins.parseDrvName: the version starts at the first `-` that is not followed by a letter. */
export function parseDrvName(text: string): { name: string; version: string } {
  const m = /^(.*?)-([^A-Za-z].*)$/s.exec(text);
  return m ? { name: m[1], version: m[2] } : { name: text, version: '' };
}

interface HostAnswer {
  hosts: string[];
  facts: Record<
    string,
    {
      missingAttrs: string[];
      pkgNames: string[];
      package: { bins: string[] } | null;
      missingUnits: string[];
      serviceNames: string[];
    }
  >;
}

/** The expression applied to nixosConfigurations: names only, nothing is built or forced beyond names. */
export function specFactsExpr(claim: Claim): string {
  const list = (xs: readonly string[]) => `[ ${xs.map(nixString).join(' ')} ]`;
  const attrs = [claim.shared.package, claim.shared.toolsAttr];
  const units = [
    ...new Set(
      claim.consumers.flatMap((c) =>
        c.kind === 'systemd-service' || c.kind === 'runner-service'
          ? [c.unit]
          : c.kind === 'drone-step'
            ? [c.runnerUnit]
            : [],
      ),
    ),
  ];
  return `cfgs: let
  binOf = p: if !(builtins.isAttrs p) then [ ] else
    let n = p.meta.mainProgram or p.pname or (builtins.parseDrvName (p.name or "")).name; in [ n ];
  factsOf = h: let
    p = h.pkgs or { };
    svcs = h.config.systemd.services or { };
    us = h.config.systemd.units or { };
    missingAttrs = builtins.filter (a: !(p ? \${a})) ${list(attrs)};
    missingUnits = builtins.filter (u: !(us ? \${u}) && !(svcs ? \${builtins.head (builtins.match "(.*)[.]service" u)})) ${list(units)};
    pkg = p.${nixString(claim.shared.package)} or null;
  in {
    inherit missingAttrs missingUnits;
    pkgNames = if missingAttrs == [ ] then [ ] else builtins.attrNames p;
    package = if pkg == null then null else { bins = binOf pkg ++ builtins.concatMap binOf (pkg.paths or [ ]); };
    serviceNames = if missingUnits == [ ] then [ ] else builtins.attrNames svcs;
  };
in {
  hosts = builtins.attrNames cfgs;
  facts = builtins.listToAttrs (map (n: { name = n; value = factsOf cfgs.\${n}; }) (builtins.filter (n: cfgs ? \${n}) ${list(claim.hosts.map((h) => h.name))}));
}`;
}

const didYouMean = (given: string, names: readonly string[]): string => {
  const near = closestName(given, names);
  return near && near !== given ? `; did you mean ${near}?` : '';
};

/** A path's problem: missing (with the nearest name in its directory), or not the kind wanted. */
function fileProblem(flake: string, rel: string, want: 'file' | 'dir'): string | undefined {
  const full = path.join(flake, rel);
  if (existsSync(full)) {
    const st = statSync(full);
    if (want === 'file' && !st.isFile()) return `${JSON.stringify(rel)} is not a file of the repository`;
    if (want === 'dir' && !st.isDirectory()) return `${JSON.stringify(rel)} is not a directory of the repository`;
    return undefined;
  }
  // The deepest directory that exists, and the nearest name there.
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  let dir = flake;
  let i = 0;
  for (; i < parts.length - 1 && existsSync(path.join(dir, parts[i])); i++) dir = path.join(dir, parts[i]);
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => !n.startsWith('.git'));
  } catch {
    /* not a directory */
  }
  const near = closestName(parts[i] ?? '', names);
  const suggestion = near ? [...parts.slice(0, i), near, ...parts.slice(i + 1)].join('/') : undefined;
  return `${JSON.stringify(rel)} does not exist in the repository${suggestion ? `; did you mean ${suggestion}?` : ` (${path.relative(flake, dir) || '.'}/ has: ${names.slice(0, 12).join(', ') || 'nothing'})`}`;
}

/** Checks spec text (named `file`) against the repository at deps.flake. */
export async function checkSpec(text: string, file: string, deps: SpecCheckDeps): Promise<SpecCheckResult> {
  let claim: Claim;
  try {
    claim = parseSpec(text, file);
  } catch (e) {
    if (e instanceof SpecError) return { problems: e.problems, checked: [] };
    throw e;
  }
  const lines = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lines });
  const problems: SpecProblem[] = [];
  const at = (keys: PropertyKey[]): { line: number; column: number } => {
    for (let n = keys.length; n >= 0; n--) {
      const node = doc.getIn(keys.slice(0, n) as unknown[], true) as Node | undefined;
      if (node?.range) {
        const pos = lines.linePos(node.range[0]);
        return { line: pos.line, column: pos.col };
      }
    }
    return { line: 1, column: 1 };
  };
  const pathText = (keys: PropertyKey[]) =>
    keys.reduce<string>((o, k) => (typeof k === 'number' ? `${o}[${k}]` : o ? `${o}.${String(k)}` : String(k)), '');
  const push = (keys: PropertyKey[], message: string) => problems.push({ ...at(keys), at: pathText(keys), message });
  const checked: string[] = [];

  // Entries, as Nix names packages.
  claim.expectedTools.entries.forEach((entry, i) => {
    const { name, version } = parseDrvName(entry);
    if (version === '')
      push(
        ['expected_tools', 'entries', i],
        `${JSON.stringify(entry)} has no version; write it name-version as Nix names the package (its .name), e.g. ${name}-1.2.3`,
      );
  });
  checked.push(`${claim.expectedTools.entries.length} expected entries`);

  // Files.
  const files: [PropertyKey[], string, 'file' | 'dir'][] = [[['shared', 'file'], claim.shared.file, 'file']];
  claim.hosts.forEach((h, i) => {
    const own = doc.hasIn(['hosts', i, 'config']);
    files.push([
      own
        ? ['hosts', i, 'config']
        : doc.hasIn(['host_defaults', 'config'])
          ? ['host_defaults', 'config']
          : ['hosts', i],
      h.config,
      'file',
    ]);
  });
  claim.consumers.forEach((c, i) => {
    if ('module' in c && c.module !== undefined) files.push([['consumers', i, 'module'], c.module, 'file']);
    if (c.kind === 'drone-step')
      files.push([['consumers', i, 'pipeline'], c.pipeline, 'file'], [['consumers', i, 'runs'], c.runs, 'file']);
  });
  claim.proofs.forEach((p, i) => {
    if (p.in !== undefined) files.push([['proofs', i, 'in'], p.in, 'file']);
    if (p.allIn !== undefined) files.push([['proofs', i, 'all_in'], p.allIn, 'dir']);
  });
  if (doc.has('search_dir')) files.push([['search_dir'], claim.searchDir, 'dir']);
  const seen = new Set<string>();
  for (const [keys, rel, want] of files) {
    const problem = fileProblem(deps.flake, rel, want);
    const key = `${pathText(keys)}\0${rel}`;
    if (problem && !seen.has(key))
      push(
        keys,
        keys[0] === 'host_defaults'
          ? `${problem} (for host ${claim.hosts.find((h) => h.config === rel)?.name ?? '?'})`
          : problem,
      );
    seen.add(key);
  }
  checked.push(`${new Set(files.map((f) => f[1])).size} files`);

  // env_attr: a binding of the shared file (not a package attribute).
  const envAttr = claim.shared.envAttr;
  if (envAttr !== undefined && !fileProblem(deps.flake, claim.shared.file, 'file')) {
    const sharedText = readFileSync(path.join(deps.flake, claim.shared.file), 'utf8');
    if (
      !new RegExp(`(^|[^A-Za-z0-9_'-])${envAttr.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*=`, 'm').test(sharedText)
    ) {
      const bound = [...sharedText.matchAll(/(?:^|[\s{;])([A-Za-z_][A-Za-z0-9_'-]*)\s*=(?!=)/g)].map((m) => m[1]);
      push(
        ['shared', 'env_attr'],
        `${claim.shared.file} binds no ${envAttr} (\`${envAttr} = …\`)${didYouMean(envAttr, bound)}`,
      );
    }
  }

  // Hosts, attributes, units, the program: one evaluation.
  const answer = await deps.evalJson<HostAnswer>('nixosConfigurations', specFactsExpr(claim));
  const hostKey = (i: number): PropertyKey[] => (doc.hasIn(['hosts', i, 'name']) ? ['hosts', i, 'name'] : ['hosts', i]);
  claim.hosts.forEach((h, i) => {
    if (!answer.hosts.includes(h.name))
      push(
        hostKey(i),
        `host ${JSON.stringify(h.name)} is not in nixosConfigurations (the flake has: ${answer.hosts.join(', ') || 'none'})${didYouMean(h.name, answer.hosts)}`,
      );
  });
  const attrKeys: Record<string, PropertyKey[]> = {
    [claim.shared.package]: ['shared', 'package'],
    [claim.shared.toolsAttr]: ['shared', 'tools_attr'],
  };
  const unitKeys = new Map<string, PropertyKey[]>();
  claim.consumers.forEach((c, i) => {
    if ((c.kind === 'systemd-service' || c.kind === 'runner-service') && !unitKeys.has(c.unit))
      unitKeys.set(c.unit, ['consumers', i, 'unit']);
    if (c.kind === 'drone-step' && !unitKeys.has(c.runnerUnit))
      unitKeys.set(c.runnerUnit, ['consumers', i, 'runner_unit']);
  });
  const programKey: PropertyKey[] = doc.hasIn(['shared', 'program']) ? ['shared', 'program'] : ['shared', 'package'];
  for (const [host, facts] of Object.entries(answer.facts)) {
    for (const attr of facts.missingAttrs) {
      push(
        attrKeys[attr] ?? ['shared'],
        `pkgs.${attr} does not exist on host ${host}${didYouMean(attr, facts.pkgNames)} (the attribute of the package set the host's overlays give)`,
      );
    }
    for (const unit of facts.missingUnits) {
      // A consumer with `hosts:` needs its unit on those hosts only.
      const wanted = claim.consumers.some(
        (c) =>
          onHost(c, host) &&
          (((c.kind === 'systemd-service' || c.kind === 'runner-service') && c.unit === unit) ||
            (c.kind === 'drone-step' && c.runnerUnit === unit)),
      );
      if (!wanted) continue;
      const services = facts.serviceNames.map((s) => `${s}.service`);
      const elsewhere = Object.entries(answer.facts)
        .filter(([h, f]) => h !== host && !f.missingUnits.includes(unit))
        .map(([h]) => h);
      push(
        unitKeys.get(unit) ?? ['consumers'],
        `unit ${unit} is not on host ${host} (not in systemd.units nor systemd.services)${didYouMean(unit, services)}${elsewhere.length ? `; it is on ${elsewhere.join(', ')}: if the consumer exists there only, give it hosts: [${elsewhere.join(', ')}]` : ''}`,
      );
    }
    if (facts.package && !facts.package.bins.includes(claim.shared.program)) {
      const bins = [...new Set(facts.package.bins)];
      push(
        programKey,
        `program ${JSON.stringify(claim.shared.program)}: by name (--check-spec builds nothing), pkgs.${claim.shared.package}'s bin/ holds ${bins.join(', ')}${didYouMean(claim.shared.program, bins)}${doc.hasIn(['shared', 'program']) ? '' : ' (program defaults to the package name: set shared.program)'}`,
      );
    }
  }
  checked.push(
    `hosts ${claim.hosts.map((h) => h.name).join(', ')}`,
    `pkgs.${Object.keys(attrKeys).join(', pkgs.')}`,
    `${unitKeys.size} units`,
    `program ${claim.shared.program} (by name)`,
  );

  // Derivation consumers: the attribute path exists in the flake's outputs.
  for (const [i, c] of claim.consumers.entries()) {
    if (c.kind !== 'derivation') continue;
    const [top, ...rest] = [...c.attr.split('.'), ...(c.through ? c.through.split('.') : [])];
    const attrDepth = c.attr.split('.').length - 1;
    const walk = `o: let go = n: x: ps: if ps == [ ] then { ok = true; drv = builtins.isAttrs x && x ? drvPath; } else if builtins.isAttrs x && x ? \${builtins.head ps} then go (n + 1) x.\${builtins.head ps} (builtins.tail ps) else { ok = false; depth = n; missing = builtins.head ps; names = if builtins.isAttrs x then builtins.attrNames x else [ ]; }; in go 0 o [ ${rest.map(nixString).join(' ')} ]`;
    try {
      const r = await deps.evalJson<{ ok: boolean; drv?: boolean; depth?: number; missing?: string; names?: string[] }>(
        top,
        walk,
      );
      const there = `${didYouMean(r.missing ?? '', r.names ?? [])} (there: ${(r.names ?? []).slice(0, 12).join(', ') || 'nothing'})`;
      if (!r.ok && c.through !== undefined && (r.depth ?? 0) >= attrDepth)
        push(
          ['consumers', i, 'through'],
          `${c.attr} has no attribute ${c.through}: ${JSON.stringify(r.missing)} is not there${there}`,
        );
      else if (!r.ok)
        push(
          ['consumers', i, 'attr'],
          `the flake has no output ${c.attr}: ${JSON.stringify(r.missing)} is not there${there}`,
        );
      else if (r.drv === false)
        push(
          [...['consumers', i], c.through !== undefined ? 'through' : 'attr'],
          `${c.through !== undefined ? `${c.attr}.${c.through}` : c.attr} is not a derivation`,
        );
      // image: true reads the dockerTools conf (`stream.conf` of buildLayeredImage, `conf` of streamLayeredImage).
      else if (
        c.image &&
        !(await deps.evalJson<boolean>(
          top,
          `o: let x = o${rest.map((n) => `.${nixString(n)}`).join('')}; s = if builtins.isAttrs x && x ? stream then x.stream else x; in builtins.isAttrs s && s ? conf`,
        ))
      )
        push(
          ['consumers', i, 'image'],
          `${c.attr} is not a dockerTools image: it has no stream.conf nor conf (buildLayeredImage/streamLayeredImage)`,
        );
    } catch (e) {
      if (!(e instanceof NixCommandError)) throw e;
      const line = e.excerpt.find((l) => /error/i.test(l)) ?? e.message.split('\n')[0];
      push(
        ['consumers', i, 'attr'],
        `the flake has no output ${top} (nix: ${line?.trim()})${didYouMean(top, ['packages', 'checks', 'devShells', 'apps', 'legacyPackages', 'nixosConfigurations'])}`,
      );
    }
  }
  if (claim.consumers.some((c) => c.kind === 'derivation')) checked.push('derivation attributes');
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return { problems, checked };
}

/** The lines --check-spec prints for problems (stderr) or success (stdout). */
export function specCheckText(file: string, result: SpecCheckResult): string {
  if (result.problems.length === 0)
    return `spec ${file}: no problems found against the repository (checked ${result.checked.join('; ')}); nothing was built\n`;
  return `spec ${file}: ${result.problems.length} problem(s):\n${result.problems.map((p) => `  ${file}:${p.line}:${p.column}: ${p.at ? `${p.at}: ` : ''}${p.message}\n`).join('')}`;
}
