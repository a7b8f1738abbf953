import { defineLint, type Lint } from './types.ts';

const doc = 'CA/Browser Forum Baseline Requirements for Code Signing Certificates';
const only = ['code-signing'] as const;

/** notBefore plus whole calendar months, the way "39 months" is read. */
function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.getTime();
}

export const CODE_SIGNING_LINTS: readonly Lint[] = [
  defineLint(
    {
      id: 'kw.codesign.eku-code-signing',
      profiles: only,
      source: { document: doc, section: '7.1.2.3' },
      severity: 'error',
      description: 'extKeyUsage has codeSigning and neither anyExtendedKeyUsage nor serverAuth',
    },
    (c) => {
      const eku = c.cert.extKeyUsage;
      if (!eku?.includes('codeSigning')) return 'extKeyUsage lacks codeSigning';
      const bad = eku.filter((p) => p === 'anyExtendedKeyUsage' || p === 'serverAuth');
      return bad.length ? `extKeyUsage also has ${bad.join(', ')}` : undefined;
    },
  ),
  defineLint(
    {
      id: 'kw.codesign.key-usage',
      profiles: only,
      source: { document: doc, section: '7.1.2.3' },
      severity: 'error',
      description: 'keyUsage is critical, has digitalSignature and neither keyCertSign nor cRLSign',
    },
    (c) => {
      const ku = c.cert.keyUsage;
      const e = c.cert.extensions.find((x) => x.oid === '2.5.29.15');
      if (!ku || !e) return 'no keyUsage';
      const out: string[] = [];
      if (!e.critical) out.push('keyUsage is not critical');
      if (!ku.includes('digitalSignature')) out.push('keyUsage lacks digitalSignature');
      for (const b of ['keyCertSign', 'cRLSign']) if (ku.includes(b)) out.push(`keyUsage has ${b}`);
      return out.length ? out : undefined;
    },
  ),
  defineLint(
    {
      id: 'kw.codesign.key-strength',
      profiles: only,
      source: { document: doc, section: '6.1.5' },
      severity: 'error',
      description: 'RSA keys are at least 3072 bits; EC keys are on P-256, P-384 or P-521',
    },
    (c) => {
      const k = c.cert.publicKey;
      if (k.algorithm === 'RSA') return (k.size ?? 0) < 3072 ? `RSA key of ${k.size} bits` : undefined;
      if (k.algorithm === 'EC')
        return ['P-256', 'P-384', 'P-521'].includes(k.curve ?? '') ? undefined : `EC key on ${k.curve}`;
      return `key algorithm ${k.algorithm} is not allowed`;
    },
  ),
  defineLint(
    {
      id: 'kw.codesign.validity-39-months',
      profiles: only,
      source: { document: doc, section: '6.3.2' },
      severity: 'error',
      description: 'a subscriber code signing certificate is valid for at most 39 months',
    },
    (c) =>
      !c.cert.basicConstraints?.ca && c.cert.notAfter > addMonths(c.cert.notBefore, 39)
        ? `notAfter ${new Date(c.cert.notAfter).toISOString()} is more than 39 months after notBefore`
        : undefined,
  ),
];
