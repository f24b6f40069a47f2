// --help: generated from the settings table, so it cannot drift from what is parsed.
import { nixAllowedText } from './nix/options.js';
import { envName, flagName, SETTINGS, SPEC_FILE_DEFAULT } from './settings.js';

export function helpText(): string {
  const lines = [
    'nixenv-verify: verify, with real Nix, that a NixOS flake declares its test runtime once and every consumer uses it.',
    '',
    'Usage: nixenv-verify [--setting value ...]',
    '',
    'Every setting is also read from its PLUGIN_* variable (Drone plugin settings); a flag wins.',
    `Precedence: flag > PLUGIN_* > spec file (${SPEC_FILE_DEFAULT} or the spec setting) > built-in spec (the cc-ci claim).`,
    '',
  ];
  for (const def of SETTINGS) {
    const dflt =
      def.defaultText ?? (def.default === undefined ? '(unset)' : def.default === '' ? '(empty)' : def.default);
    lines.push(`  ${flagName(def.name)}  [${envName(def.name)}]`);
    lines.push(`      ${def.description}`);
    lines.push(`      default: ${dflt}${def.values ? `; allowed: ${def.values.join(', ')}` : ''}`);
  }
  lines.push(
    '',
    `  --print-spec`,
    `      Print the built-in spec (the cc-ci claim, YAML with comments) and exit: a starting point for ${SPEC_FILE_DEFAULT}. Its first line names the spec's JSON Schema for editors (yaml-language-server).`,
  );
  lines.push(
    '',
    `  --verbose`,
    `      The console verdict shows passing checks' evidence too (as log_level debug does); failing checks always show theirs.`,
  );
  lines.push(
    '',
    '  --check-spec  [PLUGIN_CHECK_SPEC=true]',
    "      Check the spec against the repository and exit, without a verdict and building nothing: hosts, files, attributes, units, the program (by name), name-version entries. Exit 2 names each problem's spec key and line.",
  );
  lines.push(
    '',
    '  --init',
    '      Print a starting spec for the repository (its hosts, shared wrapper, tool list, timer-started and runner services, Drone steps) with comments saying what to check by hand, and exit.',
  );
  lines.push('', `Allowed nix options: ${nixAllowedText()}.`);
  lines.push(
    '',
    'Exit status: 0 verdict pass, 1 a check failed or errored, 2 invalid settings or the run cannot start.',
  );
  return lines.join('\n');
}
