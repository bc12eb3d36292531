import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'src/generated/',
      'test/generated/',
      'console/src/generated/',
      '.roster/',
      'coverage/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } } },
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'off',
      // An async function without await is how an interface's async method is written.
      '@typescript-eslint/require-await': 'off',
      // Async listeners are passed to node's APIs on purpose (the fetch adapter as the request
      // listener, abort handlers); unawaited promises are still caught by no-floating-promises.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  // The explorer's page script runs in the browser, as a classic script.
  { files: ['src/explorer/**/*.js'], languageOptions: { sourceType: 'script', globals: globals.browser } },
  // So do the hosted sign-in pages' passkey forms.
  { files: ['src/identity/assets/*.js'], languageOptions: { sourceType: 'script', globals: globals.browser } },
  {
    // Tests read untyped GraphQL answers (`data` is `any`): the any-safety rules would only add casts.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
