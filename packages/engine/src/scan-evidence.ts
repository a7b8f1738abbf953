import { createHash } from 'node:crypto';
import type { Digest, EvidenceLog, ScanCompleted } from '@keywarden/evidence';
import type { Store } from '@keywarden/store';
import type { ScanSummary } from './scan-job.ts';

/**
 * SHA-256 over the sorted asset ids (`kind:identity`, one per line). Assets are content-addressed,
 * so two stores with the same digest hold the same certificates, keys, signatures and roles; an
 * auditor holding a store export can recompute it and compare with the logged statement.
 */
export async function inventoryDigest(store: Store): Promise<Digest> {
  const h = createHash('sha256');
  for await (const id of store.assetIds()) h.update(`${id}\n`);
  return `sha256:${h.digest('hex')}`;
}

/** The statement a completed scan leaves in the evidence log. */
export async function scanStatement(store: Store, s: ScanSummary, at: number): Promise<ScanCompleted> {
  return {
    type: 'scan.completed',
    at: new Date(at).toISOString(),
    scanId: s.scanId,
    inventoryDigest: await inventoryDigest(store),
    counts: {
      files: s.files,
      certificates: s.certificates,
      keys: s.keys,
      privateKeys: s.privateKeys,
      signatures: s.signatures,
      invalidSignatures: s.invalidSignatures,
      unparseable: s.unparseable,
      refused: s.refused,
    },
  };
}

/** Append and wait until durable; the log's own errors (LOG_WRITE, LOG_LOCKED) reach the caller. */
export async function recordScan(
  log: EvidenceLog,
  store: Store,
  s: ScanSummary,
  at: number,
): Promise<number> {
  return log.append(await scanStatement(store, s, at));
}
