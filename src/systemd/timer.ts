// Whether systemd starts a timer and lets it elapse (systemd.timer(5), systemd.unit(5) [Install]): something
// started at boot pulls it in (NixOS links wanted units into `<target>.wants/` and writes no [Install]; a
// NixOS-like config may state [Install] WantedBy= of a boot target instead), and it has an On…= trigger
// (systemd refuses a timer without one). The timer is read with the unit model: its file plus drop-ins.
import { BOOT_UNITS, type UnitView } from '../context.js';
import { listSetting, timerTriggers } from './unit.js';

/** The units an [Install] section names (what `systemctl enable` would link it into). */
export const installedBy = (t: UnitView): string[] =>
  ['WantedBy', 'RequiredBy', 'UpheldBy'].flatMap((k) =>
    listSetting(t.unit, 'Install', k).flatMap((l) => l.value.split(/\s+/).filter(Boolean)),
  );

/** How systemd reaches the timer from a boot unit (`timers.target → x.timer`), if it does. */
export const startedAtBoot = (t: UnitView): string[] | undefined =>
  t.bootChain ??
  installedBy(t)
    .filter((u) => BOOT_UNITS.includes(u))
    .map((u) => [u, t.name])[0];

/** Why the timer never elapses, or undefined when systemd starts it and it has a trigger. */
export function timerNotLive(t: UnitView): string | undefined {
  const pulled = [...(t.wantedBy ?? []), ...installedBy(t)];
  if (pulled.length === 0)
    return `${t.name} is not wanted by any unit (no wantedBy, no .wants link): systemd never starts it`;
  if (!startedAtBoot(t))
    return `${t.name} is wanted only by ${[...new Set(pulled)].join(', ')}, which nothing starts at boot`;
  return timerTriggers(t.unit).length === 0
    ? `${t.name} has no OnCalendar= or other On…= trigger: systemd refuses it`
    : undefined;
}
