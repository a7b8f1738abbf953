// Runs every *.test.ts under packages/ through node:test with tsx. Node 20 cannot glob .ts files
// itself, so we list them. `--postgres` runs only the storage suites against PostgreSQL.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const postgres = args.includes('--postgres');
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

let files = walk('packages', []).sort();
if (postgres) files = files.filter((f) => /packages[/\\](store|engine)[/\\]/.test(f));
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(2);
}
const env = { ...process.env };
if (postgres) env.KEYWARDEN_TEST_DIALECTS = 'postgres';
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env,
});
process.exit(r.status ?? 1);
