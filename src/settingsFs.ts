// Settings checks that need the filesystem, run before anything else: paths stay in
// the repository, outputs overwrite nothing they must not (exit 2 otherwise).
import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  readFileSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { SettingsError } from './errors.js';
import { fileKind } from './storeFs.js';
import { camel, envName, OUTPUT_SETTINGS, type Settings } from './settings.js';
import { BUILTIN_SPEC_YAML } from './claim/builtin.js';
import { droneConsumer, sweepConsumer } from './claim/claim.js';
import { specKeyPlace } from './claim/load.js';

export interface FsCheckEnv {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const inside = (root: string, p: string): boolean =>
  p === root || p.startsWith(root.endsWith(path.sep) ? root : `${root}${path.sep}`);

/** Real path of p, or of its nearest existing ancestor joined with the rest. */
function realish(p: string): string {
  let head = p;
  const rest: string[] = [];
  while (!existsSync(head) && path.dirname(head) !== head) {
    rest.unshift(path.basename(head));
    head = path.dirname(head);
  }
  try {
    return path.join(realpathSync(head), ...rest);
  } catch {
    return p;
  }
}

/**
 * Repository files the claim names, each labelled by where its value came from: the setting as the user gave it
 * (flag or PLUGIN_*), else the spec key with its line (never a PLUGIN_* variable the user did not set).
 */
function repoPaths(settings: Settings): { label: string; rel: string }[] {
  const c = settings.claim;
  let specText: string | undefined;
  try {
    specText = settings.spec ? readFileSync(path.resolve(settings.flake, settings.spec), 'utf8') : BUILTIN_SPEC_YAML;
  } catch {
    specText = undefined;
  }
  const from = (setting: string | undefined, ...keys: PropertyKey[][]): string => {
    const given = setting === undefined ? undefined : c.settingLabels?.[setting];
    if (given) return given;
    const file = settings.spec ?? 'built-in spec';
    return specText === undefined ? `spec ${file} ${keys[0].join('.')}` : specKeyPlace(specText, file, ...keys);
  };
  const list: { label: string; rel: string }[] = [
    { label: from('nix_dir', ['search_dir']), rel: c.searchDir },
    { label: from('packages_file', ['shared', 'file']), rel: c.shared.file },
  ];
  const sweep = sweepConsumer(c);
  const drone = droneConsumer(c);
  c.consumers.forEach((consumer, i) => {
    if ('module' in consumer && consumer.module !== undefined)
      list.push({
        label: from(consumer === sweep ? 'sweep_file' : consumer === drone ? 'runner_file' : undefined, [
          'consumers',
          i,
          'module',
        ]),
        rel: consumer.module,
      });
    if (consumer.kind === 'drone-step') {
      list.push({
        label: from(consumer === drone ? 'drone_file' : undefined, ['consumers', i, 'pipeline']),
        rel: consumer.pipeline,
      });
      list.push({
        label: from(consumer === drone ? 'drone_script' : undefined, ['consumers', i, 'runs']),
        rel: consumer.runs,
      });
    }
  });
  c.proofs.forEach((p, i) => {
    if (p.in !== undefined) list.push({ label: from(undefined, ['proofs', i, 'in']), rel: p.in });
    if (p.allIn !== undefined) list.push({ label: from(undefined, ['proofs', i, 'all_in']), rel: p.allIn });
  });
  c.hosts.forEach((host, i) =>
    list.push({
      label: from('host_config', ['hosts', i, 'config'], ['host_defaults', 'config'], ['hosts', i]),
      rel: host.config,
    }),
  );
  return list;
}

/**
 * Exit-2 checks that need the filesystem, run before anything else: path
 * settings naming a FIFO, socket or device, or a symlink out of the
 * repository; output paths that are directories, devices, under /proc or
 * /sys, named twice, unwritable, or that would overwrite an input.
 */
export function checkSettingsFs(settings: Settings, { env, cwd }: FsCheckEnv): void {
  const problems: string[] = [];
  const flakeReal = existsSync(settings.flake) ? realpathSync(settings.flake) : settings.flake;
  for (const { label, rel } of repoPaths(settings)) {
    const full = path.join(settings.flake, rel);
    let st: Stats;
    try {
      st = lstatSync(full);
    } catch {
      continue; // missing: the check that reads it says so
    }
    const special = fileKind(st);
    if (special) {
      problems.push(`${label}: ${JSON.stringify(rel)} is ${special}; expected a file or directory of the repository`);
      continue;
    }
    let target: string | undefined;
    try {
      target = fileKind(statSync(full));
    } catch {
      /* dangling: the check that reads it says so */
    }
    const real = realish(full);
    if (target)
      problems.push(
        `${label}: ${JSON.stringify(rel)} is a symlink to ${target}; expected a file or directory of the repository`,
      );
    else if (!inside(flakeReal, real))
      problems.push(
        `${label}: ${JSON.stringify(rel)} leads out of the repository (to ${real}); expected a path inside it`,
      );
  }

  const inputs = new Set([
    path.join(flakeReal, 'flake.nix'),
    path.join(flakeReal, 'flake.lock'),
    ...repoPaths(settings).map((p) => realish(path.join(settings.flake, p.rel))),
  ]);
  if (settings.spec) inputs.add(realish(path.resolve(settings.flake, settings.spec)));
  const nixDirReal = realish(path.join(settings.flake, settings.claim.searchDir));
  const seen = new Map<string, string>();
  const claimed: [string, string | undefined][] = [
    ['DRONE_OUTPUT', env.DRONE_OUTPUT],
    ['DRONE_CARD_PATH', env.DRONE_CARD_PATH],
  ];
  for (const [name, value] of claimed)
    if (value && !value.startsWith('/dev/')) seen.set(realish(path.resolve(cwd, value)), name);
  for (const name of OUTPUT_SETTINGS) {
    const value = (settings as unknown as Record<string, string | undefined>)[camel(name)];
    if (value === undefined) continue;
    const variable = envName(name);
    const problem = outputProblem(path.resolve(cwd, value));
    if (problem) {
      problems.push(`${variable}: ${JSON.stringify(value)} ${problem}`);
      continue;
    }
    const real = realish(path.resolve(cwd, value));
    const twice = seen.get(real);
    if (twice)
      problems.push(
        `${variable}: ${JSON.stringify(value)} is the same file as ${twice}; give each output its own file`,
      );
    else if (inputs.has(real) || (settings.claim.searchDir !== '.' && inside(nixDirReal, real)))
      problems.push(
        `${variable}: ${JSON.stringify(value)} would overwrite an input of the verification; write reports elsewhere`,
      );
    seen.set(real, variable);
  }
  if (problems.length) throw new SettingsError(`invalid settings:\n  ${problems.join('\n  ')}`);
}

/** Why an output path cannot be written, or undefined. */
function outputProblem(file: string): string | undefined {
  const real = realish(file);
  const roots = ['/proc', '/sys', '/dev'];
  const under = roots.find((r) => inside(r, file)) ?? roots.find((r) => inside(r, real));
  if (under) return `is under ${under}; expected a regular file path`;
  if (existsSync(file)) {
    const st = statSync(file);
    if (st.isDirectory()) return 'is a directory; expected a file path';
    const special = fileKind(st);
    if (special) return `is ${special}; expected a regular file path`;
    try {
      accessSync(file, constants.W_OK);
    } catch {
      return `is not writable${ownerHint(file)}`;
    }
    return undefined;
  }
  let dir = path.dirname(file);
  while (!existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  if (!statSync(dir).isDirectory()) return `cannot be created: ${dir} is not a directory`;
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return `cannot be created: ${dir} is not writable${ownerHint(dir)}`;
  }
  return undefined;
}

/**
 * Why a path is not writable when another user owns it: the image runs as
 * an unprivileged user, and Drone's clone (root's) owns the workspace.
 */
function ownerHint(file: string): string {
  const uid = process.getuid?.();
  const owner = statSync(file).uid;
  if (uid === undefined || uid === owner) return '';
  return ` (it belongs to uid ${owner}, this run is uid ${uid}: under Drone the clone belongs to root; make it writable in an earlier step, write the report elsewhere, or run the step with user: root)`;
}
