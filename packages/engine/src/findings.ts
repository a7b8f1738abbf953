export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  readonly rule: string;
  readonly severity: Severity;
  /** What the finding is about: a certificate fingerprint, key id or path. */
  readonly subject: string;
  readonly message: string;
}

export function atLeast(s: Severity, floor: Severity): boolean {
  return SEVERITIES.indexOf(s) >= SEVERITIES.indexOf(floor);
}

export function isSeverity(s: string): s is Severity {
  return (SEVERITIES as readonly string[]).includes(s);
}

/** Rule ids and what they mean; the report prints this so a reader can look a finding up. */
export const RULES: Record<string, string> = {
  'KW-CERT-EXPIRED': 'certificate is past its notAfter at the report instant',
  'KW-CERT-EXPIRING-90D': 'certificate expires within 90 days of the report instant',
  'KW-CERT-EXPIRING-1Y': 'certificate expires within one year of the report instant',
  'KW-CERT-NOT-YET-VALID': 'certificate notBefore is after the report instant',
  'KW-CHAIN-ISSUER-MISSING': 'certificate is not self-signed and no issuer for it is in the inventory',
  'KW-CHAIN-SIGNATURE-INVALID':
    "an issuer candidate was found but its key does not verify the certificate's signature",
  'KW-KEY-PLAINTEXT': 'private key stored unencrypted in a plain file',
  'KW-KEY-WORLD-READABLE': 'unencrypted private key in a file that other users can read',
  'KW-WEAK-SIGNATURE': 'certificate signed with MD5 or SHA-1',
  'KW-WEAK-KEY': 'RSA or DSA key shorter than 2048 bits, or EC key shorter than 256 bits',
  'KW-SIGNATURE-INVALID':
    'a signature on an artifact does not verify (content changed after signing, or wrong key)',
  'KW-SIGNATURE-UNVERIFIED':
    "a signature on an artifact could not be checked: the signer's key is not in the store",
  'KW-UNPARSEABLE': 'something that looked like crypto material could not be parsed, read, or was refused',
};
