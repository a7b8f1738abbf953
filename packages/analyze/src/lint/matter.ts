import type { Certificate, NameAttribute } from '@keywarden/core';
import { defineLint, type Lint, type LintProfile } from './types.ts';

/** Matter device attestation chain: PAA (root) -> PAI (intermediate) -> DAC (device). */
const doc = 'Matter Core Specification';
export const MATTER_VID_OID = '1.3.6.1.4.1.37244.2.1';
export const MATTER_PID_OID = '1.3.6.1.4.1.37244.2.2';

const MATTER = ['matter-dac', 'matter-pai', 'matter-paa'] as const;

export function matterAttr(cert: Certificate, oid: string): NameAttribute | undefined {
  for (const rdn of cert.subject.rdns) for (const a of rdn) if (a.oid === oid) return a;
  return undefined;
}

function attrProblem(
  cert: Certificate,
  oid: string,
  label: string,
  need: 'required' | 'optional' | 'absent',
): string[] {
  const a = matterAttr(cert, oid);
  if (!a) return need === 'required' ? [`subject has no Matter ${label} attribute`] : [];
  if (need === 'absent') return [`subject carries a Matter ${label}, which this certificate kind must not`];
  const out: string[] = [];
  if (a.stringType !== 'UTF8String') out.push(`Matter ${label} is a ${a.stringType}, not a UTF8String`);
  if (!/^[0-9A-F]{4}$/.test(a.value)) out.push(`Matter ${label} '${a.value}' is not 4 uppercase hex digits`);
  return out;
}

function keyUsageProblems(cert: Certificate, want: readonly string[], allowed: readonly string[]): string[] {
  const e = cert.extensions.find((x) => x.oid === '2.5.29.15');
  const ku = cert.keyUsage;
  if (!e || !ku) return ['no keyUsage'];
  const out: string[] = [];
  if (!e.critical) out.push('keyUsage is not critical');
  for (const w of want) if (!ku.includes(w)) out.push(`keyUsage lacks ${w}`);
  for (const k of ku) if (!want.includes(k) && !allowed.includes(k)) out.push(`keyUsage has ${k}`);
  return out;
}

function bcProblems(cert: Certificate, ca: boolean, pathLen?: number): string[] {
  const e = cert.extensions.find((x) => x.oid === '2.5.29.19');
  const bc = cert.basicConstraints;
  if (!e || !bc) return ['no basicConstraints'];
  const out: string[] = [];
  if (!e.critical) out.push('basicConstraints is not critical');
  if (bc.ca !== ca) out.push(`basicConstraints cA is ${bc.ca}, want ${ca}`);
  if (pathLen !== undefined && bc.pathLen !== pathLen)
    out.push(`basicConstraints pathLen is ${bc.pathLen ?? 'absent'}, want ${pathLen}`);
  return out;
}

const some = (p: string[]): string[] | undefined => (p.length ? p : undefined);

function perKind(
  kind: 'dac' | 'pai' | 'paa',
  id: string,
  section: string,
  description: string,
  check: (cert: Certificate) => string[],
): Lint {
  const profile: LintProfile = `matter-${kind}`;
  return defineLint(
    {
      id: `kw.matter.${kind}.${id}`,
      profiles: [profile],
      source: { document: doc, section },
      severity: 'error',
      description,
    },
    (c) => some(check(c.cert)),
  );
}

