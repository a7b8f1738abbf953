import { defineLint, type Lint } from './types.ts';

const doc = 'IEEE 802.1AR-2018 Secure Device Identity';
const DEVID = ['idevid', 'ldevid'] as const;
export const HARDWARE_MODULE_NAME_OID = '1.3.6.1.5.5.7.8.4';
const SERIAL_NUMBER_OID = '2.5.4.5';
/** The GeneralizedTime value 99991231235959Z: "no well-defined expiration". */
export const NO_EXPIRY = Date.UTC(9999, 11, 31, 23, 59, 59);

/** Suites 802.1AR names: RSA-2048/SHA-256, ECDSA P-256/SHA-256, ECDSA P-384/SHA-384. */
const SUITES: Record<string, (curveOrBits: string) => boolean> = {
  sha256WithRSAEncryption: (k) => k === 'RSA:2048',
  'ecdsa-with-SHA256': (k) => k === 'EC:P-256',
  'ecdsa-with-SHA384': (k) => k === 'EC:P-384',
};

export const IEEE8021AR_LINTS: readonly Lint[] = [
  defineLint(
    {
      id: 'kw.ieee8021ar.subject-serial-number',
      profiles: ['idevid'],
      source: { document: doc, section: '8.6' },
      severity: 'warning',
      description: 'the IDevID subject carries the device serial number as a serialNumber attribute',
    },
    (c) =>
      c.cert.subject.rdns.some((r) => r.some((a) => a.oid === SERIAL_NUMBER_OID))
        ? undefined
        : 'subject has no serialNumber attribute',
  ),
  defineLint(
    {
      id: 'kw.ieee8021ar.end-entity',
      profiles: DEVID,
      source: { document: doc, section: '8' },
      severity: 'error',
      description: 'a DevID is an end-entity certificate: no cA, no keyCertSign or cRLSign',
    },
    (c) => {
      const out: string[] = [];
      if (c.cert.basicConstraints?.ca) out.push('basicConstraints has cA TRUE');
      for (const b of ['keyCertSign', 'cRLSign'])
        if (c.cert.keyUsage?.includes(b)) out.push(`keyUsage has ${b}`);
      return out.length ? out : undefined;
    },
  ),
  defineLint(
    {
      id: 'kw.ieee8021ar.key-usage',
      profiles: DEVID,
      source: { document: doc, section: '8' },
      severity: 'warning',
      description: 'keyUsage is present with digitalSignature',
    },
    (c) =>
      c.cert.keyUsage?.includes('digitalSignature')
        ? undefined
        : 'keyUsage is absent or lacks digitalSignature',
  ),
  defineLint(
    {
      id: 'kw.ieee8021ar.algorithm-suite',
      profiles: DEVID,
      source: { document: doc, section: '9' },
      severity: 'warning',
      description: 'key and signature follow one of the 802.1AR suites',
    },
    (c) => {
      const k = c.cert.publicKey;
      const key = `${k.algorithm}:${k.algorithm === 'EC' ? (k.curve ?? '') : String(k.size ?? '')}`;
      const sig = c.cert.signatureAlgorithm.name;
      return SUITES[sig]?.(key) ? undefined : `${sig} with a ${key} key is not an 802.1AR suite`;
    },
  ),
  defineLint(
    {
      id: 'kw.ieee8021ar.idevid.no-expiry',
      profiles: ['idevid'],
      source: { document: doc, section: '8.5' },
      severity: 'notice',
      description: 'an IDevID meant to last the device life uses notAfter 99991231235959Z',
    },
    (c) =>
      c.cert.notAfter === NO_EXPIRY && c.notAfterTag === 'GeneralizedTime'
        ? undefined
        : `notAfter is ${new Date(c.cert.notAfter).toISOString()}; an IDevID that outlives it stops authenticating`,
  ),
  defineLint(
    {
      id: 'kw.ieee8021ar.hardware-module-name-critical-san',
      profiles: DEVID,
      source: { document: 'RFC 5280', section: '4.2.1.6' },
      severity: 'error',
      description: 'with an empty subject, the subjectAltName holding the identity is critical',
    },
    (c) => {
      const san = c.cert.extensions.find((e) => e.oid === '2.5.29.17');
      return c.cert.subject.rdns.length === 0 && san && !san.critical
        ? 'subject is empty and subjectAltName is not critical'
        : undefined;
    },
  ),
];
