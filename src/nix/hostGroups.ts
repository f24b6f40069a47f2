// Hosts evaluated together, one nix process per group (issue 21): the least work evaluates each host in its own
// process, as many at once as there are slots; one process for several hosts pays Nix's start-up and the flake's
// copy to the store once, and shares what the hosts share (their nixpkgs), so the same facts cost fewer processes and
// no more time (measured: docs/benchmark.md). A process keeps every host it evaluated in memory, so a group is at most
// MAX_HOSTS_PER_EVAL hosts and at most what the machine's memory holds with every slot busy (one NixOS evaluation is
// ~1.5 GiB, as settings.ts counts it); and there are never fewer groups than slots, so as many processes evaluate at
// once as before.
//
// What a group answers is what each host's own evaluation answers: the same expression applied to the same
// `nixosConfigurations.<host>`. When the group's evaluation fails (one host does not evaluate, or has no config),
// each host of the group is evaluated alone, so every error is the host's own, as before. A group that timed out is
// not evaluated again host by host (that would wait the timeout once more per host): each of its hosts gets the
// timeout, an `error`, never a pass.
import os from 'node:os';
import { NixCommandError } from '../errors.js';
import { memoize } from '../limit.js';
import { nixString } from './client.js';

/** Most hosts one nix process evaluates. */
export const MAX_HOSTS_PER_EVAL = 4;
/** Memory one NixOS evaluation needs (settings.ts effectiveConcurrency counts the same). */
const EVAL_BYTES = 1.5 * 1024 ** 3;

/**
 * The hosts in groups, in order: max(min(n, slots), ⌈n/most⌉) groups whose sizes differ by at most one, so as many
 * evaluations run at once as there are slots, none with more than `most` hosts: MAX_HOSTS_PER_EVAL, or fewer when
 * `slots` processes of that many hosts would not fit in memory.
 */
export function hostGroups(hosts: readonly string[], slots: number, memoryBytes = os.totalmem()): string[][] {
  const unique = [...new Set(hosts)];
  const busy = Math.max(1, slots);
  const most = Math.max(1, Math.min(MAX_HOSTS_PER_EVAL, Math.floor(memoryBytes / (EVAL_BYTES * busy))));
  const count = Math.max(Math.min(unique.length, busy), Math.ceil(unique.length / most));
  const groups: string[][] = [];
  for (let g = 0, at = 0; g < count; g++) {
    const size = Math.floor(unique.length / count) + (g < unique.length % count ? 1 : 0);
    groups.push(unique.slice(at, at + size));
    at += size;
  }
  return groups;
}

/**
 * The `--apply` of `nixosConfigurations` that applies `perHost` (an `h: …` Nix function) to each host of the group:
 * an attribute set by host name, null for a host the flake has no config for.
 */
export function groupApply(perHost: string, group: readonly string[]): string {
  const entries = group.map(
    (h) => `${nixString(h)} = if cfgs ? ${nixString(h)} then f cfgs.${nixString(h)} else null;`,
  );
  return `cfgs: let f = (${perHost}); in { ${entries.join(' ')} }`;
}

/**
 * A per-host loader that evaluates `perHost` for the hosts of a group in one process. `evalGroup` evaluates
 * `nixosConfigurations` with an apply; `alone` is the host's own evaluation (a host outside the groups, a host the
 * group answered null for, and every host of a group whose evaluation failed).
 */
export function groupedHostEval<T>(options: {
  hosts: readonly string[];
  slots: number;
  perHost: string;
  evalGroup: (apply: string) => Promise<Record<string, T | null>>;
  alone: (host: string) => Promise<T>;
}): (host: string) => Promise<T> {
  const groups = hostGroups(options.hosts, options.slots);
  const groupOf = new Map(groups.flatMap((g, i) => g.map((h) => [h, i] as const)));
  const evaluated = memoize((index: string) => options.evalGroup(groupApply(options.perHost, groups[Number(index)])));
  return async (host) => {
    const index = groupOf.get(host);
    if (index === undefined || groups[index].length === 1) return options.alone(host);
    let answer: Record<string, T | null>;
    try {
      answer = await evaluated(String(index));
    } catch (err) {
      if (err instanceof NixCommandError && err.timedOut) throw err;
      return options.alone(host);
    }
    const value = answer[host];
    return value === null || value === undefined ? options.alone(host) : value;
  };
}
