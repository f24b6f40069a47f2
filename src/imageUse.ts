// A container image made by nixpkgs' dockerTools (spec `kind: derivation`, `image: true`), judged as Docker runs it.
//
// Contract, from nixpkgs pkgs/build-support/docker/default.nix and stream_layered_image.py:
// - buildLayeredImage is `${stream} | pigz > $out` with `passthru.stream`; streamLayeredImage is the stream script
//   (`makeWrapper streamScript $out --add-flags $conf`) with `passthru.conf`. conf is the JSON the script reads:
//   `config` (copied into the image's config.json: Entrypoint, Cmd, Env), `customisation_layer`, `store_layers`,
//   `from_image`. Read: the attribute's `stream.conf` (or `conf`).
// - The image's root is the customisation layer: symlinkJoin of `contents` (its `paths`), whose lndir loop keeps the
//   first content's file: /bin/<name> is the first content's bin/<name>. The store paths are the other layers.
// - Docker runs Entrypoint ++ Cmd (Cmd alone without Entrypoint), exec form (no shell, no `$VAR` expansion), with
//   the config's Env; without PATH in Env, Docker's default PATH
//   (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin).
// Facts: the config from the built conf JSON (build mode) or from the conf derivation (eval mode: its `text`, its
// `configJson`, or the text of the `*-base.json`/`*-config.json` writeText it reads); `contents` from the
// customisation layer derivation's `paths` in both modes; a content's bin/ listed after a build, by package name in
// eval mode. Not followed (cannot follow): no Entrypoint/Cmd, a word with `$`, a base image (`fromImage`: layers
// fetched at run time), a script in another package on the way to the program.
import { readdirSync, readFileSync } from 'node:fs';
import type { DerivationConsumer } from './claim/types.js';
import type { NixClient } from './nix/client.js';
import { packageOf, parseStorePath } from './parse/storePath.js';
import { analyzeScript, finalRunOf, pathDirs, programName, resolvePath } from './shell/index.js';
import { exists, realpath, storeRootOf } from './storeFs.js';
import { DerivationFiles } from './wrappers/derivation.js';
import { followWrapper } from './wrappers/index.js';

export interface ImageFinding {
  problems: string[];
  evidence: string[];
  unknowns: string[];
}

interface ImageConfig {
  Entrypoint?: unknown;
  Cmd?: unknown;
  Env?: unknown;
}

interface ImageFacts {
  conf: string;
  config: ImageConfig;
  contents: string[];
  fromImage: string | null;
}

const DOCKER_DEFAULT_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const SHELLS = new Set(['sh', 'bash', 'dash']);
const isShellText = (t: string): boolean => /^#!\s*\S*\/(ba|da)?sh\b/.test(t) || /^#!\s*\S*\/env\s+(ba)?sh\b/.test(t);

