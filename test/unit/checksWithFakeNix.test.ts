// Edge cases that real Nix cannot be made to produce on demand: every one must
// end as fail or error, never pass.
import pino from 'pino';
import { CHECKS } from '../../src/checks/index.js';
import { RunContext } from '../../src/context.js';
import { NixCommandError } from '../../src/errors.js';
import type { NixClient } from '../../src/nix/client.js';
import { runCheck } from '../../src/run.js';
import { parseSettings } from '../../src/settings.js';
import { baseDir } from '../fixtures/make-fixture.mjs';

const logger = pino({ level: 'silent' });
const settings = parseSettings({ env: { PLUGIN_FLAKE: baseDir }, flags: {}, cwd: '/' });

function failingNix(error: Error): NixClient {
  const fail = async () => {
    throw error;
  };
  const client: NixClient = {
    version: Promise.resolve('2.8.0'),
    flakeRef: baseDir,
    installable: (p) => `${baseDir}#${p}`,
    evalJson: fail,
    evalRaw: fail,
    buildDrvs: fail,
    closure: fail,
    drvClosure: fail,
    storedLog: async () => undefined,
    derivationEnv: fail,
    derivation: fail,
    flakeSource: fail,
    workTreeNotes: Promise.resolve([]),
    withFlakeDir: async () => client,
  };
  return client;
}

const nixChecks = CHECKS.filter((c) => c.id !== 'single-source');

describe.each([
  [
    'nix exits 1',
    new NixCommandError('nix eval', 1, ['error: opening file secrets/hosts.nix: No such file or directory']),
  ],
  ['nix times out', new NixCommandError('nix eval', null, ['no result within 1800s (PLUGIN_TIMEOUT)'], true)],
  ['nix crashes', new Error('spawn nix EACCES')],
])('%s', (_, err) => {
  test.each(nixChecks.map((c) => [c.id, c]))('%s is not a pass, and says why', async (_id, check) => {
    const ctx = new RunContext(settings, failingNix(err), logger);
    // no-drop compares with a base revision, whose evaluation fails the same way.
    if (check.id === 'no-drop') {
      const base = new RunContext({ ...settings, mode: 'eval' }, failingNix(err), logger);
      ctx.comparison = {
        choice: { rev: 'HEAD~1', commit: 'a'.repeat(40), source: 'the base setting' },
        open: async () => ({ ctx: base, notes: [] }),
      };
    }
    const result = await runCheck(check, ctx);
    expect(['fail', 'error']).toContain(result.status);
    expect(`${result.summary}\n${result.evidence.join('\n')}`).toMatch(/secrets\/hosts\.nix|PLUGIN_TIMEOUT|EACCES/);
  });
});
