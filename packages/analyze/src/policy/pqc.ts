// Shor breaks RSA/EC/DH/DSA/EdDSA; Grover only halves symmetric/hash strength, which a size
// rule covers, so symmetric and hash algorithms are never flagged 'vulnerable' here.
const PQ = /^(ML-DSA|SLH-DSA|ML-KEM|LMS|HSS|XMSS)/i;
const CLASSICAL = /^(RSA|EC|ECDSA|ECDH|Ed25519|Ed448|X25519|X448|DH|DSA)/i;

// Composite ML-DSA (draft-ietf-lamps-pq-composite-sigs, IANA arc id-pkix 6): core does not name
// these yet, so a stored asset carries the bare OID. Named PQ part first, like the draft's ids.
const COMPOSITE_PARTS: [number, string][] = [
  [37, '44-RSA2048-PSS-SHA256'],
  [38, '44-RSA2048-PKCS15-SHA256'],
  [39, '44-Ed25519-SHA512'],
  [40, '44-ECDSA-P256-SHA256'],
  [41, '65-RSA3072-PSS-SHA512'],
  [42, '65-RSA3072-PKCS15-SHA512'],
  [43, '65-RSA4096-PSS-SHA512'],
  [44, '65-RSA4096-PKCS15-SHA512'],
  [45, '65-ECDSA-P256-SHA512'],
  [46, '65-ECDSA-P384-SHA512'],
  [47, '65-ECDSA-brainpoolP256r1-SHA512'],
  [48, '65-Ed25519-SHA512'],
  [49, '87-ECDSA-P384-SHA512'],
  [50, '87-ECDSA-brainpoolP384r1-SHA512'],
  [51, '87-Ed448-SHAKE256'],
  [52, '87-RSA3072-PSS-SHA512'],
  [53, '87-RSA4096-PSS-SHA512'],
  [54, '87-ECDSA-P521-SHA512'],
];
export const COMPOSITE_SIGNATURES: Readonly<Record<string, string>> = Object.fromEntries(
  COMPOSITE_PARTS.map(([n, rest]) => [`1.3.6.1.5.5.7.6.${n}`, `ML-DSA-${rest}`]),
);

/** A composite's name for its bare OID; any other algorithm unchanged. */
export function algorithmName(algorithm: string): string {
  return COMPOSITE_SIGNATURES[algorithm] ?? algorithm;
}

const isComposite = (a: string): boolean =>
  COMPOSITE_SIGNATURES[a] !== undefined || Object.values(COMPOSITE_SIGNATURES).includes(a);

// Composites get their own family: no authority has dated them yet, so they stay 'unknown'
// unless an organisation policy names COMPOSITE (or one composite) explicitly.
export function familyOf(algorithm: string): string {
  if (isComposite(algorithm)) return 'COMPOSITE';
  if (PQ.test(algorithm)) return 'PQC';
  if (/^(Ed25519|Ed448)$/i.test(algorithm)) return 'EdDSA';
  if (/^RSA/i.test(algorithm)) return 'RSA';
  if (/^EC/i.test(algorithm)) return 'EC';
  return algorithm;
}

export function quantumVulnerable(asset: { algorithm: string }): boolean | 'unknown' {
  // composites are named with their PQ part first (e.g. 'ML-DSA-65-RSA3072'): a PQ part protects.
  if (PQ.test(algorithmName(asset.algorithm))) return false;
  if (CLASSICAL.test(asset.algorithm)) return true;
  return 'unknown';
}

/** Mosca: migrate before Z - X (shelf life); late if at + Y (migration time) > Z - X. */
export function moscaDeadline(opts: {
  disallowFrom: string;
  shelfLifeYears?: number;
  migrationYears?: number;
  at: number;
}): { migrateBy: string; late: boolean } {
  const z = new Date(opts.disallowFrom + 'T00:00:00Z');
  z.setUTCFullYear(z.getUTCFullYear() - (opts.shelfLifeYears ?? 0));
  const start = new Date(opts.at);
  start.setUTCFullYear(start.getUTCFullYear() + (opts.migrationYears ?? 0));
  return { migrateBy: z.toISOString().slice(0, 10), late: start.getTime() > z.getTime() };
}
