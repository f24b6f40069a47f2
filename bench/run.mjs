#!/usr/bin/env node
// The benchmark (npm run bench): prints figures, it is not a test.
//
// For each host count N it makes a temporary bench repo (bench/make-hosts.mjs:
// the cc-ci fixture with N hosts and ≈2.5 s of evaluation CPU per host), does
// one untimed warm-up, then runs ROUNDS rounds; a round runs every variant
// once, the order rotating by one each round:
//   (a) nixenv-verify, build mode, checks 1-5
//   (b) bench/least-build.sh: the least Nix work those checks need, by hand
//   (c) bench/claim.sh: the claim's HOW 1-5 commands as written, in sequence
//   (d) nixenv-verify, eval mode, checks 1-5
//   (e) bench/least-eval.sh: the least evaluation work eval mode needs
//
// No timed run can lean on Nix's evaluation cache: before every run the repo
// gets a new commit (resalt: a comment in flake.nix changes), so the flake's
// tree, narHash and hence eval-cache fingerprint are new, as for every CI
// commit. The derivations do not change with the salt, so after the warm-up
// every store path exists and builds are cache hits (as on a CI runner where
// most paths exist already).
//
// While a variant runs, its whole process tree is sampled from /proc every
// SAMPLE_MS: the sum of its RSS (peak kept) and how many nix processes run at
// once. Temp repos live under one mktemp dir in /tmp, removed at the end.
//
// Environment: BENCH_QUICK=1 (2 rounds, N=2), BENCH_ROUNDS, BENCH_HOSTS=2,4,8,
// BENCH_CLAIM_MAX_N (largest N that runs (c); default 2, the claim's two hosts), BENCH_LOAD_ROUNDS,
// BENCH_JSON (raw figures; default /tmp/nixenv-verify-bench-<time>.json).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LOAD, makeBenchRepo, removeBenchRepo, resalt } from './make-hosts.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 2 : 5));
const HOST_COUNTS = (process.env.BENCH_HOSTS ?? (QUICK ? '2' : '2,4,8')).split(',').map(Number);
const CLAIM_MAX_N = Number(process.env.BENCH_CLAIM_MAX_N ?? 2);
const LOAD = { ...DEFAULT_LOAD, ...(process.env.BENCH_LOAD_ROUNDS ? { rounds: Number(process.env.BENCH_LOAD_ROUNDS) } : {}) };
const JSON_OUT = process.env.BENCH_JSON ?? `/tmp/nixenv-verify-bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
const CORES = os.availableParallelism();
const SAMPLE_MS = 25;
const PAGE_KB = Number(execFileSync('getconf', ['PAGESIZE']).toString().trim()) / 1024;
const CHECKS = 'build,single-source,path-superset,entrypoint-parity,host-parity';
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

const TARGETS = { ab: 1.1, de: 1.1, ac: 0.6, nodeRssMb: 120 };

// nix clones the secrets/ submodule from a file:// URL; git refuses that by default.
const baseEnv = {
  ...process.env,
  GIT_CONFIG_COUNT: '1',
  GIT_CONFIG_KEY_0: 'protocol.file.allow',
  GIT_CONFIG_VALUE_0: 'always',
};

const VARIANTS = [
  { id: 'a', label: 'nixenv-verify, build mode' },
  { id: 'b', label: 'least build work, by hand' },
  { id: 'c', label: 'claim HOW 1-5 as written' },
  { id: 'd', label: 'nixenv-verify, eval mode' },
  { id: 'e', label: 'least eval work, by hand' },
];

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

// ---------------------------------------------------------------- /proc sampling

function readProcs() {
  const procs = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    procs.set(Number(name), { pid: Number(name), comm, state: f[0], ppid: Number(f[1]), start: f[19], rssKb: Number(f[21]) * PAGE_KB });
  }
  return procs;
}

/** The nix subcommand of an argv (`eval`, `build`, …), skipping global options. */
function nixSubcommand(argv) {
  const withValue = { '--extra-experimental-features': 1, '--experimental-features': 1, '--option': 2, '--out-link': 1, '-o': 1 };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a in withValue) i += withValue[a];
    else if (!a.startsWith('-')) return a;
  }
  return argv.slice(1).join(' ') || '(none)';
}

/** Samples the process tree under rootPid until stopped. */
function startSampler(rootPid) {
  const s = { peakKb: 0, maxNix: 0, maxEvals: 0, samples: 0, nixSeen: new Map() };
  const tick = () => {
    const procs = readProcs();
    const children = new Map();
    for (const p of procs.values()) {
      if (!children.has(p.ppid)) children.set(p.ppid, []);
      children.get(p.ppid).push(p);
    }
    let sum = 0;
    let nix = 0;
    let evals = 0;
    const stack = procs.has(rootPid) ? [procs.get(rootPid)] : [];
    while (stack.length) {
      const p = stack.pop();
      sum += p.rssKb;
      // A running nix process: not a fork of one (nix forks builders and git
      // before exec), not a zombie that has exited and waits to be reaped.
      if (p.comm === 'nix' && p.state !== 'Z' && procs.get(p.ppid)?.comm !== 'nix') {
        nix++;
        const key = `${p.pid}:${p.start}`;
        if (!s.nixSeen.has(key)) {
          let argv = [];
          try {
            argv = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
          } catch {
            // gone
          }
          // An empty argv: the process is exiting (its memory is gone); not counted.
          if (argv.length === 0) {
            nix--;
            stack.push(...(children.get(p.pid) ?? []));
            continue;
          }
          // An evaluation: a flake installable (ref#attr) in its arguments.
          s.nixSeen.set(key, { sub: nixSubcommand(argv), evaluates: argv.some((a) => a.includes('#')) });
        }
        if (s.nixSeen.get(key).evaluates) evals++;
      }
      stack.push(...(children.get(p.pid) ?? []));
    }
    s.samples++;
    s.peakKb = Math.max(s.peakKb, sum);
    s.maxNix = Math.max(s.maxNix, nix);
    s.maxEvals = Math.max(s.maxEvals, evals);
  };
  const timer = setInterval(tick, SAMPLE_MS);
  tick();
  return {
    stop() {
      clearInterval(timer);
      const bySub = {};
      for (const { sub } of s.nixSeen.values()) bySub[sub] = (bySub[sub] ?? 0) + 1;
      return { peakTreeKb: s.peakKb, maxConcurrentNix: s.maxNix, maxConcurrentEvals: s.maxEvals, samples: s.samples, nixSeen: s.nixSeen.size, nixSeenBySub: bySub };
    },
  };
}

// ---------------------------------------------------------------- running

let current; // the running child, for cleanup on a signal

/** Runs argv (under /usr/bin/time for CPU seconds) with the tree sampled; resolves with the figures. */
function measure(argv, { env, cwd, stdout, stderr }) {
  return new Promise((resolve, reject) => {
    const timeFile = join(work, 'time.txt');
    rmSync(timeFile, { force: true });
    const full = TIME ? [TIME, '-f', '%e %U %S', '-o', timeFile, ...argv] : argv;
    const started = process.hrtime.bigint();
    const child = spawn(full[0], full.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    current = child;
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const sampler = startSampler(child.pid);
    child.on('error', reject);
    child.on('close', (code) => {
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      const sampled = sampler.stop();
      current = undefined;
      const text = Buffer.concat(out).toString();
      const errText = Buffer.concat(err).toString();
      if (stdout) writeFileSync(stdout, text);
      if (stderr) writeFileSync(stderr, errText);
      let cpuS;
      if (TIME && existsSync(timeFile)) {
        const [, u, s] = readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
        cpuS = u + s;
      }
      resolve({ code, wallS, cpuS, ...sampled, stdout: text, stderr: errText });
    });
  });
}

const countLines = (file) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0);

/** One run of a variant on a fresh commit. */
async function runVariant(id, bench, tag, { debug = false } = {}) {
  const rev = resalt(bench.dir, `${tag}-${id}-${process.hrtime.bigint()}`);
  const hosts = bench.hosts.join(',');
  const spawnLog = join(work, `spawn-${id}.log`);
  rmSync(spawnLog, { force: true });
  const errFile = join(work, `stderr-${id}-${tag}.log`);
  let r;
  if (id === 'a' || id === 'd') {
    const stats = join(work, 'stats.json');
    const report = join(work, `report-${id}.json`);
    rmSync(stats, { force: true });
    const env = {
      ...baseEnv,
      PLUGIN_FLAKE: bench.dir,
      PLUGIN_HOSTS: hosts,
      PLUGIN_MODE: id === 'a' ? 'build' : 'eval',
      PLUGIN_CHECKS: CHECKS,
      PLUGIN_CONCURRENCY: '0',
      PLUGIN_REPORT: report,
      ...(debug ? { PLUGIN_LOG_LEVEL: 'debug' } : {}),
      NIXENV_VERIFY_STATS: stats,
    };
    r = await measure(['node', join(root, 'dist', 'main.js')], { env, cwd: bench.dir, stderr: errFile });
    if (r.code !== 0) {
      throw new Error(`(${id}) nixenv-verify exited ${r.code} on ${bench.dir} (${rev}); stdout:\n${r.stdout.slice(-3000)}\nstderr: ${errFile}`);
    }
    const st = JSON.parse(readFileSync(stats, 'utf8'));
    r.nixProcs = st.spawned;
    r.nodeRssKb = st.maxRssKb;
    r.statsByCommand = st.byCommand;
    if (debug) {
      // Exact nix argv list from the debug log: "cmd":"nix --extra-experimental-features nix-command flakes eval …"
      const bySub = {};
      for (const line of r.stderr.split('\n')) {
        const m = /"cmd":"(nix [^"]*)/.exec(line);
        if (!m) continue;
        const words = m[1].replace('nix-command flakes', 'nix-command,flakes').split(' ');
        const sub = nixSubcommand(words);
        bySub[sub] = (bySub[sub] ?? 0) + 1;
      }
      // Calls the debug log does not show (the preflight `nix --version`).
      const other = st.spawned - Object.values(bySub).reduce((x, y) => x + y, 0);
      if (other) bySub['unlogged (nix --version)'] = other;
      r.debugBySub = bySub;
    }
  } else {
    const script = { b: 'least-build.sh', c: 'claim.sh', e: 'least-eval.sh' }[id];
    const scratch = join(work, 'scratch');
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch);
    const env = { ...baseEnv, REPO: bench.dir, HOSTS: hosts, SPAWNLOG: spawnLog, SCRATCH: scratch, CORES: String(CORES) };
    r = await measure(['bash', join(root, 'bench', script)], { env, cwd: bench.dir, stderr: errFile });
    if (r.code !== 0) throw new Error(`(${id}) ${script} exited ${r.code} on ${bench.dir} (${rev}); stderr:\n${r.stderr.slice(-3000)}`);
    r.nixProcs = countLines(spawnLog);
    rmSync(scratch, { recursive: true, force: true });
  }
  delete r.stdout;
  delete r.stderr;
  return { variant: id, rev, ...r };
}

/** `time nix eval --raw <ref>#…toplevel.drvPath` on a fresh commit, and the fresh-commit overhead alone. */
async function perHostEvalCost(bench, host) {
  const ref = `${bench.dir}?submodules=1#nixosConfigurations.${host}`;
  resalt(bench.dir, `cost-${host}-${process.hrtime.bigint()}`);
  const top = await measure(['nix', 'eval', '--raw', `${ref}.config.system.build.toplevel.drvPath`], { env: baseEnv, cwd: bench.dir });
  resalt(bench.dir, `cost0-${host}-${process.hrtime.bigint()}`);
  const base = await measure(['nix', 'eval', '--raw', `${ref}.config.networking.hostName`], { env: baseEnv, cwd: bench.dir });
  if (top.code !== 0 || base.code !== 0) throw new Error(`per-host eval of ${host} failed:\n${top.stderr}${base.stderr}`);
  return { host, wallS: top.wallS, cpuS: top.cpuS, peakMb: top.peakTreeKb / 1024, overheadWallS: base.wallS, overheadCpuS: base.cpuS };
}