const parseJson = (text: string): Record<string, unknown> | undefined => {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/** The input derivation that outputs `root`. */
async function producer(nix: NixClient, inputs: readonly string[], root: string): Promise<string | undefined> {
  for (const i of inputs) if (Object.values((await nix.derivation(i)).outputs).includes(root)) return i;
  return undefined;
}

/** The image's conf derivation and its facts, or why they cannot be read. */
async function imageFacts(
  nix: NixClient,
  mode: 'build' | 'eval',
  attr: string,
): Promise<{ facts: ImageFacts } | { unknown: string } | { problem: string }> {
  const got = await nix.evalJson<{ drv: string; path: string } | null>(
    attr,
    'd: let s = if builtins.isAttrs d && d ? stream then d.stream else d; in ' +
      'if builtins.isAttrs s && s ? conf && builtins.isAttrs s.conf && s.conf ? drvPath ' +
      'then { drv = s.conf.drvPath; path = s.conf.outPath; } else null',
  );
  if (!got)
    return {
      unknown: `cannot follow: ${attr} has no dockerTools image config (no stream.conf or conf attribute) at ${attr}`,
    };
  const info = await nix.derivation(got.drv);
  // The customisation layer (the image's root): named in the conf json/env, or the `*-customisation-layer` input.
  const confText = info.env.text !== undefined ? parseJson(info.env.text) : undefined;
  let layerDrv: string | undefined;
  const layerPath =
    (typeof confText?.customisation_layer === 'string' ? confText.customisation_layer : undefined) ??
    info.env.customisationLayer;
  if (layerPath) layerDrv = await producer(nix, info.inputDrvs, layerPath);
  layerDrv ??= info.inputDrvs.find((d) => d.endsWith('-customisation-layer.drv'));
  if (!layerDrv) return { unknown: `cannot follow: ${got.drv} names no customisation layer (the image's root)` };
  const layerEnv = (await nix.derivation(layerDrv)).env;
  // symlinkJoin's `paths` (nixpkgs: passed as a file; some trees name it `pathsList`), linked first-wins.
  const paths = layerEnv.paths ?? layerEnv.pathsList;
  if (paths === undefined)
    return { unknown: `cannot follow: the customisation layer ${layerDrv} has no \`paths\` (not a symlinkJoin)` };
  // extraCommands/fakeRootCommands run in the image's root after the contents are linked: they may change /bin.
  const extra = ['extraCommands', 'fakeRootCommands', ...('extraCommands' in layerEnv ? [] : ['postBuild'])].find(
    (k) => (layerEnv[k] ?? '').trim() !== '',
  );
  if (extra)
    return {
      unknown: `cannot follow: the customisation layer ${layerDrv} runs ${extra} in the image's root (${JSON.stringify(layerEnv[extra].slice(0, 80))})`,
    };
  const contents = paths.split(/\s+/).filter((p) => p !== '');
  let config: ImageConfig | undefined;
  let fromImage: string | null = null;
  if (mode === 'build') {
    const built = await nix.buildDrvs([got.drv]);
    if (!built.ok)
      return { problem: `${attr}: its image config ${got.drv} does not build: ${built.error?.message.split('\n')[0]}` };
    // A trailing comma (a conf written line by line, not by jq) is read past; anything else unparsable is not.
    const raw = readFileSync(got.path, 'utf8');
    const json = parseJson(raw) ?? parseJson(raw.replace(/,(\s*[}\]])/g, '$1'));
    if (!json || typeof json.config !== 'object' || json.config === null)
      return { unknown: `cannot follow: ${got.path} is not a conf json with a \`config\` object` };
    config = json.config;
    fromImage = typeof json.from_image === 'string' ? json.from_image : null;
  } else {
    const configJson = info.env.configJson !== undefined ? parseJson(`{"config":${info.env.configJson}}`) : undefined;
    let base = confText ?? configJson;
    if (!base || typeof base.config !== 'object') {
      // nixpkgs: conf reads `${baseJson}` (writeText "<name>-base.json" of { config, architecture, os }).
      const script = `${info.env.buildCommand ?? ''}\n${info.env.args ?? ''}`;
      for (const d of info.inputDrvs) {
        const e = (await nix.derivation(d)).env;
        const j = e.text !== undefined ? parseJson(e.text) : undefined;
        const out = Object.values((await nix.derivation(d)).outputs)[0];
        if (j && typeof j.config === 'object' && out && script.includes(out)) base = j;
      }
    }
    if (!base || typeof base.config !== 'object' || base.config === null)
      return { unknown: `cannot follow: the image config is not readable from ${got.drv} without a build` };
    config = base.config;
    const fi = confText?.from_image ?? info.env.fromImage;
    fromImage = typeof fi === 'string' && fi !== '' ? fi : null;
  }
  return { facts: { conf: mode === 'build' ? got.path : got.drv, config, contents, fromImage } };
}

/** Does store path `root` hold `<sub>/<name>`: listed after a build, by package name in eval mode. */
function holds(mode: 'build' | 'eval', root: string, sub: string, name: string): boolean {
  if (mode === 'build') return exists(`${root}${sub}/${name}`);
  if (sub !== '/bin' && sub !== '/sbin') return false;
  const sp = parseStorePath(root);
  return sp !== undefined && (sp.name === name || packageOf(sp.name).pname === name);
}

