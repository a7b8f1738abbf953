import { leafHash } from './hash.ts';
import type { Statement } from './statement.ts';

/** A distinct, valid statement per i, so tests can tell entries apart. */
export function scan(i: number): Statement {
  return {
    type: 'scan.completed',
    at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    scanId: `scan-${i}`,
    inventoryDigest: `sha256:${leafHash(Buffer.from(String(i))).toString('hex')}`,
  };
}