// ---------------------------------------------------------------- figures

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, d = 1) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
const pad = (s, n) => String(s).padStart(n);

function summarise(runs) {
  const by = {};
  for (const v of VARIANTS) {
    const rs = runs.filter((r) => r.variant === v.id);
    if (!rs.length) continue;
    const walls = rs.map((r) => r.wallS);
    const procs = [...new Set(rs.map((r) => r.nixProcs))];
    by[v.id] = {
      n: rs.length,
      median: median(walls),
      min: Math.min(...walls),
      max: Math.max(...walls),
      cpu: median(rs.map((r) => r.cpuS ?? NaN)),
      nixProcs: procs.length === 1 ? String(procs[0]) : `${Math.min(...procs)}-${Math.max(...procs)}`,
      maxNix: Math.max(...rs.map((r) => r.maxConcurrentNix)),
      maxEvals: Math.max(...rs.map((r) => r.maxConcurrentEvals)),
      treeMb: Math.max(...rs.map((r) => r.peakTreeKb)) / 1024,
      nodeMb: rs[0].nodeRssKb !== undefined ? Math.max(...rs.map((r) => r.nodeRssKb)) / 1024 : undefined,
    };
  }
  return by;
}

function printTables(result) {
  const out = [];
  const p = (s = '') => out.push(s);
  p(`nixenv-verify benchmark: nix ${result.nixVersion}, ${CORES} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load avg at start ${result.loadStart}, at end ${result.loadEnd}`);
  p(`${ROUNDS} rounds per N (each variant once per round, order rotating); every timed run on a new commit (no eval-cache hits);`);
  p(`one untimed warm-up per N (builds once; derivations do not change with the salt, so timed builds are store hits).`);
  p(`Load: ${LOAD.rounds} rounds x ${LOAD.width} attributes per host, seeded with the host name.`);
  p('');
  p('Per-host eval cost, `time nix eval --raw <ref>#nixosConfigurations.H.config.system.build.toplevel.drvPath` on a fresh commit:');
  for (const c of result.evalCost) {
    p(`  N=${c.n} ${c.host.padEnd(14)} wall ${fmt(c.wallS, 2)} s, cpu ${fmt(c.cpuS, 2)} s, peak ${fmt(c.peakMb, 0)} MB   (fresh-commit overhead alone, …networking.hostName: wall ${fmt(c.overheadWallS, 2)} s, cpu ${fmt(c.overheadCpuS, 2)} s)`);
  }
  for (const n of Object.keys(result.summary).map(Number)) {
    const s = result.summary[n];
    p('');
    p(`N = ${n} hosts                          wall s: median    min    max   cpu s  nix procs  max nix at once  tree peak MB  node peak MB`);
    for (const v of VARIANTS) {
      const x = s[v.id];
      if (!x) {
        p(`(${v.id}) ${v.label.padEnd(30)} (not run at this N: BENCH_CLAIM_MAX_N=${CLAIM_MAX_N})`);
        continue;
      }
      p(`(${v.id}) ${v.label.padEnd(30)}    ${pad(fmt(x.median, 2), 6)} ${pad(fmt(x.min, 2), 6)} ${pad(fmt(x.max, 2), 6)} ${pad(fmt(x.cpu, 1), 7)} ${pad(x.nixProcs, 10)} ${pad(x.maxNix, 16)} ${pad(fmt(x.treeMb, 0), 13)} ${pad(x.nodeMb === undefined ? '-' : fmt(x.nodeMb, 0), 13)}`);
    }
    const bc = result.commands[n];
    if (bc) {
      p(`    nix calls of one run (warm-up, debug log): (a) ${fmtSubs(bc.a)}; (d) ${fmtSubs(bc.d)}`);
      p(`    sampled in timed runs: (a) ${fmtSubs(bc.aSeen)}; (b) ${fmtSubs(bc.bSeen)}; (c) ${fmtSubs(bc.cSeen)}; (d) ${fmtSubs(bc.dSeen)}; (e) ${fmtSubs(bc.eSeen)}`);
    }
  }
  p('');
  const ns = Object.keys(result.summary).map(Number);
  const sum = (n, v) => result.summary[n][v];
  const ratio = (n, x, y) => (sum(n, x) && sum(n, y) ? sum(n, x).median / sum(n, y).median : undefined);
  const rows = [
    ['a/b (medians)', (n) => ratio(n, 'a', 'b'), TARGETS.ab, 2],
    ['d/e (medians)', (n) => ratio(n, 'd', 'e'), TARGETS.de, 2],
    ['a/c (medians)', (n) => ratio(n, 'a', 'c'), TARGETS.ac, 2],
    ['node peak RSS MB, (a),(d)', (n) => Math.max(sum(n, 'a')?.nodeMb ?? 0, sum(n, 'd')?.nodeMb ?? 0), TARGETS.nodeRssMb, 0],
    ['max nix at once in (a)', (n) => sum(n, 'a')?.maxNix, CORES, 0],
    ['  of which evaluating', (n) => sum(n, 'a')?.maxEvals, CORES, 0],
  ];
  p(`targets                     ${ns.map((n) => pad(`N=${n}`, 7)).join('')}   target   result`);
  for (const [name, f, target, digits] of rows) {
    const vals = ns.map(f);
    const results = ns
      .map((n, i) => {
        const v = vals[i];
        if (v === undefined || Number.isNaN(v)) return undefined;
        const off = Math.round((v / target - 1) * 100);
        return v <= target ? `N=${n} met` : `N=${n} MISSED by ${off}%`;
      })
      .filter(Boolean);
    p(`${name.padEnd(27)} ${vals.map((v) => pad(v === undefined || Number.isNaN(v) ? '-' : fmt(v, digits), 7)).join('')}   <= ${pad(fmt(target, digits), 5)}  ${results.join(', ')}`);
  }
  if (!ns.includes(8)) p('(N=8 not run: quick mode or BENCH_HOSTS)');
  p('');
  p(`raw figures: ${JSON_OUT}`);
  return out.join('\n');
}