interface Found {
  root: string;
  file: string;
  via: string;
}

/** Looks up `word` in the image: a store path itself, a root path in the first content holding it, a name on PATH. */
function lookUp(mode: 'build' | 'eval', facts: ImageFacts, word: string, dirs: readonly string[]): Found | undefined {
  const inDir = (dir: string, name: string): Found | undefined => {
    const sp = parseStorePath(dir);
    if (sp) {
      if (!holds(mode, sp.root, sp.subPath, name)) return undefined;
      const file = `${dir}/${name}`;
      return { root: mode === 'build' ? (storeRootOf(file) ?? sp.root) : sp.root, file, via: dir };
    }
    for (const c of facts.contents)
      if (holds(mode, c, dir, name)) {
        const file = `${c}${dir}/${name}`;
        const real = mode === 'build' ? realpath(file) : undefined;
        return {
          root: (real ? parseStorePath(real)?.root : undefined) ?? c,
          file: real ?? file,
          via: `${dir} (the image root: contents ${c})`,
        };
      }
    return undefined;
  };
  if (word.startsWith('/')) {
    const slash = word.lastIndexOf('/');
    return inDir(word.slice(0, slash) || '/', word.slice(slash + 1));
  }
  for (const d of dirs) {
    const f = inDir(d, word);
    if (f) return f;
  }
  return undefined;
}

/** The program names a store path provides, in the shared runtime (build: its bin/; eval: its package name). */
function providedNames(mode: 'build' | 'eval', root: string): string[] {
  if (mode === 'build') {
    try {
      return exists(`${root}/bin`) ? (readdirSafe(`${root}/bin`) ?? []) : [];
    } catch {
      return [];
    }
  }
  const sp = parseStorePath(root);
  return sp ? [packageOf(sp.name).pname] : [];
}
const readdirSafe = (d: string): string[] | undefined => {
  try {
    return readdirSync(d);
  } catch {
    return undefined;
  }
};

