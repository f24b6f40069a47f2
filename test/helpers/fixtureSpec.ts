// A fixture repository laid out once per test file with a Nix client on it, for `--check-spec` tests (real Nix,
// nothing built): the fixture's directory, its own spec text, and the client. Call at the top level of a test file.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkSpec, type SpecCheckResult } from '../../src/claim/checkSpec.js';
import { zxRunner } from '../../src/nix/command.js';
import { createNixClient, type NixClient } from '../../src/nix/client.js';
import { makeFixture, removeFixture, type FixtureName } from '../fixtures/make-fixture.mjs';

export interface FixtureSpec {
  dir: string;
  spec: string;
  nix: NixClient;
  /** `--check-spec` of a spec text against the fixture (as `.nixenv-verify.yml`). */
  checkSpec: (text: string) => Promise<SpecCheckResult>;
}

/** The 1-based line of the first line of `text` that has `marker`. */
export const lineOf = (text: string, marker: string): number =>
  text.split('\n').findIndex((l) => l.includes(marker)) + 1;

export function useFixtureSpec(fixture: FixtureName): FixtureSpec {
  const work = mkdtempSync(path.join(os.tmpdir(), `nv-check-spec-${fixture}-`));
  const state = {
    checkSpec: (text: string) =>
      checkSpec(text, '.nixenv-verify.yml', { flake: state.dir, evalJson: (a, f) => state.nix.evalJson(a, f) }),
  } as FixtureSpec;
  beforeAll(async () => {
    state.dir = makeFixture(path.join(work, fixture), { fixture }).dir;
    state.spec = readFileSync(path.join(state.dir, '.nixenv-verify.yml'), 'utf8');
    state.nix = await createNixClient({
      runner: zxRunner,
      flakeDir: state.dir,
      submodules: false,
      extraArgs: [],
      timeoutMs: 300_000,
    });
  }, 300_000);
  afterAll(() => {
    removeFixture(path.join(work, fixture));
    rmSync(work, { recursive: true, force: true });
  });
  return state;
}
