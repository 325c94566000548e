#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx etl` works straight after `npm ci`.
require('tsx/cjs');
require('../cli/main.ts');
