#!/usr/bin/env node
// The benchmark (npm run bench): prints figures, it is not a test.
//
// For each host count N it makes a temporary bench repo (bench/make-hosts.mjs:
// the cc-ci fixture with N hosts and ≈2.5 s of evaluation CPU per host, put
// where NixOS pays it: the systemPackages list, a system package's
// derivation, another service's ExecStart), does one untimed warm-up, then
// runs ROUNDS rounds; a round runs every variant once, the order rotating by
// one each round:
//   (a) nixenv-verify as users run it: default settings (all six checks), build mode
//   (b) bench/least-build.sh: the least Nix work those six checks need, by hand
//   (d) nixenv-verify, all six checks, eval mode
//   (e) bench/least-eval.sh: the same least work with drvPaths instead of builds
//   (p) nixenv-verify, the propagation check alone (eval mode; it builds nothing)
//   (q) bench/least-prop.sh: the least Nix work of HOW 6 alone
//   (c) bench/claim.sh: the claim's HOW 1-5 commands as written, in sequence
//       (only for N <= BENCH_CLAIM_MAX_N, default 0: off)
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
// once; and (every 2 ms until then) when its first nix process appears: for
// nixenv-verify that is Node's cold start-up, spawn to the first nix child.
// Temp repos live under one mktemp dir in /tmp, removed at the end.
//
// Environment: BENCH_QUICK=1 (2 rounds, N=2), BENCH_ROUNDS, BENCH_HOSTS=2,4,8,16 (default),
// BENCH_CLAIM_MAX_N (largest N that runs (c); default 0), BENCH_LOAD_SCALE (multiplies the load's rounds),
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
const HOST_COUNTS = (process.env.BENCH_HOSTS ?? (QUICK ? '2' : '2,4,8,16')).split(',').map(Number);
const CLAIM_MAX_N = Number(process.env.BENCH_CLAIM_MAX_N ?? 0);
const SCALE = Number(process.env.BENCH_LOAD_SCALE ?? 1);
const LOAD = {
  ...DEFAULT_LOAD,
  list: Math.round(DEFAULT_LOAD.list * SCALE),
  package: Math.round(DEFAULT_LOAD.package * SCALE),
  service: Math.round(DEFAULT_LOAD.service * SCALE),
};
const JSON_OUT =
  process.env.BENCH_JSON ?? `/tmp/nixenv-verify-bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
const CORES = os.availableParallelism();
const SAMPLE_MS = 25;
const PAGE_KB = Number(execFileSync('getconf', ['PAGESIZE']).toString().trim()) / 1024;
const ALL_CHECKS = ['build', 'single-source', 'path-superset', 'entrypoint-parity', 'host-parity', 'propagation'];
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

const TARGETS = { ab: 1.05, de: 1.05, pq: 1.15, ac: 0.6, nodeRssMb: 120, startupS: 0.1, extraNix: 2 };

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
  { id: 'd', label: 'nixenv-verify, eval mode' },
  { id: 'e', label: 'least eval work, by hand' },
  { id: 'p', label: 'nixenv-verify, propagation' },
  { id: 'q', label: 'least propagation work' },
  { id: 'c', label: 'claim HOW 1-5 as written' },
];
const VERIFIER = { a: { mode: 'build' }, d: { mode: 'eval' }, p: { mode: 'eval', checks: 'propagation' } };
const SCRIPTS = { b: 'least-build.sh', c: 'claim.sh', e: 'least-eval.sh', q: 'least-prop.sh' };

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
    procs.set(Number(name), {
      pid: Number(name),
      comm,
      state: f[0],
      ppid: Number(f[1]),
      start: f[19],
      rssKb: Number(f[21]) * PAGE_KB,
    });
  }
  return procs;
}

/** The nix subcommand of an argv (`eval`, `build`, …), skipping global options. */
function nixSubcommand(argv) {
  const withValue = {
    '--extra-experimental-features': 1,
    '--experimental-features': 1,
    '--option': 2,
    '--out-link': 1,
    '-o': 1,
  };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a in withValue) i += withValue[a];
    else if (!a.startsWith('-')) return a;
  }
  return argv.slice(1).join(' ') || '(none)';
}

/** Samples the process tree under rootPid until stopped. */
function startSampler(rootPid, started) {
  const s = {
    peakKb: 0,
    maxNix: 0,
    maxEvals: 0,
    samples: 0,
    nixSeen: new Map(),
    firstNixS: undefined,
    firstEvalS: undefined,
  };
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
  // Until the first nix process shows up (start-up is timed to it), a cheap
  // look every 2 ms: only the tree's own /proc/PID/task/TID/children files,
  // not all of /proc (which would compete with the start-up it times).
  // Returns 'eval' for a nix process with a flake installable (ref#attr) in its arguments, 'nix' for another.
  const firstNix = () => {
    const stack = [rootPid];
    let found = false;
    while (stack.length) {
      const pid = stack.pop();
      let comm;
      try {
        comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      if (comm === 'nix') {
        found = true;
        try {
          if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('#')) return 'eval';
        } catch {
          // gone
        }
      }
      let tids = [];
      try {
        tids = readdirSync(`/proc/${pid}/task`);
      } catch {
        continue;
      }
      for (const tid of tids) {
        try {
          stack.push(
            ...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
          );
        } catch {
          // gone
        }
      }
    }
    return found ? 'nix' : false;
  };
  let timer;
  // Until the first evaluation: start-up to the first nix process, and to the first evaluation.
  const fast = setInterval(() => {
    const seen = firstNix();
    if (!seen) return;
    const now = Number(process.hrtime.bigint() - started) / 1e9;
    if (s.firstNixS === undefined) s.firstNixS = now;
    if (seen !== 'eval') return;
    s.firstEvalS = now;
    clearInterval(fast);
  }, 2);
  timer = setInterval(tick, SAMPLE_MS);
  tick();
  return {
    stop() {
      clearInterval(timer);
      clearInterval(fast);
      const bySub = {};
      for (const { sub } of s.nixSeen.values()) bySub[sub] = (bySub[sub] ?? 0) + 1;
      return {
        peakTreeKb: s.peakKb,
        maxConcurrentNix: s.maxNix,
        maxConcurrentEvals: s.maxEvals,
        samples: s.samples,
        nixSeen: s.nixSeen.size,
        nixSeenBySub: bySub,
        firstNixS: s.firstNixS,
        firstEvalS: s.firstEvalS,
      };
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
    const sampler = startSampler(child.pid, started);
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
  if (VERIFIER[id]) {
    const stats = join(work, 'stats.json');
    const report = join(work, `report-${id}.json`);
    rmSync(stats, { force: true });
    const env = {
      ...baseEnv,
      PLUGIN_FLAKE: bench.dir,
      PLUGIN_HOSTS: hosts,
      PLUGIN_MODE: VERIFIER[id].mode,
      // (a), (d): the default checks (all six), as users run it.
      ...(VERIFIER[id].checks ? { PLUGIN_CHECKS: VERIFIER[id].checks } : {}),
      PLUGIN_CONCURRENCY: '0',
      PLUGIN_REPORT: report,
      ...(debug ? { PLUGIN_LOG_LEVEL: 'debug' } : {}),
      NIXENV_VERIFY_STATS: stats,
    };
    // As the installed command runs (its #! line carries the Node flags the image's entrypoint passes too).
    r = await measure([join(root, 'dist', 'main.js')], { env, cwd: bench.dir, stderr: errFile });
    if (r.code !== 0) {
      throw new Error(
        `(${id}) nixenv-verify exited ${r.code} on ${bench.dir} (${rev}); stdout:\n${r.stdout.slice(-3000)}\nstderr: ${errFile}`,
      );
    }
    const st = JSON.parse(readFileSync(stats, 'utf8'));
    const ran = JSON.parse(readFileSync(report, 'utf8')).checks?.map((c) => c.id) ?? [];
    const want = VERIFIER[id].checks ? VERIFIER[id].checks.split(',') : ALL_CHECKS;
    if (want.some((c) => !ran.includes(c)))
      throw new Error(`(${id}) the report has checks ${ran.join(',')}, not ${want.join(',')}`);
    // nix processes only (labels `nix …`); git and the rest counted apart.
    r.nixProcs = Object.entries(st.byCommand ?? {})
      .filter(([k]) => k === 'nix' || k.startsWith('nix '))
      .reduce((t, [, c]) => t + c, 0);
    r.otherProcs = st.spawned - r.nixProcs;
    r.nodeRssKb = st.maxRssKb;
    r.statsByCommand = st.byCommand;
    if (debug) {
      // Exact nix argv list from the debug log: "cmd":"nix --extra-experimental-features nix-command flakes eval …"
      const bySub = {};
      r.debugCommands = [];
      for (const line of r.stderr.split('\n')) {
        // pino-pretty: `DEBUG + nix … cmd="…"`; JSON: `"cmd":"nix …"`.
        const m = /DEBUG \+ (nix .*?)(?: cmd="|$)/.exec(line) ?? /"cmd":"(nix [^"]*)/.exec(line);
        if (!m) continue;
        r.debugCommands.push(m[1].replace(/ --apply .*/, ' --apply <expr>').slice(0, 300));
        const words = m[1].replace('nix-command flakes', 'nix-command,flakes').split(' ');
        const sub = nixSubcommand(words);
        bySub[sub] = (bySub[sub] ?? 0) + 1;
      }
      // Calls the debug log does not show (the preflight `nix --version`).
      const other = r.nixProcs - Object.values(bySub).reduce((x, y) => x + y, 0);
      if (other) bySub['unlogged (nix --version)'] = other;
      r.debugBySub = bySub;
    }
  } else {
    const script = SCRIPTS[id];
    const scratch = join(work, 'scratch');
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch);
    const env = {
      ...baseEnv,
      REPO: bench.dir,
      HOSTS: hosts,
      SPAWNLOG: spawnLog,
      SCRATCH: scratch,
      CORES: String(CORES),
    };
    r = await measure(['bash', join(root, 'bench', script)], { env, cwd: bench.dir, stderr: errFile });
    if (r.code !== 0)
      throw new Error(`(${id}) ${script} exited ${r.code} on ${bench.dir} (${rev}); stderr:\n${r.stderr.slice(-3000)}`);
    r.nixProcs = countLines(spawnLog);
    rmSync(scratch, { recursive: true, force: true });
  }
  delete r.stdout;
  delete r.stderr;
  return { variant: id, rev, ...r };
}

/**
 * What one host's evaluation costs, each on a fresh commit: the toplevel
 * (everything), what HOW 6 needs (systemPackages names), those packages'
 * outPaths, every unit's text, and the fresh-commit overhead alone.
 */
async function perHostEvalCost(bench, host) {
  const ref = `${bench.dir}?submodules=1#nixosConfigurations.${host}`;
  const parts = {
    toplevel: [`${ref}.config.system.build.toplevel.drvPath`],
    'systemPackages names': [`${ref}.config.environment.systemPackages`, '--apply', 'l: toString (map (p: p.name) l)'],
    'systemPackages outPaths': [
      `${ref}.config.environment.systemPackages`,
      '--apply',
      'l: toString (map (p: p.outPath) l)',
    ],
    'sweep unit text': [`${ref}.config.systemd.units."cc-ci-nightly-sweep.service".text`],
    'every unit text': [
      `${ref}.config.systemd.units`,
      '--apply',
      'u: toString (map (n: u.${n}.text) (builtins.attrNames u))',
    ],
    hostName: [`${ref}.config.networking.hostName`],
  };
  const res = {};
  for (const [name, args] of Object.entries(parts)) {
    resalt(bench.dir, `cost-${host}-${process.hrtime.bigint()}`);
    const r = await measure(['nix', 'eval', '--raw', ...args], { env: baseEnv, cwd: bench.dir });
    if (r.code !== 0) throw new Error(`per-host eval (${name}) of ${host} failed:\n${r.stderr}`);
    res[name] = { wallS: r.wallS, cpuS: r.cpuS, peakMb: r.peakTreeKb / 1024 };
  }
  return { host, parts: res };
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
      firstEval: rs.every((r) => r.firstEvalS !== undefined) ? median(rs.map((r) => r.firstEvalS)) : undefined,
      nixProcsMax: Math.max(...rs.map((r) => r.nixProcs)),
      otherProcs: rs[0].otherProcs,
      startup: rs.every((r) => r.firstNixS !== undefined)
        ? {
            median: median(rs.map((r) => r.firstNixS)),
            min: Math.min(...rs.map((r) => r.firstNixS)),
            max: Math.max(...rs.map((r) => r.firstNixS)),
          }
        : undefined,
    };
  }
  return by;
}

