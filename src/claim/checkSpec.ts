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
// - per runner-service consumer with job_shell (one more evaluation, names only): `file` is an
//   environment.etc target on its hosts; `env` is in systemd.services.<name>.environment and `arg` in its
//   ExecStart (both only when no job_shell.default is given);
// - per derivation consumer, `nix eval FLAKE#<first segment> --apply` walking the
//   attribute path: the attribute exists (else the names at the level it stops); with
//   `image: true`, that it has a dockerTools `stream.conf` or `conf`;
// - per module-option consumer and host it is on, `nix eval FLAKE#nixosConfigurations.<host> --apply` walking
//   `options` by the option's names: it is an option (else the names at the level it stops, with a did-you-mean).
// Not checked here (the verification does): that the files say what the claim says,
// that consumers reach the program, the proofs' counts.
import { unitOnHost } from './hostUnits.js';
import { existsSync, lstatSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { closestName } from '../closest.js';
import { NixCommandError } from '../errors.js';
import { parseDroneYaml } from '../drone/pipeline.js';
import { scriptUses } from '../drone/uses.js';
import { attrPath, nixString } from '../nix/client.js';
import { optionLookupExpr } from '../moduleOption.js';
import { fileKind } from '../storeFs.js';
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
      /** systemd-user-service units not in systemd.user.units, and the user units there are. */
      missingUserUnits?: string[];
      userUnitNames?: string[];
      /** The `.name` of each item of pkgs.<tools_attr> (a list) and of the package's `paths` (a buildEnv). */
      toolNames: unknown[];
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
        (c.kind === 'systemd-service' || c.kind === 'runner-service'
          ? [c.unit]
          : c.kind === 'drone-step'
            ? [c.runnerUnit]
            : []
        ).flatMap((u) => claim.hosts.map((h) => unitOnHost(u, h.name))),
      ),
    ),
  ];
  const userUnits = [...new Set(claim.consumers.flatMap((c) => (c.kind === 'systemd-user-service' ? [c.unit] : [])))];
  return `cfgs: let
  binOf = p: if !(builtins.isAttrs p) then [ ] else
    let n = p.meta.mainProgram or p.pname or (builtins.parseDrvName (p.name or "")).name; in [ n ];
  factsOf = h: let
    p = h.pkgs or { };
    svcs = h.config.systemd.services or { };
    us = h.config.systemd.units or { };
    missingAttrs = builtins.filter (a: !(p ? \${a})) ${list(attrs)};
    missingUnits = builtins.filter (u: !(us ? \${u}) && !(svcs ? \${builtins.head (builtins.match "(.*)[.]service" u)})) ${list(units)};
    uus = (h.config.systemd.user or { }).units or { };
    usvcs = (h.config.systemd.user or { }).services or { };
    missingUserUnits = builtins.filter (u: !(uus ? \${u}) && (let m = builtins.match "(.*)[.]service" u; in m == null || !(usvcs ? \${builtins.head m}))) ${list(userUnits)};
    pkg = p.${nixString(claim.shared.package)} or null;
  in {
    inherit missingAttrs missingUnits;
    pkgNames = if missingAttrs == [ ] then [ ] else builtins.attrNames p;
    package = if pkg == null then null else { bins = binOf pkg ++ builtins.concatMap binOf (pkg.paths or [ ]); };
    serviceNames = if missingUnits == [ ] then [ ] else builtins.attrNames svcs;
    inherit missingUserUnits;
    userUnitNames = if missingUserUnits == [ ] then [ ] else builtins.attrNames uus ++ map (n: n + ".service") (builtins.attrNames usvcs);
    toolNames = let
      nameOf = x: (builtins.tryEval (if builtins.isAttrs x then x.name or null else null)).value;
      listOf = l: let ok = builtins.tryEval (builtins.isList l); in if ok.success && ok.value then map nameOf l else [ ];
    in listOf (p.${nixString(claim.shared.toolsAttr)} or null) ++ (if pkg == null then [ ] else listOf (pkg.paths or null));
  };
in {
  hosts = builtins.attrNames cfgs;
  facts = builtins.listToAttrs (map (n: { name = n; value = factsOf cfgs.\${n}; }) (builtins.filter (n: cfgs ? \${n}) ${list(claim.hosts.map((h) => h.name))}));
}`;
}

