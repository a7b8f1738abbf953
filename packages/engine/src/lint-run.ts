import type { Store } from '@keywarden/store';
// Deep import until analyze/src/index.ts re-exports the lint runner (the lead owns that file).
import { lintCertificate, type LintReport } from '@keywarden/analyze';
import type { LintProfile, LintResult } from '@keywarden/analyze';
import { loadEstateCerts, type EstateCert } from './estate-certs.ts';

export interface LintRow {
  readonly assetId: string;
  readonly subject: string;
  readonly profile: LintProfile;
  /** Why the profile applies: given by the caller, or what the certificate showed. */
  readonly reason: string;
  readonly results: LintResult[];
}

export interface LintStoreResult {
  readonly rows: LintRow[];
  /** Certificate assets with no DER kept (declared only), which cannot be linted. */
  readonly skipped: string[];
}

/**
 * The issuer in the estate, when one is unambiguous: same name as the issuer field and, when both
 * carry key identifiers, the matching one. Profile guessing and chain lints (Matter VID) use it.
 */
function issuerIndex(certs: readonly EstateCert[]): (c: EstateCert) => EstateCert | undefined {
  const bySubject = new Map<string, EstateCert[]>();
  for (const e of certs) {
    const k = e.input.cert.subject.text;
    bySubject.set(k, [...(bySubject.get(k) ?? []), e]);
  }
  return (c) => {
    const { cert } = c.input;
    if (cert.selfIssued) return undefined;
    const named = (bySubject.get(cert.issuer.text) ?? []).filter(
      (e) => cert.aki === undefined || e.input.cert.ski === undefined || e.input.cert.ski === cert.aki,
    );
    return named.length === 1 ? named[0] : undefined;
  };
}

export async function lintStore(
  store: Store,
  opts: { profile?: LintProfile; at: number },
): Promise<LintStoreResult> {
  const { certs, withoutDer } = await loadEstateCerts(store);
  const issuerOf = issuerIndex(certs);
  const rows: LintRow[] = [];
  for (const c of certs) {
    const issuer = issuerOf(c);
    let report: LintReport;
    try {
      report = lintCertificate(c.input.der, {
        at: opts.at,
        ...(opts.profile ? { profile: opts.profile } : {}),
        ...(issuer ? { issuer: issuer.input.der } : {}),
      });
    } catch (e) {
      // loadEstateCerts already parsed this DER; a failure here is a runner defect, reported per row.
      report = {
        profile: opts.profile ?? 'rfc5280',
        reason: 'lint run failed',
        results: [
          {
            id: 'kw.lint.failed',
            severity: 'error',
            message: (e as Error).message,
            source: { document: 'Keywarden', section: 'lint runner' },
          },
        ],
      };
    }
    rows.push({ assetId: c.row.id, subject: c.input.cert.subject.text, ...report });
  }
  rows.sort((a, b) => a.subject.localeCompare(b.subject) || a.assetId.localeCompare(b.assetId));
  return { rows, skipped: withoutDer.map((r) => r.id) };
}