function printTables(result) {
  const out = [];
  const p = (s = '') => out.push(s);
  p(
    `nixenv-verify benchmark: nix ${result.nixVersion}, ${CORES} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load avg at start ${result.loadStart}, at end ${result.loadEnd}`,
  );
  const LOAD = result.load;
  p(
    `${result.rounds} rounds per N (each variant once per round, order rotating); every timed run on a new commit (no eval-cache hits);`,
  );
  p(
    `one untimed warm-up per N (builds once; derivations do not change with the salt, so timed builds are store hits).`,
  );
  p(
    `Load per host (rounds of ${LOAD.width} attributes, seeded with the host name): ${LOAD.list} in the systemPackages list (mkIf),`,
  );
  p(
    `${LOAD.package} in the derivation of bench-tool (a system package), ${LOAD.service} in the ExecStart of another service (bench-report).`,
  );
  p('');
  p('Per-host eval cost on a fresh commit (`time nix eval --raw <ref>#nixosConfigurations.H.<attr>`):');
  for (const c of result.evalCost) {
    p(
      `  N=${c.n} ${c.host.padEnd(14)} ${Object.entries(c.parts)
        .map(([k, v]) => `${k} ${fmt(v.wallS, 2)}/${fmt(v.cpuS, 2)}`)
        .join(', ')}  (wall/cpu s)`,
    );
  }
  const ns = Object.keys(result.summary).map(Number);
  for (const n of ns) {
    const s = result.summary[n];
    p('');
    p(
      `N = ${n} hosts                          wall s: median    min    max   cpu s  nix procs  max nix at once  tree peak MB  node peak MB  first nix s          first eval s`,
    );
    for (const v of VARIANTS) {
      const x = s[v.id];
      if (!x) continue;
      const st = x.startup ? `${fmt(x.startup.median, 3)} (${fmt(x.startup.min, 3)}-${fmt(x.startup.max, 3)})` : '-';
      p(
        `(${v.id}) ${v.label.padEnd(30)}    ${pad(fmt(x.median, 2), 6)} ${pad(fmt(x.min, 2), 6)} ${pad(fmt(x.max, 2), 6)} ${pad(fmt(x.cpu, 1), 7)} ${pad(x.nixProcs, 10)} ${pad(x.maxNix, 16)} ${pad(fmt(x.treeMb, 0), 13)} ${pad(x.nodeMb === undefined ? '-' : fmt(x.nodeMb, 0), 13)}  ${st.padEnd(20)} ${fmt(x.firstEval, 3)}`,
      );
    }
    const bc = result.commands[n];
    if (bc) {
      p(
        `    nix calls of one run (warm-up, debug log): (a) ${fmtSubs(bc.a)}; (d) ${fmtSubs(bc.d)}; (p) ${fmtSubs(bc.p)}`,
      );
      p(
        `    sampled in timed runs: ${Object.keys(bc)
          .filter((k) => k.endsWith('Seen'))
          .map((k) => `(${k[0]}) ${fmtSubs(bc[k])}`)
          .join('; ')}`,
      );
    }
  }
  p('');
  const sum = (n, v) => result.summary[n][v];
  const ratio = (n, x, y) => (sum(n, x) && sum(n, y) ? sum(n, x).median / sum(n, y).median : undefined);
  // The ratio of the extremes: the best case (min/max) and the worst (max/min) of the rounds.
  const spread = (n, x, y) =>
    sum(n, x) && sum(n, y) ? `${fmt(sum(n, x).min / sum(n, y).max, 2)}-${fmt(sum(n, x).max / sum(n, y).min, 2)}` : '-';
  const rows = [
    ['a/b build mode (medians)', (n) => ratio(n, 'a', 'b'), TARGETS.ab, 2, (n) => spread(n, 'a', 'b')],
    ['d/e eval mode (medians)', (n) => ratio(n, 'd', 'e'), TARGETS.de, 2, (n) => spread(n, 'd', 'e')],
    ['p/q propagation (medians)', (n) => ratio(n, 'p', 'q'), TARGETS.pq, 2, (n) => spread(n, 'p', 'q')],
    ...(ns.some((n) => sum(n, 'c'))
      ? [['a/c (medians)', (n) => ratio(n, 'a', 'c'), TARGETS.ac, 2, (n) => spread(n, 'a', 'c')]]
      : []),
    [
      'node peak RSS MB (a,d,p)',
      (n) => Math.max(...['a', 'd', 'p'].map((v) => sum(n, v)?.nodeMb ?? 0)),
      TARGETS.nodeRssMb,
      0,
    ],
    ...[
      ['a', 'b'],
      ['d', 'e'],
      ['p', 'q'],
    ].map(([x, y]) => [
      `nix procs (${x}) - (${y}), most`,
      (n) => (sum(n, x) && sum(n, y) ? sum(n, x).nixProcsMax - sum(n, y).nixProcsMax : undefined),
      TARGETS.extraNix,
      0,
    ]),
    [
      'start-up s, to 1st nix (a,d)',
      (n) => median(['a', 'd'].filter((v) => sum(n, v)?.startup).map((v) => sum(n, v).startup.median)),
      TARGETS.startupS,
      3,
      (n) =>
        `${fmt(Math.min(...['a', 'd'].map((v) => sum(n, v).startup.min)), 3)}-${fmt(Math.max(...['a', 'd'].map((v) => sum(n, v).startup.max)), 3)}`,
    ],
  ];
  p(
    `target                        ${ns.map((n) => pad(`N=${n}`, 7)).join('')}   target   result (margin: how far under (+) or over (-) the target; range: best-worst round)`,
  );
  const verdicts = [];
  for (const [name, f, target, digits, range] of rows) {
    const vals = ns.map(f);
    const results = ns
      .map((n, i) => {
        const v = vals[i];
        if (v === undefined || Number.isNaN(v)) return undefined;
        const margin = Math.round((1 - v / target) * 100);
        const verdict = v <= target ? 'PASS' : 'MISS';
        verdicts.push(verdict);
        return `N=${n} ${verdict} ${margin >= 0 ? '+' : ''}${margin}%${range ? ` (${range(n)})` : ''}`;
      })
      .filter(Boolean);
    p(
      `${name.padEnd(29)} ${vals.map((v) => pad(v === undefined || Number.isNaN(v) ? '-' : fmt(v, digits), 7)).join('')}   <= ${pad(fmt(target, digits), 5)}  ${results.join(', ')}`,
    );
  }
  const info = [
    ['first eval s (a,d) (info)', (n) => fmt(median(['a', 'd'].map((v) => sum(n, v)?.firstEval ?? NaN)), 3)],
    ['max nix at once (a)', (n) => sum(n, 'a')?.maxNix],
    ['  of which evaluating', (n) => sum(n, 'a')?.maxEvals],
    ['tree peak MB (a)', (n) => fmt(sum(n, 'a')?.treeMb, 0)],
    ['tree peak MB (b)', (n) => fmt(sum(n, 'b')?.treeMb, 0)],
    ['nix procs (a) / (b)', (n) => `${sum(n, 'a')?.nixProcs}/${sum(n, 'b')?.nixProcs}`],
    ['nix procs (d) / (e)', (n) => `${sum(n, 'd')?.nixProcs}/${sum(n, 'e')?.nixProcs}`],
    ['nix procs (p) / (q)', (n) => `${sum(n, 'p')?.nixProcs}/${sum(n, 'q')?.nixProcs}`],
    ['other procs (git …) (a)', (n) => sum(n, 'a')?.otherProcs],
    ['other procs (git …) (p)', (n) => sum(n, 'p')?.otherProcs],
    ...[
      ['a', 'b'],
      ['d', 'e'],
      ['p', 'q'],
    ].map(([x, y]) => [
      `cpu s ${x}/${y} (medians)`,
      (n) => (sum(n, x) && sum(n, y) ? fmt(sum(n, x).cpu / sum(n, y).cpu, 2) : '-'),
    ]),
  ];
  for (const [name, f] of info)
    p(`${name.padEnd(29)} ${ns.map((n) => pad(f(n) ?? '-', 7)).join('')}   (cores: ${CORES})`);
  p(
    `${verdicts.filter((v) => v === 'PASS').length} PASS, ${verdicts.filter((v) => v === 'MISS').length} MISS (judged from this one run; the machine is shared, figures are noisy)`,
  );
  if (!ns.includes(16))
    p(`(N=${[2, 4, 8, 16].filter((n) => !ns.includes(n)).join(', ')} not run: quick mode or BENCH_HOSTS)`);
  p('');
  p(`raw figures: ${result.jsonOut ?? JSON_OUT}`);
  return out.join('\n');
}