/** Per host: the /etc targets environment.etc writes, and each runner service's environment names and ExecStart. */
export function jobShellFactsExpr(hosts: readonly string[], services: readonly string[]): string {
  const list = (xs: readonly string[]) => `[ ${xs.map(nixString).join(' ')} ]`;
  return `cfgs: builtins.listToAttrs (map (n: let cfg = cfgs.\${n}.config; etc = cfg.environment.etc or { }; svcs = cfg.systemd.services or { }; in { name = n; value = {
    etc = map (e: etc.\${e}.target or e) (builtins.filter (e: etc.\${e}.enable or true) (builtins.attrNames etc));
    env = builtins.listToAttrs (map (s: { name = s; value = builtins.attrNames (svcs.\${s}.environment or { }); }) (builtins.filter (s: svcs ? \${s}) ${list(services)}));
    exec = builtins.listToAttrs (map (s: { name = s; value = toString (svcs.\${s}.serviceConfig.ExecStart or ""); }) (builtins.filter (s: svcs ? \${s}) ${list(services)}));
  }; }) ${list(hosts)})`;
}

const didYouMean = (given: string, names: readonly string[]): string => {
  const near = closestName(given, names);
  return near && near !== given ? `; did you mean ${near}?` : '';
};

/** A path's problem: missing (with the nearest name in its directory), or not the kind wanted. */
function fileProblem(flake: string, rel: string, want: 'file' | 'dir' | 'file or directory'): string | undefined {
  const full = path.join(flake, rel);
  if (existsSync(full)) {
    // Read as the verification reads it: never a special file, never through a symlink out of the repository.
    const special = fileKind(lstatSync(full)) ?? fileKind(statSync(full));
    if (special) return `${JSON.stringify(rel)} is ${special}; expected a ${want} of the repository`;
    const root = realpathSync(flake);
    const real = realpathSync(full);
    if (real !== root && !real.startsWith(`${root}${path.sep}`))
      return `${JSON.stringify(rel)} leads out of the repository (to ${real}); expected a ${want} inside it`;
    const st = statSync(full);
    if (want === 'file' && !st.isFile()) return `${JSON.stringify(rel)} is not a file of the repository`;
    if (want === 'file or directory' && !st.isFile() && !st.isDirectory())
      return `${JSON.stringify(rel)} is neither a file nor a directory of the repository`;
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

  // Files.
  const files: [PropertyKey[], string, 'file' | 'dir' | 'file or directory'][] = [
    [['shared', 'file'], claim.shared.file, 'file'],
  ];
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
    if (p.in !== undefined) files.push([['proofs', i, 'in'], p.in, 'file or directory']);
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

  // A drone-step's pipeline: some step runs `runs` (as the verification finds it: a command naming the script).
  for (const [i, c] of claim.consumers.entries()) {
    if (c.kind !== 'drone-step' || fileProblem(deps.flake, c.pipeline, 'file')) continue;
    const drone = await parseDroneYaml(readFileSync(path.join(deps.flake, c.pipeline), 'utf8'));
    if (drone.errors.length) {
      const e = drone.errors[0];
      push(
        ['consumers', i, 'pipeline'],
        `${c.pipeline}${e.position ? `:${e.position.line}:${e.position.column}` : ''} cannot be read as Drone reads it: ${e.message}`,
      );
      continue;
    }
    if ((await scriptUses(drone.steps, c.runs, claim.shared.program)).length) continue;
    const commands = drone.steps.flatMap((st) => st.commands.map((cmd) => ({ step: st.name, cmd: cmd.trim() })));
    const mentioned = [...new Set(commands.flatMap((x) => x.cmd.split(/\s+/)).filter((w) => /[/.]/.test(w)))];
    push(
      ['consumers', i, 'runs'],
      `no step of ${c.pipeline} runs ${c.runs}${didYouMean(c.runs, mentioned)} (its steps run: ${
        commands
          .slice(0, 6)
          .map((x) => `${x.step}: \`${x.cmd.length > 60 ? `${x.cmd.slice(0, 57)}...` : x.cmd}\``)
          .join('; ') || 'no commands'
      })`,
    );
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
    for (const h of claim.hosts) {
      const unit = c.kind === 'systemd-service' || c.kind === 'runner-service' ? unitOnHost(c.unit, h.name) : undefined;
      if (unit !== undefined && !unitKeys.has(unit)) unitKeys.set(unit, ['consumers', i, 'unit']);
      const runner = c.kind === 'drone-step' ? unitOnHost(c.runnerUnit, h.name) : undefined;
      if (runner !== undefined && !unitKeys.has(runner)) unitKeys.set(runner, ['consumers', i, 'runner_unit']);
    }
  });
  const programKey: PropertyKey[] = doc.hasIn(['shared', 'program']) ? ['shared', 'program'] : ['shared', 'package'];
  // A problem found on several hosts alike is said once, naming them all: `{host}` stands for them.
  const perHost = new Map<string, { keys: PropertyKey[]; template: string; hosts: string[] }>();
  const pushHost = (keys: PropertyKey[], host: string, template: string) => {
    const id = `${pathText(keys)}\0${template}`;
    const seenAt = perHost.get(id);
    if (seenAt) seenAt.hosts.push(host);
    else perHost.set(id, { keys, template, hosts: [host] });
  };
  for (const [host, facts] of Object.entries(answer.facts)) {
    for (const attr of facts.missingAttrs) {
      pushHost(
        attrKeys[attr] ?? ['shared'],
        host,
        `pkgs.${attr} does not exist on {host}${didYouMean(attr, facts.pkgNames)} (the attribute of the package set the host's overlays give)`,
      );
    }
    for (const unit of facts.missingUnits) {
      // A consumer with `hosts:` needs its unit on those hosts only.
      const wanted = claim.consumers.some(
        (c) =>
          onHost(c, host) &&
          (((c.kind === 'systemd-service' || c.kind === 'runner-service') && unitOnHost(c.unit, host) === unit) ||
            (c.kind === 'drone-step' && unitOnHost(c.runnerUnit, host) === unit)),
      );
      if (!wanted) continue;
      const services = facts.serviceNames.map((s) => `${s}.service`);
      const elsewhere = Object.entries(answer.facts)
        .filter(([h, f]) => h !== host && !f.missingUnits.includes(unit))
        .map(([h]) => h);
      const near = didYouMean(unit, services);
      // No near name: the services that share a word with it, so the right one can be picked.
      const words = unit
        .replace(/\.service$/, '')
        .split(/[-_.@]/)
        .filter((w) => w.length >= 3);
      const related = services.filter((sv) => words.some((w) => sv.includes(w)));
      pushHost(
        unitKeys.get(unit) ?? ['consumers'],
        host,
        `unit ${unit} is not on {host} (not in systemd.units nor systemd.services)${near || (related.length ? `; services there with a word of it: ${related.slice(0, 8).join(', ')}` : '')}${elsewhere.length ? `; it is on ${elsewhere.join(', ')}: if the consumer exists there only, give it hosts: [${elsewhere.join(', ')}]` : ''}`,
      );
    }
    for (const unit of facts.missingUserUnits ?? []) {
      const i = claim.consumers.findIndex(
        (c) => c.kind === 'systemd-user-service' && c.unit === unit && onHost(c, host),
      );
      if (i < 0) continue;
      pushHost(
        ['consumers', i, 'unit'],
        host,
        `user unit ${unit} is not on {host} (not in systemd.user.units)${didYouMean(unit, facts.userUnitNames ?? [])}`,
      );
    }
    if (facts.package && !facts.package.bins.includes(claim.shared.program)) {
      const bins = [...new Set(facts.package.bins)];
      pushHost(
        programKey,
        host,
        `program ${JSON.stringify(claim.shared.program)}: by name (--check-spec builds nothing), pkgs.${claim.shared.package}'s bin/ holds ${bins.join(', ')}${didYouMean(claim.shared.program, bins)}${doc.hasIn(['shared', 'program']) ? '' : ' (program defaults to the package name: set shared.program)'}`,
      );
    }
  }
  for (const { keys, template, hosts } of perHost.values())
    push(keys, template.replace('{host}', `${hosts.length > 1 ? 'hosts' : 'host'} ${hosts.join(', ')}`));

  // Entries, as Nix names packages (builtins.parseDrvName), against the names of the tool list's packages.
  const toolNames = [
    ...new Set(
      Object.values(answer.facts).flatMap((f) => f.toolNames.filter((n): n is string => typeof n === 'string')),
    ),
  ];
  const toolsOf = (name: string) => toolNames.filter((t) => parseDrvName(t).name === name);
  const listName = `pkgs.${claim.shared.toolsAttr}`;
  claim.expectedTools.entries.forEach((entry, i) => {
    const { name, version } = parseDrvName(entry);
    const same = toolsOf(name);
    if (version === '')
      push(
        ['expected_tools', 'entries', i],
        `${JSON.stringify(entry)} has no version; write it name-version as Nix names the package (its .name)${same.length ? `: ${listName} has ${same.join(', ')}; did you mean ${same[0]}?` : `, e.g. ${name}-1.2.3`}`,
      );
    else if (same.length && !toolNames.includes(entry))
      push(
        ['expected_tools', 'entries', i],
        `${JSON.stringify(entry)}: ${listName} has ${same.join(', ')}, not version ${version}; did you mean ${same[0]}? (by name: --check-spec builds nothing)`,
      );
  });
  checked.push(`${claim.expectedTools.entries.length} expected entries`);
  checked.push(
    `hosts ${claim.hosts.map((h) => h.name).join(', ')}`,
    `pkgs.${Object.keys(attrKeys).join(', pkgs.')}`,
    `${unitKeys.size + new Set(claim.consumers.flatMap((c) => (c.kind === 'systemd-user-service' ? [c.unit] : []))).size} units`,
    `program ${claim.shared.program} (by name)`,
  );

  // Runner job shells: where the spec says the setting is, the configuration has it (names only).
  const shells = claim.consumers.flatMap((c, i) =>
    c.kind === 'runner-service' && c.jobShell ? [{ c, i, js: c.jobShell }] : [],
  );
  if (shells.length) {
    const found = await deps.evalJson<
      Record<string, { etc: string[]; env: Record<string, string[]>; exec: Record<string, string> }>
    >(
      'nixosConfigurations',
      jobShellFactsExpr(
        claim.hosts.map((h) => h.name).filter((h) => answer.hosts.includes(h)),
        shells.map((x) => x.c.unit.replace(/\.service$/, '')),
      ),
    );
    for (const { c, i, js } of shells) {
      for (const [host, f] of Object.entries(found)) {
        if (!onHost(c, host)) continue;
        const svc = c.unit.replace(/\.service$/, '');
        if (js.from === 'file' && !f.etc.includes(js.file.replace(/^\/etc\//, ''))) {
          const want = js.file.replace(/^\/etc\//, '');
          const near = didYouMean(want, f.etc).replace('did you mean ', 'did you mean /etc/');
          const dir = path.posix.dirname(want);
          const there = f.etc.filter((e) => path.posix.dirname(e) === dir);
          push(
            ['consumers', i, 'job_shell', 'file'],
            `no environment.etc entry writes ${js.file} on host ${host}${
              near ||
              (there.length
                ? `; /etc/${dir}/ gets: ${there
                    .slice(0, 8)
                    .map((e) => `/etc/${e}`)
                    .join(', ')}`
                : `; environment.etc writes: ${
                    f.etc
                      .slice(0, 8)
                      .map((e) => `/etc/${e}`)
                      .join(', ') || 'nothing'
                  }`)
            } (the job shell is read from there)`,
          );
        }
        if (js.from === 'env' && js.default === undefined && f.env[svc] && !f.env[svc].includes(js.name))
          push(
            ['consumers', i, 'job_shell', 'env'],
            `systemd.services.${svc}.environment has no ${js.name} on host ${host}${didYouMean(js.name, f.env[svc])} (set job_shell.default if the runner's own default applies)`,
          );
        if (
          js.from === 'arg' &&
          js.default === undefined &&
          f.exec[svc] !== undefined &&
          !f.exec[svc].includes(js.name)
        )
          push(
            ['consumers', i, 'job_shell', 'arg'],
            `the ExecStart of ${c.unit} on host ${host} has no ${js.name} (set job_shell.default if the runner's own default applies)`,
          );
      }
    }
    checked.push(`${shells.length} job shell setting${shells.length === 1 ? '' : 's'}`);
  }

  // Derivation consumers: the attribute path exists in the flake's outputs.
  for (const [i, c] of claim.consumers.entries()) {
    if (c.kind !== 'derivation' && c.kind !== 'dev-shell') continue;
    const through = c.kind === 'derivation' ? c.through : undefined;
    const [top, ...rest] = [...c.attr.split('.'), ...(through ? through.split('.') : [])];
    const attrDepth = c.attr.split('.').length - 1;
    const walk = `o: let go = n: x: ps: if ps == [ ] then { ok = true; drv = builtins.isAttrs x && x ? drvPath; } else if builtins.isAttrs x && x ? \${builtins.head ps} then go (n + 1) x.\${builtins.head ps} (builtins.tail ps) else { ok = false; depth = n; missing = builtins.head ps; names = if builtins.isAttrs x then builtins.attrNames x else [ ]; }; in go 0 o [ ${rest.map(nixString).join(' ')} ]`;
    try {
      const r = await deps.evalJson<{ ok: boolean; drv?: boolean; depth?: number; missing?: string; names?: string[] }>(
        top,
        walk,
      );
      const there = `${didYouMean(r.missing ?? '', r.names ?? [])} (there: ${(r.names ?? []).slice(0, 12).join(', ') || 'nothing'})`;
      if (!r.ok && through !== undefined && (r.depth ?? 0) >= attrDepth)
        push(
          ['consumers', i, 'through'],
          `${c.attr} has no attribute ${through}: ${JSON.stringify(r.missing)} is not there${there}`,
        );
      else if (!r.ok)
        push(
          ['consumers', i, 'attr'],
          `the flake has no output ${c.attr}: ${JSON.stringify(r.missing)} is not there${there}`,
        );
      else if (r.drv === false)
        push(
          [...['consumers', i], through !== undefined ? 'through' : 'attr'],
          `${through !== undefined ? `${c.attr}.${through}` : c.attr} is not a derivation`,
        );
      // image: true reads the dockerTools conf (`stream.conf` of buildLayeredImage, `conf` of streamLayeredImage).
      else if (
        c.kind === 'derivation' &&
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
  if (claim.consumers.some((c) => c.kind === 'derivation' || c.kind === 'dev-shell'))
    checked.push('derivation and dev shell attributes');

  // Module options: `options.<option>` is an option on each of the consumer's hosts (names only, nothing forced).
  for (const [i, c] of claim.consumers.entries()) {
    if (c.kind !== 'module-option') continue;
    for (const host of claim.hosts.map((h) => h.name).filter((h) => onHost(c, h) && answer.hosts.includes(h))) {
      try {
        const r = await deps.evalJson<
          | { found: false; missing: string; depth: number; names: string[] }
          | { found: true; isOption: boolean; names: string[] }
        >(attrPath('nixosConfigurations', host), optionLookupExpr(c.option));
        if (!r.found) {
          const at = ['options', ...c.option.split('.').slice(0, r.depth)].join('.');
          push(
            ['consumers', i, 'option'],
            `host ${host} has no option ${c.option}: ${JSON.stringify(r.missing)} is not in ${at}${didYouMean(r.missing, r.names)} (there: ${r.names.slice(0, 12).join(', ') || 'nothing'})`,
          );
        } else if (!r.isOption)
          push(
            ['consumers', i, 'option'],
            `${c.option} on host ${host} is a set of options, not an option (there: ${r.names.slice(0, 12).join(', ') || 'nothing'})`,
          );
        else continue;
        break; // said once, for the first host
      } catch (e) {
        if (!(e instanceof NixCommandError)) throw e;
        push(
          ['consumers', i, 'option'],
          `options.${c.option} of host ${host} does not evaluate (nix: ${e.message.split('\n')[0]})`,
        );
        break;
      }
    }
  }
  if (claim.consumers.some((c) => c.kind === 'module-option')) checked.push('module options');
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return { problems, checked };
}

/** The lines --check-spec prints for problems (stderr) or success (stdout). */
export function specCheckText(file: string, result: SpecCheckResult): string {
  if (result.problems.length === 0)
    return `spec ${file}: no problems found against the repository (checked ${result.checked.join('; ')}); nothing was built\n`;
  return `spec ${file}: ${result.problems.length} problem(s):\n${result.problems.map((p) => `  ${file}:${p.line}:${p.column}: ${p.at ? `${p.at}: ` : ''}${p.message}\n`).join('')}`;
}
