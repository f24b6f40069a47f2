// Which timer-started services are sweeps of the runner scripts (the claim's
// "nightly/weekly sweep timer"). Conservative on purpose: a service is a sweep
// when its ExecStart= words, its inline script, or any script they reach
// through store paths (read as the exec chain reads them: the built file, or
// its derivation's text in eval mode) names a runner script whose file name
// contains "sweep" (`runner/nightly_sweep.py`, `runner/sweep.py`,
// `runner/weekly-sweep.sh`). Mentioning it is enough: a sweep that is named but
// not reached through the wrapper is exactly what must be judged. A script the
// verifier cannot read is not searched (its own consumer check follows it).
import type { UnitView } from '../context.js';
import type { ScriptSource } from '../execChain.js';
import { listSetting } from './unit.js';

/** A runner sweep script named in a text. */
export const SWEEP_SCRIPT = /(?:^|[^A-Za-z0-9_.-])(runner\/[A-Za-z0-9_.-]*sweep[A-Za-z0-9_.-]*)/i;
const STORE_PATH = /\/nix\/store\/[0-9a-z]{32}-[A-Za-z0-9+._?=-]+(?:\/[A-Za-z0-9+._?=-]+)*/g;
const MAX_FILES = 16;

/** Where the service names a sweep (`file: runner/x_sweep.py`), or undefined. */
export async function isSweepService(unit: UnitView, scripts: ScriptSource): Promise<string | undefined> {
  const texts: { text: string; source: string; drvs: readonly string[] }[] = [];
  for (const key of ['ExecStartPre', 'ExecStart', 'ExecStartPost']) {
    for (const l of listSetting(unit.unit, 'Service', key))
      texts.push({ text: l.value, source: `${l.file ?? unit.source}:${l.line}`, drvs: unit.context });
  }
  if (unit.inlineScript) texts.push({ text: unit.inlineScript, source: `${unit.source} script`, drvs: unit.context });
  return sweepNamedIn(texts, scripts);
}

/** Where these texts, or the scripts they reach through store paths, name a runner sweep script; or undefined. */
export async function sweepNamedIn(
  texts: { text: string; source: string; drvs: readonly string[] }[],
  scripts: ScriptSource,
): Promise<string | undefined> {
  const read = new Set<string>();
  while (texts.length) {
    const t = texts.shift()!;
    const hit = SWEEP_SCRIPT.exec(t.text);
    if (hit) return `${t.source} names ${hit[1]}`;
    for (const p of t.text.match(STORE_PATH) ?? []) {
      if (read.has(p) || read.size >= MAX_FILES) continue;
      read.add(p);
      const got = await scripts.scriptAt(p, t.drvs);
      if ('text' in got && !got.text.includes('\0'))
        texts.push({ text: got.text, source: got.source, drvs: [...t.drvs, ...got.inputs] });
    }
  }
  return undefined;
}