export const MATTER_LINTS: readonly Lint[] = [
  defineLint(
    {
      id: 'kw.matter.signature-algorithm',
      profiles: MATTER,
      source: { document: doc, section: '6.2.2' },
      severity: 'error',
      description: 'signed with ecdsa-with-SHA256',
    },
    (c) =>
      c.cert.signatureAlgorithm.oid === '1.2.840.10045.4.3.2'
        ? undefined
        : `signature algorithm is ${c.cert.signatureAlgorithm.name}`,
  ),
  defineLint(
    {
      id: 'kw.matter.public-key',
      profiles: MATTER,
      source: { document: doc, section: '6.2.2' },
      severity: 'error',
      description: 'the subject key is EC on P-256',
    },
    (c) =>
      c.cert.publicKey.algorithm === 'EC' && c.cert.publicKey.curve === 'P-256'
        ? undefined
        : `public key is ${c.cert.publicKey.algorithm} ${c.cert.publicKey.curve ?? c.cert.publicKey.size ?? ''}`.trim(),
  ),
  defineLint(
    {
      id: 'kw.matter.version-3',
      profiles: MATTER,
      source: { document: doc, section: '6.2.2' },
      severity: 'error',
      description: 'an X.509 version 3 certificate',
    },
    (c) => (c.cert.version === 3 ? undefined : `version ${c.cert.version}`),
  ),
  defineLint(
    {
      id: 'kw.matter.key-identifiers',
      profiles: MATTER,
      source: { document: doc, section: '6.2.2' },
      severity: 'error',
      description: 'subjectKeyIdentifier is present, and authorityKeyIdentifier below the PAA',
    },
    // A self-signed PAA's AKI would only repeat its SKI, and tools (OpenSSL 3) leave it out.
    (c) =>
      some([
        ...(c.cert.ski === undefined ? ['no subjectKeyIdentifier'] : []),
        ...(c.cert.aki === undefined && !c.cert.selfSigned
          ? ['no authorityKeyIdentifier keyIdentifier']
          : []),
      ]),
  ),
  perKind(
    'dac',
    'vid-pid-format',
    '6.2.2',
    'subject carries Matter VID and PID as 4 hex digit UTF8String',
    (c) => [
      ...attrProblem(c, MATTER_VID_OID, 'VID', 'required'),
      ...attrProblem(c, MATTER_PID_OID, 'PID', 'required'),
    ],
  ),
  perKind(
    'pai',
    'vid-pid-format',
    '6.2.2',
    'subject carries Matter VID (PID optional) as 4 hex digit UTF8String',
    (c) => [
      ...attrProblem(c, MATTER_VID_OID, 'VID', 'required'),
      ...attrProblem(c, MATTER_PID_OID, 'PID', 'optional'),
    ],
  ),
  perKind('paa', 'vid-pid-format', '6.2.2', 'subject may carry a Matter VID and carries no PID', (c) => [
    ...attrProblem(c, MATTER_VID_OID, 'VID', 'optional'),
    ...attrProblem(c, MATTER_PID_OID, 'PID', 'absent'),
  ]),
  perKind('dac', 'basic-constraints', '6.2.2', 'basicConstraints critical with cA FALSE', (c) =>
    bcProblems(c, false),
  ),
  perKind('pai', 'basic-constraints', '6.2.2', 'basicConstraints critical with cA TRUE and pathLen 0', (c) =>
    bcProblems(c, true, 0),
  ),
  perKind('paa', 'basic-constraints', '6.2.2', 'basicConstraints critical with cA TRUE', (c) =>
    bcProblems(c, true),
  ),
  perKind('dac', 'key-usage', '6.2.2', 'keyUsage critical with digitalSignature only', (c) =>
    keyUsageProblems(c, ['digitalSignature'], []),
  ),
  perKind(
    'pai',
    'key-usage',
    '6.2.2',
    'keyUsage critical with keyCertSign and cRLSign (digitalSignature allowed)',
    (c) => keyUsageProblems(c, ['keyCertSign', 'cRLSign'], ['digitalSignature']),
  ),
  perKind(
    'paa',
    'key-usage',
    '6.2.2',
    'keyUsage critical with keyCertSign and cRLSign (digitalSignature allowed)',
    (c) => keyUsageProblems(c, ['keyCertSign', 'cRLSign'], ['digitalSignature']),
  ),
  perKind('paa', 'self-signed', '6.2.2', 'a PAA is self-signed', (c) =>
    c.selfSigned ? [] : ['PAA is not self-signed'],
  ),
  defineLint(
    {
      id: 'kw.matter.dac.vid-matches-pai',
      profiles: ['matter-dac'],
      source: { document: doc, section: '6.2.3' },
      severity: 'error',
      description: "the DAC's VID equals its PAI's VID",
    },
    (c) => {
      // Case is the format lint's concern; here only the number matters.
      const own = matterAttr(c.cert, MATTER_VID_OID)?.value.toUpperCase();
      const up = c.issuer && matterAttr(c.issuer, MATTER_VID_OID)?.value.toUpperCase();
      return own && up && own !== up ? `DAC VID ${own} differs from PAI VID ${up}` : undefined;
    },
  ),
];
