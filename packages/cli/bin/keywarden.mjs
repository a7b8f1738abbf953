#!/usr/bin/env node
// Runs the TypeScript sources through tsx. Re-executing with --import (instead of registering tsx
// in-process) makes the detector worker threads inherit the loader too.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/run.ts', import.meta.url));
const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
process.exit(r.status ?? 4);
