import { describe, expect, it } from '@jest/globals';
import {
  copyUnitView,
  systemPackagesReached,
  unitPath,
  wrapperCarriesList,
  type CopyUnitFacts,
} from '../../src/checks/propagationView.js';

const wrapper = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-fleet-run';
const own = '/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-fleet-run';
const facts = (installed: string, priority = 5): CopyUnitFacts => ({
  wrapper: { out: wrapper },
  systemPackages: [{ name: 'fleet-run', pname: 'fleet-run', installed: [installed], priority }],
  units: {},
  services: {
    'fleet-cleanup': {
      text: `[Service]\nEnvironment="PATH=${wrapper}/bin:${wrapper}/sbin"\nExecStart=/nix/store/cccccccccccccccccccccccccccccccc-unit-script-fleet-cleanup-start/bin/fleet-cleanup-start\n`,
      execStart: '/nix/store/cccccccccccccccccccccccccccccccc-unit-script-fleet-cleanup-start/bin/fleet-cleanup-start',
      script: 'exec fleet-run true',
      environment: { PATH: `${wrapper}/bin:${wrapper}/sbin` },
      serviceEnvironment: null,
      context: ['/nix/store/dddddddddddddddddddddddddddddddd-fleet-run.drv'],
    },
  },
});

describe('propagation view of a host without systemd.units', () => {
  it('reads a service definition as the unit NixOS writes, with the PATH its `path` makes', () => {
    const view = copyUnitView(facts(wrapper), 'fleet-cleanup.service');
    expect(view?.context).toEqual(['/nix/store/dddddddddddddddddddddddddddddddd-fleet-run.drv']);
    expect(unitPath(view)).toBe(`${wrapper}/bin:${wrapper}/sbin`);
    expect(copyUnitView(facts(wrapper), 'other.service')).toBeUndefined();
  });

  it('counts system packages reached through the shared wrapper only when the configs do not refer to the list', () => {
    expect(systemPackagesReached(facts(wrapper), 'canary-1', 'fleet-run', true, true)[0]).toBe(true);
    // The wrapper without the canary on its PATH, another fleet-run, or hosts that must have the list itself.
    expect(systemPackagesReached(facts(wrapper), 'canary-1', 'fleet-run', false, true)[0]).toBe(false);
    expect(systemPackagesReached(facts(own), 'canary-1', 'fleet-run', true, true)[0]).toBe(false);
    expect(systemPackagesReached(facts(wrapper), 'canary-1', 'fleet-run', true, false)[0]).toBe(false);
    const claim = {
      shared: { program: 'fleet-run' },
      hosts: [
        { name: 'a', requiredPrograms: ['fleet-run'] },
        { name: 'b', requiredPrograms: ['fleet-run', 'git'] },
      ],
    } as unknown as Parameters<typeof wrapperCarriesList>[0];
    expect(wrapperCarriesList(claim, 'a', false)).toBe(true);
    expect(wrapperCarriesList(claim, 'a', true)).toBe(false);
    expect(wrapperCarriesList(claim, 'b', false)).toBe(false);
  });
});
