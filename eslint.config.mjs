// ESLint flat config: typescript-eslint's type-aware rules on every TypeScript file (each file's
// types come from the nearest tsconfig.json through the project service: the packages' and
// examples' own, and the not-built test/tsconfig.json ones), plain recommended rules on JavaScript.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Build output, installed packages, and files a tool writes (benchmark results, release notes).
    // hidden-class.cjs uses V8 natives syntax (%HaveSameMap), which no JavaScript parser reads.
    ignores: ['**/dist/**', '**/node_modules/**', 'benchmarks/results/**', 'test-artifacts/**', 'packages/express/test/fixtures/hidden-class.cjs'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Passing on what user code threw, or an AbortSignal's reason, is not choosing a non-Error reason.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      // A leading underscore marks a binding kept on purpose (a destructured-away property, a
      // parameter an interface requires).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['packages/*/test/**/*.ts', 'test/**/*.ts'],
    rules: {
      // Tests reach into framework objects (req, res, ctx), parsed JSON bodies and private state.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Assertion messages show whatever the value is, arrays and undefined included.
      '@typescript-eslint/restrict-template-expressions': 'off',
      // Stubs stand in for async contracts (stores, hooks, handlers) without awaiting anything.
      '@typescript-eslint/require-await': 'off',
    },
  },
);
