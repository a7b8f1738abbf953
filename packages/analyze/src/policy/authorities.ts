// Dated crypto-policy rules as data. Dates are the first instant the status applies
// ("disallowed after 2035" => from 2036-01-01). Every entry carries its source and a
// confidence: 'verified' only where the date was checked against the cited table (then
// `verifiedBy` says against what); everything else stays 'unverified' and is reported so.
export type Status = 'acceptable' | 'legacy' | 'deprecated' | 'disallowed';
export type Use = 'signature' | 'key-establishment' | 'hash' | 'any';

export interface Source {
  document: string;
  section: string;
  url: string;
}

export interface Rule {
  id: string;
  family: string; // 'RSA' | 'EC' | 'EdDSA' | 'ML-DSA' | 'ML-KEM' | 'SLH-DSA' | 'SHA-1' | ...
  minSize?: number;
  maxSize?: number;
  curves?: string[];
  use: Use;
  steps: { status: Status; from: string }[];
  source: Source;
  confidence: 'verified' | 'unverified';
  /** What the dates were checked against, when confidence is 'verified'. */
  verifiedBy?: string;
  /** Why an organisation chose this rule; only organisation overrides carry one. */
  reason?: string;
}

const IR8547: Source = {
  document: 'NIST IR 8547 ipd',
  section: 'Tables 2-4',
  url: 'https://csrc.nist.gov/pubs/ir/8547/ipd',
};
const R3: Source = {
  document: 'NIST SP 800-131A Rev.3 ipd',
  section: 'Hash functions',
  url: 'https://csrc.nist.gov/pubs/sp/800/131/a/r3/ipd',
};
const FIPS: Source = {
  document: 'FIPS 203/204/205',
  section: 'Approval',
  url: 'https://csrc.nist.gov/projects/post-quantum-cryptography',
};
const BSI: Source = {
  document: 'BSI TR-02102-1',
  section: 'Asymmetric schemes, key lengths',
  url: 'https://www.bsi.bund.de/dok/TR-02102-1',
};
const CNSA: Source = {
  document: 'NSA CNSA 2.0 (CSA, Sep 2022; FAQ Dec 2024)',
  section: 'Timeline',
  url: 'https://media.defense.gov/2022/Sep/07/2003071834/-1/-1/0/CSA_CNSA_2.0_ALGORITHMS_.PDF',
};
const T0 = '1970-01-01';
const u = 'unverified' as const;
// IR 8547 ipd Tables 2 and 3 (signature and key-establishment transitions) as reproduced by
// two independent secondary pages; the primary PDF was not reachable from the search corpus.
// Whether a final IR 8547 changed the dates is not confirmed.
const IR8547_CHECK = {
  confidence: 'verified' as const,
  verifiedBy: 'IR 8547 ipd transition tables as reproduced at appviewx.com (Nov 2024) and postquantum.com',
};

/** The authorities a policy check can be run against. */
// TR-02102-1 (2023-01) p. 19, "from 2024 an RSA key length of >= 3000 bits becomes binding", with
// 2000-bit keys conformant until end-2023 (TR-02102-2), as quoted by c't 4/2024 p. 36. BSI itself
// called these recommendations; later editions were not checked.
const BSI_RSA_CHECK = {
  confidence: 'verified' as const,
  verifiedBy: "TR-02102-1 (2023-01) p. 19 as quoted in c't 4/2024 p. 36",
};

export const AUTHORITY_NAMES = ['nist', 'bsi', 'cnsa2'] as const;

