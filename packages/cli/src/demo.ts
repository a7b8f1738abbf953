import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateEstate } from '@keywarden/testkit';
import { main } from './main.ts';

/**
 * The README's first command: make a sample device-maker estate, scan it into a fresh embedded
 * store, and print the report. Both live under .keywarden/ so a rerun starts clean.
 */
const base = '.keywarden';
const estate = join(base, 'demo-estate');
const db = join(base, 'demo.db');
rmSync(estate, { recursive: true, force: true });
for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });

const manifest = generateEstate(estate, { now: new Date() });
process.stdout.write(
  `generated a sample estate in ${estate}: ${manifest.files.length} files, ${manifest.certificates.length} certificates, ${manifest.keys.length} keys\n\n`,
);
let code = await main(['scan', estate, '--db', db, '--no-progress']);
if (code === 0) {
  process.stdout.write('\n');
  code = await main(['report', '--db', db]);
  process.stdout.write(
    `\nexplore further:\n  npx keywarden inventory certificates --db ${db}\n  npx keywarden inventory keys --db ${db}\n` +
      `  npx keywarden report --db ${db} --at 2030-01-01 --format html -o report.html\n`,
  );
}
process.exitCode = code;
