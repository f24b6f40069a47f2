// `nixenv-verify --init`: a starting spec for a repository, printed on stdout, with
// comments saying what to check by hand. It proposes; the user decides.
//
// What it reads (nothing is built):
// - one `nix eval --json FLAKE#nixosConfigurations --apply …`: the host names; per
//   host, the attribute names each `config.nixpkgs.overlays` function defines
//   (applied to the host's pkgs as final and prev) and where (unsafeGetAttrPos);
//   of those, wrappers (a derivation with `text`: writeShellApplication,
//   writeShellScriptBin) and tool lists (a non-empty list of derivations, their
//   `.name`s); environment.systemPackages names; the services (config.systemd.services)
//   that are started by a timer (systemd.timers: timerConfig.Unit, else the timer's
//   own name) or whose name says runner/agent, with the derivations their
//   script, ExecStart, path and environment.PATH refer to (string context);
//   the same for the user managers' services (systemd.user.services, started by
//   systemd.user.timers);
// - one `nix eval --json FLAKE#devShells`: each dev shell's drvPath; those built
//   from the wrapper (their derivation closure holds it) are proposed;
// - `nix path-info -r --derivation` of those derivations when a service does not
//   refer to the wrapper directly (a script that runs it);
// - the repository: .nix files whose path has a host's name as a segment (the
//   host's config), `.drone.yml` steps whose commands start with the program.
// Not proposed (comments say so): derivation consumers, env_attr, required
// programs, grep proofs, a wrapper made by makeWrapper / symlinkJoin / buildEnv.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseDrvName } from './checkSpec.js';

export interface InitDeps {
  flake: string;
  evalJson: <T>(attrPath: string, apply?: string) => Promise<T>;
  /** Every .drv a derivation is built from (nothing is built). */
  drvClosure: (drvPath: string) => Promise<string[]>;
}

interface Wrapper {
  attr: string;
  name: string;
  program: string;
  drvPath: string;
  file: string | null;
}
interface ToolList {
  attr: string;
  entries: string[];
  file: string | null;
}
interface InitService {
  name: string;
  /** A user service (systemd.user.services). */
  user?: boolean;
  startedByTimer: boolean;
  refs: string[];
  ctx: string[];
}
interface InitHost {
  wrappers: Wrapper[];
  toolLists: ToolList[];
  systemPackages: string[];
  services: InitService[];
}

export const INIT_EXPR = `cfgs: let
  isDrv = x: let r = builtins.tryEval (builtins.isAttrs x && x ? drvPath); in r.success && r.value;
  fileOf = pos: if pos == null then null else let m = builtins.match "/nix/store/[^/]+/(.*)" (toString pos.file); in if m == null then toString pos.file else builtins.head m;
  perHost = h: let
    cfg = h.config; p = h.pkgs;
    overlays = cfg.nixpkgs.overlays or [ ];
    applied = builtins.filter (x: x != null) (map (o: let r = builtins.tryEval (o p p); in if r.success && builtins.isAttrs r.value then r.value else null) overlays);
    names = builtins.concatMap builtins.attrNames applied;
    posOf = a: let ps = builtins.filter (x: x != null) (map (o: if o ? \${a} then builtins.unsafeGetAttrPos a o else null) applied); in if ps == [ ] then null else builtins.head ps;
    valueOf = a: let r = builtins.tryEval (p.\${a} or null); in if r.success then r.value else null;
    wrappers = builtins.filter (a: let x = valueOf a; in isDrv x && x ? text) names;
    toolLists = builtins.filter (a: let x = valueOf a; in builtins.isList x && x != [ ] && builtins.all isDrv x) names;
    svcs = cfg.systemd.services or { };
    timers = cfg.systemd.timers or { };
    timed = map (t: let u = timers.\${t}.timerConfig.Unit or null; in if u == null then t else builtins.head (builtins.match "(.*)[.]service" u)) (builtins.attrNames timers);
    strOf = s: builtins.concatStringsSep " " ([ (s.script or "") (toString (s.serviceConfig.ExecStart or "")) (toString (s.environment.PATH or "")) ] ++ map toString (s.path or [ ]));
    ctxOf = s: let r = builtins.tryEval (builtins.attrNames (builtins.getContext (strOf s))); in if r.success then r.value else [ ];
    wrapperDrvs = map (a: { attr = a; drv = (valueOf a).drvPath; }) wrappers;
    service = n: let ctx = ctxOf svcs.\${n}; in {
      name = n; startedByTimer = builtins.elem n timed; inherit ctx;
      refs = map (w: w.attr) (builtins.filter (w: builtins.elem w.drv ctx) wrapperDrvs);
    };
    runnerLike = n: builtins.match ".*(runner|agent|buildkite|gitlab|github|actions|jenkins|hydra).*" n != null;
    services = builtins.filter (s: s.refs != [ ] || s.startedByTimer || runnerLike s.name) (map service (builtins.attrNames svcs));
    # The user managers' services (systemd.user.services, started by systemd.user.timers).
    usvcs = (cfg.systemd.user or { }).services or { };
    utimers = (cfg.systemd.user or { }).timers or { };
    utimed = map (t: let u = utimers.\${t}.timerConfig.Unit or null; in if u == null then t else builtins.head (builtins.match "(.*)[.]service" u)) (builtins.attrNames utimers);
    userService = n: let ctx = ctxOf usvcs.\${n}; in {
      name = n; user = true; startedByTimer = builtins.elem n utimed; inherit ctx;
      refs = map (w: w.attr) (builtins.filter (w: builtins.elem w.drv ctx) wrapperDrvs);
    };
    userServices = builtins.filter (s: s.refs != [ ] || s.startedByTimer) (map userService (builtins.attrNames usvcs));
  in {
    wrappers = map (a: let x = valueOf a; in { attr = a; name = x.name or a; program = x.meta.mainProgram or x.pname or (builtins.parseDrvName (x.name or a)).name; drvPath = x.drvPath; file = fileOf (posOf a); }) wrappers;
    toolLists = map (a: { attr = a; entries = map (x: x.name or "") (valueOf a); file = fileOf (posOf a); }) toolLists;
    systemPackages = map (x: if builtins.isAttrs x then x.name or "" else toString x) (cfg.environment.systemPackages or [ ]);
    services = services ++ userServices;
  };
in builtins.mapAttrs (_: perHost) cfgs`;

