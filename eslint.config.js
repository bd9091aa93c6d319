// Lint rules for the whole repository: typescript-eslint's recommended set on every TS file.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.local/**', 'cdk.out/**', 'coverage/**', 'bench/results/**', 'dist/**', 'copier/**/*.generated.js', 'functions/*.generated.js', 'console/dist/**', 'console/src/api/types.generated.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', Buffer: 'readonly', fetch: 'readonly', AbortController: 'readonly', structuredClone: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // the web console runs in the browser
    files: ['console/src/**'],
    languageOptions: {
      globals: {
        window: 'readonly', document: 'readonly', navigator: 'readonly', history: 'readonly', sessionStorage: 'readonly',
        atob: 'readonly', Response: 'readonly', URLSearchParams: 'readonly', HTMLDialogElement: 'readonly', Event: 'readonly',
      },
    },
  },
);
