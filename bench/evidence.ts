/**
 * The evidence log: durable batched appends and inclusion-proof verifications per second, each beside
 * the SHA-256 throughput (64-byte inputs) measured in the same run.
 *
 *   node --import tsx bench/evidence.ts [-- --entries 100000 --batch 1000 --proofs 20000]
 *
 * Appends are timed end to end: canonical JSON, leaf and tile hashing, entry bundles and tiles
 * written and fsynced, a checkpoint signed (Ed25519) and atomically replaced, once per batch.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EvidenceLog,
  leafHash,
  verifyInclusion,
  encodeStatement,
  type Statement,
} from '../packages/evidence/src/index.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): number => {
  const i = args.indexOf(`--${name}`);
  return Number(i === -1 ? dflt : (args[i + 1] ?? dflt));
};
const ENTRIES = opt('entries', '100000');
const BATCH = opt('batch', '1000');
const PROOFS = opt('proofs', '20000');

function sha256PerSecond(): number {
  const input = randomBytes(64);
  let n = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 1) {
    for (let i = 0; i < 10_000; i++) createHash('sha256').update(input).digest();
    n += 10_000;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  return n / elapsed;
}

const statement = (i: number): Statement => ({
  type: 'key.operation',
  at: new Date(Date.UTC(2026, 0, 1) + i).toISOString(),
  operation: 'sign',
  keyId: `release-key-${i % 17}`,
  outputDigest: `sha256:${(i % 0xffffffff).toString(16).padStart(64, '0')}`,
});

const dir = mkdtempSync(join(tmpdir(), 'kw-bench-evidence-'));
try {
  const hashRate = sha256PerSecond();
  const log = await EvidenceLog.open(join(dir, 'log'), { create: true, origin: 'bench.invalid/evidence' });
  const batches: Statement[][] = [];
  for (let i = 0; i < ENTRIES; i += BATCH)
    batches.push(Array.from({ length: Math.min(BATCH, ENTRIES - i) }, (_, j) => statement(i + j)));
  const t0 = process.hrtime.bigint();
  for (const b of batches) await log.appendBatch(b);
  const appendSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const appendRate = ENTRIES / appendSeconds;

  // Proofs are generated untimed; only their verification is measured.
  const root = log.root;
  const cases = Array.from({ length: PROOFS }, (_, k) => {
    const index = Math.floor((k * 2654435761) % ENTRIES);
    return { index, leaf: leafHash(encodeStatement(statement(index))), proof: log.inclusionProof(index) };
  });
  log.close();
  const depth = cases.reduce((s, c) => s + c.proof.length, 0) / cases.length;
  const t1 = process.hrtime.bigint();
  let ok = 0;
  for (const c of cases) if (verifyInclusion(c.leaf, c.index, ENTRIES, c.proof, root)) ok++;
  const verifySeconds = Number(process.hrtime.bigint() - t1) / 1e9;
  if (ok !== PROOFS) throw new Error(`${PROOFS - ok} proofs failed to verify`);
  const verifyRate = PROOFS / verifySeconds;
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

  process.stdout.write(
    [
      `SHA-256 (64-byte inputs, node:crypto): ${fmt(hashRate)} hashes/s`,
      `appends (durable, ${ENTRIES} entries in batches of ${BATCH}): ${fmt(appendRate)}/s  ` +
        `(${appendSeconds.toFixed(2)} s; ratio to SHA-256 ${(appendRate / hashRate).toFixed(3)}; target 50,000/s ${appendRate >= 50_000 ? 'met' : 'NOT met'})`,
      `inclusion-proof verifications (${PROOFS}, ${depth.toFixed(1)} hashes each): ${fmt(verifyRate)}/s  ` +
        `(ratio to SHA-256 ${(verifyRate / hashRate).toFixed(3)}; ${fmt(verifyRate * (depth + 1))} hashes/s inside; target 100,000/s ${verifyRate >= 100_000 ? 'met' : 'NOT met'})`,
    ].join('\n') + '\n',
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
