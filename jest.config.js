// ESM TypeScript through ts-jest; run with node --experimental-vm-modules.
const tsJest = ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }];
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': tsJest },
  testEnvironment: 'node',
};
export default {
  // Jest reads testTimeout from the global config, not a project's: real nix and process tests under load need more
  // than the 5 s default.
  testTimeout: 600000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      // The pinned nixpkgs lib, once; without it one line and exit 2 (not one failure per test).
      globalSetup: '<rootDir>/test/fixtures/global-setup.mjs',
      // Real nix builds; each fixture run takes seconds.
      testTimeout: 600000,
    },
  ],
};
