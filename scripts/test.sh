#!/usr/bin/env bash
# The test command (npm test): installs what it needs, type-checks, builds,
# runs unit and real-Nix integration tests, and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

# The integration fixtures need the pinned nixpkgs lib: one line and exit 2 when it can be neither found nor fetched.
node test/fixtures/make-fixture.mjs --check-lib || exit $?
bash scripts/setup-nix.sh || exit 1
[ -d node_modules ] || npm ci --no-audit --no-fund || exit 1
npx tsc --noEmit || exit 1
# One formatter and one linter (issue 20): a violation fails the run before any test.
npx prettier --check src test scripts bench eslint.config.js jest.config.js || { echo "prettier: run npx prettier --write (see .prettierrc.json)"; exit 1; }
npx eslint src test || exit 1
npm run build --silent || exit 1

results=.jest-results.json
rm -f "$results"
node --experimental-vm-modules node_modules/jest/bin/jest.js --json --outputFile="$results" "$@"
status=$?
node -e '
  const fs = require("fs");
  const f = process.argv[1];
  if (!fs.existsSync(f)) { console.log("0 passed, 0 failed"); process.exit(1); }
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  process.exit(r.numTotalTests > 0 && r.numFailedTests === 0 && r.numRuntimeErrorTestSuites === 0 ? 0 : 1);
' "$results" || exit 1
exit $status