/** The flake's dev shells (system -> name -> drvPath, null when it does not evaluate). */
export const INIT_SHELLS_EXPR =
  'ds: builtins.mapAttrs (_: v: builtins.mapAttrs (_: d: let r = builtins.tryEval d.drvPath; in if r.success then r.value else null) v) ds';

const q = (s: string): string => (/^[A-Za-z0-9_./@:-]+$/.test(s) && !/^[0-9]/.test(s) ? s : JSON.stringify(s));

/** .nix files of the repository (skipping .git and result links). */
function nixFiles(root: string, dir = '', out: string[] = []): string[] {
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'result' || entry.name === 'node_modules') continue;
    const rel = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) nixFiles(root, rel, out);
    else if (entry.isFile() && entry.name.endsWith('.nix')) out.push(rel);
  }
  return out;
}

/** A host's config file: a .nix file with the host name as a path segment (configuration.nix / default.nix first). */
function hostConfig(files: string[], host: string): string | undefined {
  const hits = files.filter((f) => f.split('/').some((seg) => seg === host || seg === `${host}.nix`));
  const rank = (f: string) =>
    f.endsWith(`/${host}.nix`) ? 0 : f.endsWith('/configuration.nix') ? 1 : f.endsWith('/default.nix') ? 2 : 3;
  return hits.sort((a, b) => rank(a) - rank(b) || a.length - b.length)[0];
}

interface DroneStep {
  pipeline: string;
  step: string;
  runs: string;
}

/** Steps of .drone.yml whose command starts with the program, and the repository file it runs. */
function droneSteps(flake: string, program: string): DroneStep[] {
  const file = path.join(flake, '.drone.yml');
  if (!existsSync(file)) return [];
  const out: DroneStep[] = [];
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (!('toJS' in doc)) continue;
    const pipeline = doc.toJS() as { steps?: { name?: string; commands?: unknown[] }[] } | null;
    for (const step of pipeline?.steps ?? []) {
      for (const command of step.commands ?? []) {
        if (typeof command !== 'string') continue;
        const words = command.trim().split(/\s+/);
        if (words[0] !== program) continue;
        const runs = words
          .slice(1)
          .find((w) => !w.startsWith('-') && existsSync(path.join(flake, w)) && !w.endsWith('/'));
        if (runs) out.push({ pipeline: '.drone.yml', step: step.name ?? 'step', runs });
      }
    }
  }
  return out;
}

