// ESLint: typescript-eslint's strict, type-checked rules over src/ and test/.
// Each rule turned off or relaxed here says why on its line.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'coverage/',
      'bench/',
      'scripts/',
      'test/fixtures/',
      'eslint.config.js',
      'jest.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Indexing after a length or `in` check: `!` states what the check proved (tsconfig has no noUncheckedIndexedAccess).
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Evidence lines interpolate numbers, booleans and nullable values on purpose ("exit null").
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true },
      ],
      // `(x) => void f(x)`-style shorthands in callbacks and tests read better than blocks.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // Values parsed from nix JSON, YAML and the repository are typed as they should be, not as they may arrive:
      // the defensive checks against a hostile or older input stay.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Implementations of async interfaces (the Nix client, script sources, fakes) may not await: the contract is a promise.
      '@typescript-eslint/require-await': 'off',
      // Values from YAML, JSON and the repository are shown as they are (String(x)) in evidence and errors, on purpose.
      '@typescript-eslint/no-base-to-string': 'off',
      // Matching control characters is the point where outputs are made inert and shell/unit text is scanned.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // 120 columns for code and comments (Prettier's width). Strings, template literals and regular expressions are
      // never broken: a message stays greppable in the source as it is printed (as the Linux kernel's style asks).
      'max-len': [
        'error',
        { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
      ],
    },
  },
  {
    // Tests read JSON reports and renderer objects loosely: a wrong shape fails the assertion that reads it.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
    },
  },
  {
    // mvdan-sh (the shell parser) and JSON from nix have no types: their nodes are read as `any` by design.
    files: ['src/shell/parse.ts', 'src/shell/ast.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
