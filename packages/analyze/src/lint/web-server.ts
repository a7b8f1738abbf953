import { DAY_MS, defineLint, validityMs, type Lint } from './types.ts';

/** CA/Browser Forum TLS rules. They misfire on device certificates, so only 'web-server' runs them. */
const doc = 'CA/Browser Forum Baseline Requirements (TLS)';
const only = ['web-server'] as const;

export const WEB_SERVER_LINTS: readonly Lint[] = [
  defineLint(
    {
      id: 'kw.webpki.validity-398-days',
      profiles: only,
      source: { document: doc, section: '6.3.2' },
      severity: 'error',
      description: 'a subscriber TLS certificate is valid for at most 398 days',
    },
    (c) => {
      if (c.cert.basicConstraints?.ca) return undefined;
      const days = validityMs(c) / DAY_MS;
      return days > 398 ? `validity period is ${Math.ceil(days)} days` : undefined;
    },
  ),
  defineLint(
    {
      id: 'kw.webpki.san-required',
      profiles: only,
      source: { document: doc, section: '7.1.2.7.12' },
      severity: 'error',
      description: 'a subscriber TLS certificate names its hosts in subjectAltName (dNSName or iPAddress)',
    },
    (c) =>
      c.cert.basicConstraints?.ca || c.cert.subjectAltNames?.some((n) => n.type === 'dns' || n.type === 'ip')
        ? undefined
        : 'no dNSName or iPAddress in subjectAltName',
  ),
  defineLint(
    {
      id: 'kw.webpki.eku-server-auth',
      profiles: only,
      source: { document: doc, section: '7.1.2.7.10' },
      severity: 'error',
      description: 'a subscriber TLS certificate asserts serverAuth and not anyExtendedKeyUsage',
    },
    (c) => {
      if (c.cert.basicConstraints?.ca) return undefined;
      const eku = c.cert.extKeyUsage;
      if (!eku?.includes('serverAuth')) return 'extKeyUsage lacks serverAuth';
      return eku.includes('anyExtendedKeyUsage') ? 'extKeyUsage includes anyExtendedKeyUsage' : undefined;
    },
  ),
];
