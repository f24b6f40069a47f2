// Two verdicts for the card as a reviewer sees it under Drone: a pass, and a
// fail with evidence, deviations and the build link. test/unit/cardRender.test.ts
// renders them with the real Adaptive Cards library; scripts/card-screenshots.mjs
// screenshots them into docs/card-pass.png and docs/card-fail.png.
import type { CheckResult, Verdict } from '../../src/verdict.js';

const pass = (id: CheckResult['id'], title: string, summary: string, durationMs: number): CheckResult => ({
  id,
  title,
  status: 'pass',
  summary,
  evidence: [`${id}: ok`],
  durationMs,
});

const source = {
  repo: 'cc-ci/cc-ci',
  commit: '3f9c2a7d41b08e5c6a1f2d3e4b5c6d7e8f9a0b1c',
  buildLink: 'https://drone.example.org/cc-ci/cc-ci/482',
};

export const PASS_VERDICT: Verdict = {
  verdict: 'pass',
  mode: 'build',
  flake: '/drone/src',
  flakeRef: '/drone/src?submodules=1',
  hosts: ['cc-ci', 'cc-ci-hetzner'],
  nix: { version: '2.18.1' },
  checks: [
    pass('build', 'Every host builds with no collision', 'both hosts built; no collision in the buildEnv', 48200),
    pass('single-source', 'The runtime is declared once (grep proofs)', 'one declaration: nix/test-runtime.nix:3', 900),
    pass(
      'path-superset',
      'The wrapper PATH carries every expected tool',
      '15 of 15 expected tools on the wrapper PATH',
      1300,
    ),
    pass(
      'entrypoint-parity',
      'The sweep and the Drone step run the same wrapper store path',
      'one store path: /nix/store/2b6…-cc-ci-run',
      700,
    ),
    pass(
      'host-parity',
      'Hosts declare identical system packages and carry the required programs',
      'identical on both hosts',
      2100,
    ),
    pass(
      'propagation',
      'One edit to the shared tool list reaches every consumer',
      'the canary reached 3 of 3 consumers',
      30400,
    ),
  ],
  durationMs: 83600,
  tool: { name: 'nixenv-verify', version: '0.1.0' },
  source,
};

export const FAIL_VERDICT: Verdict = {
  ...PASS_VERDICT,
  verdict: 'fail',
  checks: [
    pass('build', 'Every host builds with no collision', 'both hosts built; no collision in the buildEnv', 47800),
    {
      id: 'path-superset',
      title: 'The wrapper PATH carries every expected tool',
      status: 'fail',
      summary: '1 of 15 expected tools missing from the wrapper PATH',
      evidence: [
        'wrapper: /nix/store/aaa1k2-cc-ci-run',
        'PATH has 14 entries',
        'MISSING git-lfs-3.6.1 (expected from nix/test-runtime.nix:12)',
      ],
      durationMs: 1400,
    },
    {
      id: 'entrypoint-parity',
      title: 'The sweep and the Drone step run the same wrapper store path',
      status: 'fail',
      summary: 'the Drone step runs a different wrapper than the sweep',
      evidence: ['sweep: /nix/store/aaa1k2-cc-ci-run', 'drone step: /nix/store/bbb9x4-cc-ci-run (differ)'],
      durationMs: 800,
    },
    {
      id: 'host-parity',
      title: 'Hosts declare identical system packages and carry the required programs',
      status: 'error',
      summary: 'nix eval of cc-ci-hetzner failed',
      evidence: ["error: attribute 'hetznerModules' missing", 'at /drone/src/hosts/cc-ci-hetzner/default.nix:7:5'],
      durationMs: 600,
    },
    {
      id: 'propagation',
      title: 'One edit to the shared tool list reaches every consumer',
      status: 'skip',
      summary: 'not run: the build did not give a wrapper to edit',
      evidence: [],
      durationMs: 0,
    },
  ],
  deviations: [
    { setting: 'expected_tools', value: '…', default: '…', label: 'expected_tools (15 of 16: without jq-1.7.1)' },
  ],
  durationMs: 51200,
};