/** Judges an image: its entrypoint runs the program, its PATH resolves the shared tools, it holds the package. */
export async function judgeImage(
  nix: NixClient,
  mode: 'build' | 'eval',
  consumer: DerivationConsumer,
  expected: { outPath: string; drvPath: string },
  program: string,
): Promise<ImageFinding> {
  const out: ImageFinding = { problems: [], evidence: [], unknowns: [] };
  const name = consumer.name;
  const attr = consumer.attr;
  const got = await imageFacts(nix, mode, attr);
  if ('unknown' in got) return { ...out, unknowns: [`${name}: ${got.unknown}`] };
  if ('problem' in got) return { ...out, problems: [`${name}: ${got.problem}`] };
  const f = got.facts;
  const at = `${f.conf} config`;
  out.evidence.push(
    `${name}: image config ${f.conf}: ${JSON.stringify({ Entrypoint: f.config.Entrypoint, Cmd: f.config.Cmd, Env: f.config.Env })}; contents ${f.contents.join(' ') || '(none)'}`,
  );
  if (f.fromImage)
    return {
      ...out,
      unknowns: [
        `${name}: cannot follow: a base image (fromImage ${f.fromImage}): its layers are not the repository's, at ${at}`,
      ],
    };
  const words = (v: unknown, key: string): string[] | undefined | { bad: string } =>
    v === undefined || v === null
      ? undefined
      : Array.isArray(v) && v.every((w) => typeof w === 'string')
        ? v
        : { bad: `${key} is ${JSON.stringify(v)}, not a list of strings` };
  const ep = words(f.config.Entrypoint, 'Entrypoint');
  const cmd = words(f.config.Cmd, 'Cmd');
  for (const w of [ep, cmd])
    if (w && 'bad' in w) return { ...out, unknowns: [`${name}: cannot follow: ${w.bad} at ${at}`] };
  const argv = [...((ep as string[] | undefined) ?? []), ...((cmd as string[] | undefined) ?? [])];
  const key = ep && (ep as string[]).length ? 'Entrypoint' : 'Cmd';
  if (!argv.length)
    return { ...out, unknowns: [`${name}: cannot follow: the image config has neither Entrypoint nor Cmd at ${at}`] };
  // PATH: the last PATH= of Env, else Docker's default.
  const envList = words(f.config.Env, 'Env');
  if (envList && 'bad' in envList) return { ...out, unknowns: [`${name}: cannot follow: ${envList.bad} at ${at}`] };
  const pathEnv = (envList ?? []).filter((e) => e.startsWith('PATH=')).pop();
  const dirs = pathEnv
    ? pathEnv
        .slice(5)
        .split(':')
        .filter((d) => d !== '')
    : DOCKER_DEFAULT_PATH;
  out.evidence.push(`${name}: the image's PATH: ${dirs.join(':')}${pathEnv ? ' (config Env)' : " (Docker's default)"}`);
  const wanted = `${expected.outPath}/bin/${program}`;

  // (1) What Docker runs: argv[0], through `sh -c SCRIPT`, must be the shared program.
  const entry = await (async (): Promise<{ problem?: string; unknown?: string; evidence?: string }> => {
    if (argv[0].includes('$'))
      return {
        unknown: `cannot follow: ${key} word \`${argv[0]}\` is computed (exec form does not expand it) at ${at}`,
      };
    const first = lookUp(mode, f, argv[0], dirs);
    if (!first) return { problem: `${key} ${JSON.stringify(argv)}: ${argv[0]} is not in the image (${at})` };
    const runs = (x: Found): boolean => x.root === expected.outPath && programName(x.file) === program;
    if (runs(first))
      return { evidence: `${key} ${JSON.stringify(argv)} runs ${first.file} (via ${first.via}) = ${wanted}` };
    if (SHELLS.has(programName(first.file)) && argv[1] === '-c' && argv[2] !== undefined) {
      const where = `${at} ${key} (${programName(first.file)} -c)`;
      const analysis = await analyzeScript(argv[2], { inheritedPath: dirs.map((d) => ({ dir: d })) });
      if (analysis.parseError)
        return { unknown: `cannot follow: ${where}: not valid shell (${analysis.parseError.message})` };
      const run = finalRunOf(analysis, program);
      if (!run) return { problem: `${key} ${JSON.stringify(argv)}: its script never runs ${program} (${where})` };
      const blocking = analysis.unfollowable.find((u) => u.line <= run.line);
      if (blocking) return { unknown: `cannot follow: ${where}: \`${blocking.text}\`: ${blocking.reason}` };
      if (run.conditional) return { problem: `${where}: \`${run.text}\` runs only on some branches` };
      const later = analysis.invocations
        .slice(analysis.invocations.indexOf(run) + 1)
        .filter((i) => i.kind === 'external');
      if (later.length) return { problem: `${where}: \`${later[0].text}\` runs after ${program}` };
      const here = pathDirs(
        resolvePath(
          run.path,
          dirs.map((d) => ({ dir: d })),
        ),
      );
      if (!here) return { unknown: `cannot follow: ${where}: the PATH of \`${run.text}\` cannot be computed` };
      const r = lookUp(mode, f, run.program, here);
      if (!r)
        return { problem: `${where}: \`${run.text}\`: ${run.program} is not in the image (PATH ${here.join(':')})` };
      if (runs(r)) return { evidence: `${where}: \`${run.text}\` runs ${r.file} (via ${r.via}) = ${wanted}` };
      return { problem: `${where}: \`${run.text}\` runs ${r.file} (via ${r.via}), not ${wanted}` };
    }
    // Another program: a script in another package might run the program; a built program is not it.
    let script: boolean;
    if (mode === 'build') {
      let head = '';
      try {
        head = readFileSync(first.file, 'utf8').slice(0, 200);
      } catch {
        head = '';
      }
      script = isShellText(head);
    } else {
      const closure = (await nix.drvClosure(await confDrv(nix, attr))).filter((d) => d.endsWith('.drv'));
      const drv = await producer(nix, closure, first.root);
      script = drv !== undefined && isShellText((await nix.derivation(drv)).env.text ?? '');
    }
    if (script)
      return {
        unknown: `cannot follow: ${key} runs the script ${first.file}, not ${wanted}; what it runs is not followed, at ${at}`,
      };
    return { problem: `${key} ${JSON.stringify(argv)} runs ${first.file} (via ${first.via}), not ${wanted}` };
  })();
  if (entry.problem) out.problems.push(`${name}: ${entry.problem}`);
  if (entry.unknown) out.unknowns.push(`${name}: ${entry.unknown}`);
  if (entry.evidence) out.evidence.push(`${name}: ${entry.evidence}`);

  // (2) Tools: a name the shared runtime provides must resolve to the shared one on the PATH the program runs
  // with in the image: the wrapper's own PATH (src/wrappers: a writeShellApplication/makeWrapper prefix wins over
  // the image's) on top of the image's PATH it inherits. A wrapper not read: the image's PATH alone.
  const run = await followWrapper(
    new DerivationFiles((d) => nix.derivation(d), [expected.drvPath]),
    wanted,
    dirs.map((d) => ({ dir: d })),
  );
  const programDirs = run.ok ? [...run.entries, ...dirs.filter((d) => !run.entries.includes(d))] : dirs;
  out.evidence.push(
    `${name}: ${program} runs with PATH ${programDirs.join(':')}${run.ok ? ` (its wrapper, ${run.source}, on the image's)` : ` (its wrapper not read: ${'cannotFollow' in run ? run.cannotFollow : run.problem})`}`,
  );
  const shared = await sharedRuntime(nix, mode, expected);
  const seen = new Set<string>();
  for (const [root, names] of shared) {
    for (const n of names) {
      if (seen.has(n)) continue;
      seen.add(n);
      const r = lookUp(mode, f, n, programDirs);
      if (r && r.root !== root && !shared.some(([other, ns]) => other === r.root && ns.includes(n)))
        out.problems.push(
          `${name}: in the image, \`${n}\` (on the PATH ${program} runs with) resolves to ${r.file} (via ${r.via}), not the shared runtime's ${root}/bin/${n}`,
        );
    }
  }

  // (3) The package is in the image.
  if (mode === 'build') {
    const closure = await nix.closure(f.conf);
    const has = closure.includes(expected.outPath);
    out.evidence.push(
      `${name}: the image's store layers (closure of ${f.conf}, ${closure.length} paths) ${has ? 'hold' : 'LACK'} ${expected.outPath}`,
    );
    if (!has) out.problems.push(`${name}: the image does not hold ${expected.outPath}`);
  } else {
    const inputs = await nix.drvClosure(await confDrv(nix, attr));
    const has = inputs.includes(expected.drvPath);
    out.evidence.push(`${name}: the image config is ${has ? '' : 'NOT '}built from ${expected.drvPath}`);
    if (!has)
      out.problems.push(
        `${name}: the image is not built from ${expected.drvPath}, so it cannot hold ${expected.outPath}`,
      );
  }
  return out;
}

async function confDrv(nix: NixClient, attr: string): Promise<string> {
  return nix.evalJson<string>(attr, 'd: let s = if d ? stream then d.stream else d; in s.conf.drvPath');
}

/** The shared package's runtime (build: its runtime closure; eval: the outputs of its input closure), with names. */
async function sharedRuntime(
  nix: NixClient,
  mode: 'build' | 'eval',
  expected: { outPath: string; drvPath: string },
): Promise<[string, string[]][]> {
  if (mode === 'build') return (await nix.closure(expected.outPath)).map((p) => [p, providedNames(mode, p)]);
  const result: [string, string[]][] = [];
  for (const d of (await nix.drvClosure(expected.drvPath)).filter((p) => p.endsWith('.drv'))) {
    const info = await nix.derivation(d);
    for (const o of Object.values(info.outputs)) result.push([o, providedNames(mode, o)]);
  }
  return result;
}
