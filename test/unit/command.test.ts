// zxRunner with real processes: each command leads its own process group, which
// a timeout stops (SIGTERM, then SIGKILL) and which is emptied when it ends.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zxRunner } from '../../src/nix/command.js';
import { liveProcessGroups } from '../../src/cleanup.js';
import { processesWithEnv, waitFor } from '../helpers/fakeNix.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'nv-command-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const MARKER = 'NIXENV_TEST_MARKER';
const marked = () => {
  const marker = randomBytes(6).toString('hex');
  return { marker, env: { ...process.env, [MARKER]: marker } };
};

describe('zxRunner', () => {
  test('a plain command: exit code, output, no group left registered', async () => {
    const r = await zxRunner('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
    expect(liveProcessGroups()).toEqual([]);
  });

  test('arguments are passed verbatim (no shell splitting)', async () => {
    const r = await zxRunner('printf', ['%s|', 'a b', "it's", '$HOME', '']);
    expect(r.stdout).toBe("a b|it's|$HOME||");
  });

  test('a missing command is exit 127, not an exception', async () => {
    const r = await zxRunner('nixenv-verify-no-such-command', []);
    expect(r.exitCode).toBe(127);
  });

  test.each([
    ['obeys SIGTERM', 'sleep 1000 & wait', 0],
    ['ignores SIGTERM (so does its child)', "trap '' TERM; sleep 1000 & wait", 400],
  ])('a timeout stops a command that %s, with its child', async (_name, script, minGraceMs) => {
    const { marker, env } = marked();
    const started = Date.now();
    const r = await zxRunner('bash', ['-c', script], { env, timeoutMs: 300, killGraceMs: 400 });
    const took = Date.now() - started;
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(took).toBeGreaterThanOrEqual(300 + minGraceMs - 50);
    expect(took).toBeLessThan(5000);
    expect(await waitFor(() => processesWithEnv(MARKER, marker).length === 0, 1000)).toBe(true);
    expect(liveProcessGroups()).toEqual([]);
  });

  test('what a finished command left running in its group is stopped', async () => {
    const { marker, env } = marked();
    // The background sleep keeps no pipe open, so the command itself ends at once.
    const r = await zxRunner('bash', ['-c', 'sleep 1000 >/dev/null 2>&1 </dev/null & echo started'], { env });
    expect(r.stdout).toBe('started\n');
    expect(await waitFor(() => processesWithEnv(MARKER, marker).length === 0, 1000)).toBe(true);
  });

  test('a crash reports the signal', async () => {
    const r = await zxRunner('bash', ['-c', 'kill -SEGV $$']);
    expect(r.exitCode).toBeNull();
    expect(r.signal).toBe('SIGSEGV');
    expect(r.timedOut).toBe(false);
  });
});