const fmtSubs = (o) => (o ? Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ') : '-');

function mergeSubs(runs) {
  const o = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.nixSeenBySub ?? {})) o[k] = (o[k] ?? 0) + v;
  // per run, rounded
  for (const k of Object.keys(o)) o[k] = +(o[k] / runs.length).toFixed(1);
  return o;
}

// ---------------------------------------------------------------- main

const work = mkdtempSync('/tmp/nixenv-verify-bench.');
function cleanup() {
  if (current?.pid) {
    try {
      process.kill(-current.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  rmSync(work, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log(`${sig}: cleaning up ${work}`);
    cleanup();
    process.exit(130);
  });
}

async function main() {
  if (!existsSync(join(root, 'dist', 'main.js'))) throw new Error('dist/main.js missing: run npm run build (scripts/bench.sh does)');
  const result = {
    startedAt: new Date().toISOString(),
    nixVersion: execFileSync('nix', ['--version']).toString().trim().split(' ').pop(),
    cores: CORES,
    rounds: ROUNDS,
    hostCounts: HOST_COUNTS,
    load: LOAD,
    loadStart: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    evalCost: [],
    runs: [],
    summary: {},
    commands: {},
  };
  const t0 = Date.now();
  for (const n of HOST_COUNTS) {
    const bench = makeBenchRepo(join(work, `repo-${n}`), { hosts: n, load: LOAD });
    log(`N=${n}: ${bench.dir} (${bench.hosts.join(', ')})`);
    // Untimed warm-up: builds every store path once; debug logs list every nix call.
    log(`N=${n}: warm-up`);
    const warmA = await runVariant('a', bench, `warmup-${n}`, { debug: true });
    const warmD = await runVariant('d', bench, `warmup-${n}`, { debug: true });
    for (const host of [bench.hosts[0], bench.hosts[n - 1]]) {
      result.evalCost.push({ n, ...(await perHostEvalCost(bench, host)) });
    }
    const variants = VARIANTS.map((v) => v.id).filter((id) => id !== 'c' || n <= CLAIM_MAX_N);
    const runs = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]);
      for (const id of order) {
        const r = await runVariant(id, bench, `n${n}-r${round}`);
        runs.push({ n, round, ...r });
        log(`N=${n} round ${round + 1}/${ROUNDS} (${id}) ${r.wallS.toFixed(2)} s, ${r.nixProcs} nix, max ${r.maxConcurrentNix} at once, tree ${Math.round(r.peakTreeKb / 1024)} MB`);
      }
    }
    result.runs.push(...runs);
    result.summary[n] = summarise(runs);
    result.commands[n] = {
      a: warmA.debugBySub,
      d: warmD.debugBySub,
      aStats: warmA.statsByCommand,
      ...Object.fromEntries(variants.map((id) => [`${id}Seen`, mergeSubs(runs.filter((r) => r.variant === id))])),
    };
    removeBenchRepo(bench.dir);
  }
  result.loadEnd = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  result.elapsedS = (Date.now() - t0) / 1000;
  mkdirSync(dirname(JSON_OUT), { recursive: true });
  writeFileSync(JSON_OUT, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${printTables(result)}\n`);
  log(`done in ${Math.round(result.elapsedS)} s`);
}

try {
  await main();
} catch (e) {
  log(`error: ${e.message}`);
  process.exitCode = 1;
} finally {
  cleanup();
}
