import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'demo/', 'bench-data/', 'web/build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Scripts run in Node.
    files: ['scripts/**/*.mjs'],
    languageOptions: { globals: Object.fromEntries(['process', 'console', 'fetch', 'performance', 'URL'].map((g) => [g, 'readonly'])) },
  },
);
