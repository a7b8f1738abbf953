import { LINT_PROFILES, defineLint, type Lint, type LintContext } from './types.ts';

/** General structure rules: they hold for every profile, device PKIs included. */
const doc = 'RFC 5280';
const all = LINT_PROFILES;

const Y2050 = Date.UTC(2050, 0, 1);

function timeProblem(which: string, ms: number, tag: LintContext['notBeforeTag']): string | undefined {
  const want = ms < Y2050 ? 'UTCTime' : 'GeneralizedTime';
  return tag === want
    ? undefined
    : `${which} ${new Date(ms).toISOString()} is ${tag}; RFC 5280 requires ${want}`;
}

export const RFC5280_LINTS: readonly Lint[] = [
  defineLint(
    {
      id: 'kw.rfc5280.serial-max-20-octets',
      profiles: all,
      source: { document: doc, section: '4.1.2.2' },
      severity: 'error',
      description: 'serialNumber is at most 20 octets',
    },
    (c) => (c.serialOctets > 20 ? `serialNumber is ${c.serialOctets} octets` : undefined),
  ),
  defineLint(
    {
      id: 'kw.rfc5280.time-encoding',
      profiles: all,
      source: { document: doc, section: '4.1.2.5' },
      severity: 'error',
      description: 'dates before 2050 are UTCTime, dates in 2050 or later GeneralizedTime',
    },
    (c) => {
      const out = [
        timeProblem('notBefore', c.cert.notBefore, c.notBeforeTag),
        timeProblem('notAfter', c.cert.notAfter, c.notAfterTag),
      ].filter((m): m is string => m !== undefined);
      return out.length ? out : undefined;
    },
  ),
  defineLint(
    {
      id: 'kw.rfc5280.validity-positive',
      profiles: all,
      source: { document: doc, section: '4.1.2.5' },
      severity: 'error',
      description: 'notAfter is not before notBefore',
    },
    (c) => (c.cert.notAfter < c.cert.notBefore ? 'notAfter is before notBefore' : undefined),
  ),
  defineLint(
    {
      id: 'kw.rfc5280.v3-for-extensions',
      profiles: all,
      source: { document: doc, section: '4.1.2.1' },
      severity: 'error',
      description: 'a certificate with extensions is version 3',
    },
    (c) =>
      c.cert.extensions.length > 0 && c.cert.version !== 3
        ? `version ${c.cert.version} certificate carries extensions`
        : undefined,
  ),
  defineLint(
    {
      id: 'kw.rfc5280.ca-basic-constraints-critical',
      profiles: all,
      source: { document: doc, section: '4.2.1.9' },
      severity: 'error',
      description: 'a CA certificate marks basicConstraints critical',
    },
    (c) => {
      const bc = c.cert.extensions.find((e) => e.oid === '2.5.29.19');
      return c.cert.basicConstraints?.ca && bc && !bc.critical
        ? 'basicConstraints has cA TRUE but is not critical'
        : undefined;
    },
  ),
  defineLint(
    {
      id: 'kw.rfc5280.key-cert-sign-needs-ca',
      profiles: all,
      source: { document: doc, section: '4.2.1.3' },
      severity: 'error',
      description: 'keyCertSign is set only when basicConstraints asserts cA',
    },
    (c) =>
      c.cert.keyUsage?.includes('keyCertSign') && !c.cert.basicConstraints?.ca
        ? 'keyUsage keyCertSign without basicConstraints cA TRUE'
        : undefined,
  ),
  defineLint(
    {
      id: 'kw.rfc5280.ca-key-cert-sign',
      profiles: all,
      source: { document: doc, section: '4.2.1.3' },
      severity: 'error',
      description: 'a CA certificate with keyUsage sets keyCertSign',
    },
    (c) =>
      c.cert.basicConstraints?.ca && c.cert.keyUsage && !c.cert.keyUsage.includes('keyCertSign')
        ? 'cA TRUE but keyUsage lacks keyCertSign'
        : undefined,
  ),
  defineLint(
    {
      id: 'kw.rfc5280.aki-present',
      profiles: all,
      source: { document: doc, section: '4.2.1.1' },
      severity: 'error',
      description: 'authorityKeyIdentifier is present unless the certificate is self-signed',
    },
    (c) =>
      !c.cert.selfSigned && !c.cert.extensions.some((e) => e.oid === '2.5.29.35')
        ? 'no authorityKeyIdentifier'
        : undefined,
  ),
  defineLint(
    {
      id: 'kw.rfc5280.ca-ski-present',
      profiles: all,
      source: { document: doc, section: '4.2.1.2' },
      severity: 'error',
      description: 'a CA certificate carries subjectKeyIdentifier',
    },
    (c) =>
      c.cert.basicConstraints?.ca && c.cert.ski === undefined
        ? 'CA certificate without subjectKeyIdentifier'
        : undefined,
  ),
];