/** The starting spec text for the repository at deps.flake. */
export async function initSpec(deps: InitDeps): Promise<string> {
  const hosts = await deps.evalJson<Record<string, InitHost>>('nixosConfigurations', INIT_EXPR);
  const hostNames = Object.keys(hosts);
  const all = Object.values(hosts);
  const out: string[] = [
    '# nixenv-verify spec: a starting point written by `nixenv-verify --init`.',
    '# Every value below was read from the repository; CHECK BY HAND the lines marked so,',
    '# then run `nixenv-verify --check-spec`, then a verification (mode: eval is quickest).',
    'version: 1',
    '',
  ];
  if (hostNames.length === 0) {
    out.push('# CHECK BY HAND: the flake has no nixosConfigurations; list the hosts to verify.', 'hosts: []', '');
    return `${out.join('\n')}\n`;
  }
  // Hosts and their config files, as a {host} template when every host's file fits one.
  const files = nixFiles(deps.flake);
  const configs = hostNames.map((h) => hostConfig(files, h));
  const templates = new Set(
    hostNames.map((h, i) =>
      configs[i]
        ?.split('/')
        .map((seg) => (seg === h ? '{host}' : seg === `${h}.nix` ? '{host}.nix' : seg))
        .join('/'),
    ),
  );
  const template = templates.size === 1 && configs.every((c) => c !== undefined) ? [...templates][0] : undefined;
  out.push('# nixosConfigurations of the flake: remove the hosts the claim is not about.', 'hosts:');
  hostNames.forEach((h, i) => {
    if (template) out.push(`  - ${q(h)}`);
    else if (configs[i]) out.push(`  - name: ${q(h)}`, `    config: ${q(configs[i])}`);
    else
      out.push(
        `  - name: ${q(h)}`,
        `    # CHECK BY HAND: no .nix file has ${h} as a path segment; name the host's configuration file.`,
        `    config: ${q(`${h}.nix`)}`,
      );
  });
  if (template)
    out.push(
      'host_defaults:',
      "  # The host's configuration file ({host} is replaced by the host name).",
      `  config: ${q(template)}`,
      "  # Programs each host's system PATH must have: add them (required_programs: [git, …]).",
    );
  out.push('');

  // The shared package: a wrapper from an overlay that hosts' services or system packages use.
  const byAttr = new Map<string, { w: Wrapper; uses: number }>();
  for (const host of all) {
    for (const w of host.wrappers) {
      const uses =
        host.services.filter((s) => s.refs.includes(w.attr)).length + (host.systemPackages.includes(w.name) ? 1 : 0);
      const seen = byAttr.get(w.attr);
      byAttr.set(w.attr, { w, uses: (seen?.uses ?? 0) + uses });
    }
  }
  const candidates = [...byAttr.values()].sort((a, b) => b.uses - a.uses);
  const shared = candidates[0]?.w;
  if (!shared) {
    out.push(
      '# CHECK BY HAND: no overlay attribute is a wrapper (writeShellApplication-like) that a host uses; name yours.',
      'shared:',
      '  package: my-run',
      '  file: nix/my-run.nix',
      '  tools_attr: myTools',
      '',
    );
    return `${out.join('\n')}\n`;
  }
  const lists = all.flatMap((h) => h.toolLists);
  const tools = lists.find((l) => l.file === shared.file) ?? lists[0];
  out.push('# The shared runtime, declared once.');
  if (candidates.length > 1)
    out.push(
      `# CHECK BY HAND: other wrapper candidates: ${candidates
        .slice(1)
        .map((c) => `${c.w.attr} (${c.uses} uses)`)
        .join(', ')}.`,
    );
  out.push('shared:', `  package: ${q(shared.attr)}`, `  program: ${q(shared.program)}`);
  out.push(
    shared.file
      ? `  file: ${q(shared.file)}`
      : '  # CHECK BY HAND: where the package is declared.\n  file: nix/packages.nix',
  );
  if (tools) out.push(`  tools_attr: ${q(tools.attr)}`);
  else
    out.push(
      '  # CHECK BY HAND: no overlay attribute is a list of packages; name the tool list.',
      '  tools_attr: tools',
    );
  out.push('  # A python env (withPackages) bound in the file? Add env_attr: its name.', '');
  out.push(
    '# The tools the runtime must provide, as Nix names them (name-version): remove any the claim does not promise.',
  );
  out.push(
    'expected_tools:',
    '  match: superset',
    `  entries: [${(tools?.entries ?? [])
      .filter((e) => parseDrvName(e).version !== '')
      .map(q)
      .join(', ')}]`,
    '',
  );

  // Consumers.
  out.push('consumers:');
  const services = new Map<string, InitService>();
  const keyOf = (s: InitService): string => `${s.user ? 'user:' : ''}${s.name}`;
  for (const host of all) for (const s of host.services) if (!services.has(keyOf(s))) services.set(keyOf(s), s);
  // A consumer on some hosts only gets `hosts:` (else every check looks for it on every host).
  const onSome = (has: (h: InitHost) => boolean): string[] => {
    const where = hostNames.filter((n) => has(hosts[n]));
    return where.length < hostNames.length ? [`    hosts: [${where.map(q).join(', ')}]`] : [];
  };
  const serviceHosts = (name: string, user = false) =>
    onSome((h) => h.services.some((x) => x.name === name && (x.user ?? false) === user));
  const reaches = async (s: InitService): Promise<boolean> => {
    if (s.refs.includes(shared.attr)) return true;
    for (const drv of s.ctx) if ((await deps.drvClosure(drv)).includes(shared.drvPath)) return true;
    return false;
  };
  const steps = droneSteps(deps.flake, shared.program);
  const droneRunner = [...services.keys()].find((n) => /^drone-runner/.test(n));
  let consumers = 0;
  for (const s of services.values()) {
    if (s.name === droneRunner && steps.length) continue;
    if (!(await reaches(s))) {
      if (s.startedByTimer || /runner|agent/.test(s.name))
        out.push(
          `  # Not proposed: ${s.user ? 'user service ' : ''}${s.name}.service (${s.startedByTimer ? 'timer-started' : 'runner-like'}) does not refer to ${shared.attr}; add it if it should.`,
        );
      continue;
    }
    consumers++;
    if (s.user) {
      out.push(
        `  - name: ${q(s.name)}`,
        `    # A user service (systemd.user.services)${s.startedByTimer ? ', started by a user timer' : ''}. CHECK BY HAND: add module: its module file.`,
        '    kind: systemd-user-service',
        `    unit: ${q(`${s.name}.service`)}`,
        ...(s.startedByTimer ? ['    started_by_timer: true'] : []),
        ...serviceHosts(s.name, true),
      );
      continue;
    }
    const runner = /runner|agent|buildkite|gitlab|github|actions|jenkins|hydra/.test(s.name) && !s.startedByTimer;
    out.push(`  - name: ${q(s.name)}`);
    if (runner)
      out.push(
        "    # A CI runner: its jobs run with the service's PATH. CHECK BY HAND: add module: its module file.",
        '    kind: runner-service',
      );
    else
      out.push(
        `    # ${s.startedByTimer ? 'Started by a timer' : 'A service that refers to the wrapper'}. CHECK BY HAND: add module: its module file.`,
        '    kind: systemd-service',
      );
    out.push(`    unit: ${q(`${s.name}.service`)}`);
    if (s.startedByTimer) out.push('    started_by_timer: true');
    out.push(...serviceHosts(s.name));
  }
  for (const step of steps) {
    if (!droneRunner) {
      out.push(
        `  # Not proposed: Drone step ${step.step} runs ${shared.program}, but no host has a drone-runner service.`,
      );
      continue;
    }
    consumers++;
    out.push(
      `  - name: ${q(`drone-${step.step}`)}`,
      `    # Drone step ${JSON.stringify(step.step)}: ${shared.program} ${step.runs}.`,
      '    kind: drone-step',
      `    pipeline: ${q(step.pipeline)}`,
      `    runs: ${q(step.runs)}`,
      `    runner_unit: ${q(`${droneRunner}.service`)}`,
      ...serviceHosts(droneRunner),
    );
  }
  // Dev shells built from the wrapper (`nix develop`): their PATH must put it and the tools first.
  const shells = await deps
    .evalJson<Record<string, Record<string, string | null>>>('devShells', INIT_SHELLS_EXPR)
    .catch(() => ({}));
  for (const [system, byName] of Object.entries(shells))
    for (const [name, drv] of Object.entries(byName)) {
      const attr = `devShells.${system}.${name}`;
      if (!drv || !(await deps.drvClosure(drv)).includes(shared.drvPath)) {
        out.push(`  # Not proposed: ${attr} is not built from ${shared.attr}; add it if developers should use it.`);
        continue;
      }
      consumers++;
      out.push(
        `  - name: ${q(`dev-shell-${name}`)}`,
        `    # nix develop .#${name}: ${shared.program} and the tools must come first on its PATH.`,
        '    kind: dev-shell',
        `    attr: ${q(attr)}`,
      );
    }
  const carriesTools = (h: InitHost) =>
    tools !== undefined && tools.entries.length > 0 && tools.entries.every((e) => h.systemPackages.includes(e));
  if (all.some((h) => h.systemPackages.includes(shared.name) || carriesTools(h))) {
    consumers++;
    out.push(
      `  # The hosts' system packages carry the ${all.some((h) => h.systemPackages.includes(shared.name)) ? 'wrapper' : 'tool list'}.`,
      '  - name: system-packages',
      '    kind: system-packages',
      ...onSome((h) => h.systemPackages.includes(shared.name) || carriesTools(h)),
    );
  }
  out.push(
    '  # CHECK BY HAND: flake outputs that must carry the wrapper (a bundle, an image, a check): add',
    '  #   - name: bundle',
    '  #     kind: derivation',
    '  #     attr: packages.x86_64-linux.<name>',
  );
  if (consumers === 0) out.push('  # CHECK BY HAND: no consumer found; a spec needs at least one.');
  out.push('', '# Grep proofs of "declared once" (optional): see the README, Writing a spec.');
  return `${out.join('\n')}\n`;
}
