// `{host}` in a consumer's unit (`unit: github-runner-{host}.service`, a drone-step's `runner_unit`): one consumer
// written for a fleet whose units are named after their hosts. It stands for one consumer per host it exists on
// (its `hosts:`, default every host of the run), each bound to that host with `{host}` replaced by the host name;
// the copies keep the consumer's name (findings are per host already).
import type { Claim, Consumer } from './types.js';

export const HOST_PLACEHOLDER = '{host}';

/** The unit names a consumer names, with `{host}` replaced by `host`. */
export const unitOnHost = (unit: string, host: string): string => unit.replaceAll(HOST_PLACEHOLDER, host);

const templated = (c: Consumer): boolean =>
  ((c.kind === 'systemd-service' || c.kind === 'runner-service') && c.unit.includes(HOST_PLACEHOLDER)) ||
  (c.kind === 'drone-step' && c.runnerUnit.includes(HOST_PLACEHOLDER));

/** One consumer per host for each consumer whose unit has `{host}`; the others as they are. */
export function expandHostUnits(claim: Claim): Claim {
  if (!claim.consumers.some(templated)) return claim;
  const hosts = claim.hosts.map((h) => h.name);
  const consumers = claim.consumers.flatMap((c): Consumer[] => {
    if (!templated(c) || c.kind === 'derivation') return [c];
    return (c.hosts ?? hosts)
      .filter((h) => hosts.includes(h))
      .map((h): Consumer => {
        if (c.kind === 'drone-step') return { ...c, hosts: [h], runnerUnit: unitOnHost(c.runnerUnit, h) };
        if (c.kind === 'systemd-service' || c.kind === 'runner-service')
          return { ...c, hosts: [h], unit: unitOnHost(c.unit, h) };
        return c;
      });
  });
  return { ...claim, consumers };
}
