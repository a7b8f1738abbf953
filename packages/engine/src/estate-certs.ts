import { parseCertificate } from '@keywarden/core';
import type { CertInput } from '@keywarden/analyze';
import type { AssetRow, Store } from '@keywarden/store';

/** A certificate asset with its parsed DER, ready for path building. */
export interface EstateCert {
  readonly row: AssetRow;
  readonly input: CertInput;
}

/**
 * Every certificate in the store, re-parsed from the DER the scan kept. Rows without DER (declared by
 * a CBOM and never seen) cannot take part in path validation and are returned apart.
 */
export async function loadEstateCerts(
  store: Store,
): Promise<{ certs: EstateCert[]; withoutDer: AssetRow[] }> {
  const certs: EstateCert[] = [];
  const withoutDer: AssetRow[] = [];
  for await (const row of store.assets({ kind: 'certificate' })) {
    const b64 = (row.record as { der?: string } | null)?.der;
    if (!b64) {
      withoutDer.push(row);
      continue;
    }
    const der = Buffer.from(b64, 'base64');
    try {
      certs.push({ row, input: { der, cert: parseCertificate(der) } });
    } catch {
      // Stored only after a successful parse, so this is a parser change since the scan: leave it out
      // of the graph rather than fail every chain.
      withoutDer.push(row);
    }
  }
  return { certs, withoutDer };
}
