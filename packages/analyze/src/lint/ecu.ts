import { defineLint, type Lint } from './types.ts';

/**
 * No public standard fixes an OEM ECU identity certificate. This profile writes down common ISO/SAE
 * 21434 practice so it can be checked, and its source says so plainly.
 */
const source = { document: 'Keywarden ECU profile (no public standard)', section: 'ECU identity' };
const only = ['ecu-identity'] as const;

export const ECU_LINTS: readonly Lint[] = [
  defineLint(
    {
      id: 'kw.ecu.key-strength',
      profiles: only,
      source,
      severity: 'error',
      description: 'ECDSA on P-256 or larger, or RSA of at least 2048 bits',
    },
    (c) => {
      const k = c.cert.publicKey;
      if (k.algorithm === 'EC')
        return ['P-256', 'P-384', 'P-521'].includes(k.curve ?? '') ? undefined : `EC key on ${k.curve}`;
      if (k.algorithm === 'RSA') return (k.size ?? 0) >= 2048 ? undefined : `RSA key of ${k.size} bits`;
      return `key algorithm ${k.algorithm} is not in the ECU profile`;
    },
  ),
  defineLint(
    {
      id: 'kw.ecu.client-auth',
      profiles: only,
      source,
      severity: 'warning',
      description: 'an ECU identity authenticates as a client: extKeyUsage has clientAuth',
    },
    (c) => (c.cert.extKeyUsage?.includes('clientAuth') ? undefined : 'extKeyUsage lacks clientAuth'),
  ),
  defineLint(
    {
      id: 'kw.ecu.device-serial',
      profiles: only,
      source,
      severity: 'error',
      description: 'the ECU serial is named: subject serialNumber or a subjectAltName entry',
    },
    (c) =>
      c.cert.subject.rdns.some((r) => r.some((a) => a.oid === '2.5.4.5')) ||
      (c.cert.subjectAltNames?.length ?? 0) > 0
        ? undefined
        : 'neither subject serialNumber nor subjectAltName names the ECU',
  ),
];