const fmtSubs = (o) =>
  o
    ? Object.entries(o)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : '-';

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
  if (!existsSync(join(root, 'dist', 'main.js')))
    throw new Error('dist/main.js missing: run npm run build (scripts/bench.sh does)');
  const result = {
    startedAt: new Date().toISOString(),
    jsonOut: JSON_OUT,
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
    // The other debug warm-ups and the per-host costs at the first N only (time).
    const first = n === HOST_COUNTS[0];
    const warmD = first ? await runVariant('d', bench, `warmup-${n}`, { debug: true }) : {};
    const warmP = first ? await runVariant('p', bench, `warmup-${n}`, { debug: true }) : {};
    if (first) result.evalCost.push({ n, ...(await perHostEvalCost(bench, bench.hosts[n - 1])) });
    const variants = VARIANTS.map((v) => v.id).filter((id) => id !== 'c' || n <= CLAIM_MAX_N);
    const runs = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]);
      for (const id of order) {
        const r = await runVariant(id, bench, `n${n}-r${round}`);
        runs.push({ n, round, ...r });
        log(
          `N=${n} round ${round + 1}/${ROUNDS} (${id}) ${r.wallS.toFixed(2)} s, ${r.nixProcs} nix, max ${r.maxConcurrentNix} at once, tree ${Math.round(r.peakTreeKb / 1024)} MB`,
        );
      }
    }
    result.runs.push(...runs);
    result.summary[n] = summarise(runs);
    result.commands[n] = {
      a: warmA.debugBySub,
      d: warmD.debugBySub,
      p: warmP.debugBySub,
      aStats: warmA.statsByCommand,
      aCommands: warmA.debugCommands,
      dCommands: warmD.debugCommands,
      pCommands: warmP.debugCommands,
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
  if (process.env.BENCH_REPRINT) {
    // Prints the table of an earlier run's raw figures again.
    process.stdout.write(`${printTables(JSON.parse(readFileSync(process.env.BENCH_REPRINT, 'utf8')))}\n`);
  } else await main();
} catch (e) {
  log(`error: ${e.message}`);
  process.exitCode = 1;
} finally {
  cleanup();
}