export const AUTHORITIES: Record<string, Rule[]> = {
  nist: [
    {
      id: 'nist-rsa-112',
      family: 'RSA',
      minSize: 2048,
      maxSize: 3071,
      use: 'any',
      steps: [
        { status: 'acceptable', from: T0 },
        { status: 'deprecated', from: '2031-01-01' },
        { status: 'disallowed', from: '2036-01-01' },
      ],
      source: IR8547,
      ...IR8547_CHECK,
    },
    {
      id: 'nist-rsa-128',
      family: 'RSA',
      minSize: 3072,
      use: 'any',
      steps: [
        { status: 'acceptable', from: T0 },
        { status: 'disallowed', from: '2036-01-01' },
      ],
      source: IR8547,
      ...IR8547_CHECK,
    },
    {
      id: 'nist-rsa-small',
      family: 'RSA',
      maxSize: 2047,
      use: 'any',
      steps: [{ status: 'disallowed', from: T0 }],
      source: IR8547,
      confidence: u,
    },
    {
      id: 'nist-ec-224',
      family: 'EC',
      curves: ['P-224'],
      use: 'any',
      steps: [
        { status: 'acceptable', from: T0 },
        { status: 'deprecated', from: '2031-01-01' },
        { status: 'disallowed', from: '2036-01-01' },
      ],
      source: IR8547,
      ...IR8547_CHECK,
    },
    {
      id: 'nist-ec',
      family: 'EC',
      curves: ['P-256', 'P-384', 'P-521'],
      use: 'any',
      steps: [
        { status: 'acceptable', from: T0 },
        { status: 'disallowed', from: '2036-01-01' },
      ],
      source: IR8547,
      ...IR8547_CHECK,
    },
    {
      id: 'nist-eddsa',
      family: 'EdDSA',
      use: 'signature',
      steps: [
        { status: 'acceptable', from: T0 },
        { status: 'disallowed', from: '2036-01-01' },
      ],
      source: IR8547,
      ...IR8547_CHECK,
    },
    {
      id: 'nist-sha1',
      family: 'SHA-1',
      use: 'hash',
      steps: [{ status: 'disallowed', from: T0 }],
      source: R3,
      confidence: u,
    },
    {
      id: 'nist-sha224',
      family: 'SHA-224',
      use: 'hash',
      steps: [
        { status: 'acceptable', from: T0 },
        { status: 'disallowed', from: '2031-01-01' },
      ],
      source: R3,
      confidence: u,
    },
    {
      id: 'nist-sha2',
      family: 'SHA-2',
      use: 'hash',
      steps: [{ status: 'acceptable', from: T0 }],
      source: R3,
      confidence: u,
    },
    {
      id: 'nist-pqc',
      family: 'PQC',
      use: 'any',
      steps: [{ status: 'acceptable', from: '2024-08-13' }],
      source: FIPS,
      confidence: u,
    },
  ],
  bsi: [
    {
      id: 'bsi-rsa-tiny',
      family: 'RSA',
      maxSize: 1999,
      use: 'any',
      steps: [{ status: 'disallowed', from: T0 }],
      source: BSI,
      confidence: u,
    },
    {
      id: 'bsi-rsa-small',
      family: 'RSA',
      minSize: 2000,
      maxSize: 2999,
      use: 'any',
      steps: [
        { status: 'legacy', from: T0 },
        { status: 'disallowed', from: '2024-01-01' },
      ],
      source: BSI,
      ...BSI_RSA_CHECK,
    },
    {
      id: 'bsi-rsa',
      family: 'RSA',
      minSize: 3000,
      use: 'any',
      steps: [{ status: 'acceptable', from: T0 }],
      source: BSI,
      ...BSI_RSA_CHECK,
    },
    {
      id: 'bsi-ec',
      family: 'EC',
      curves: ['P-256', 'P-384', 'P-521', 'brainpoolP256r1', 'brainpoolP384r1', 'brainpoolP512r1'],
      use: 'any',
      steps: [{ status: 'acceptable', from: T0 }],
      source: BSI,
      confidence: u,
    },
    {
      id: 'bsi-ec-small',
      family: 'EC',
      curves: ['P-224'],
      use: 'any',
      steps: [{ status: 'disallowed', from: T0 }],
      source: BSI,
      confidence: u,
    },
    {
      id: 'bsi-sha1',
      family: 'SHA-1',
      use: 'hash',
      steps: [{ status: 'disallowed', from: T0 }],
      source: BSI,
      confidence: u,
    },
    {
      id: 'bsi-sha2',
      family: 'SHA-2',
      use: 'hash',
      steps: [{ status: 'acceptable', from: T0 }],
      source: BSI,
      confidence: u,
    },
    {
      id: 'bsi-pqc',
      family: 'PQC',
      use: 'any',
      steps: [{ status: 'acceptable', from: T0 }],
      source: BSI,
      confidence: u,
    },
  ],
  cnsa2: [
    {
      id: 'cnsa-classical-sig',
      family: 'CLASSICAL',
      use: 'any',
      steps: [
        { status: 'legacy', from: '2025-01-01' },
        { status: 'disallowed', from: '2031-01-01' },
      ],
      source: CNSA,
      confidence: u,
    },
    {
      id: 'cnsa-pqc',
      family: 'PQC',
      use: 'any',
      steps: [{ status: 'acceptable', from: T0 }],
      source: CNSA,
      confidence: u,
    },
    {
      id: 'cnsa-sha1',
      family: 'SHA-1',
      use: 'hash',
      steps: [{ status: 'disallowed', from: T0 }],
      source: CNSA,
      confidence: u,
    },
    {
      id: 'cnsa-sha2',
      family: 'SHA-2',
      use: 'hash',
      steps: [{ status: 'acceptable', from: T0 }],
      source: CNSA,
      confidence: u,
    },
  ],
};
